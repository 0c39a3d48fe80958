"""Cognito administration: creating provider accounts (SPEC §1: ops create providers)."""
from __future__ import annotations

import threading
import time

from chalicelib.errors import HavenError, ValidationError
from chalicelib.identity import PROVIDERS_GROUP


class CognitoAdmin:
    def __init__(self, client, user_pool_id: str, mfa_cache_seconds: float = 300, clock=time.monotonic):
        self.client = client
        self.user_pool_id = user_pool_id
        self.mfa_cache_seconds = mfa_cache_seconds
        self._clock = clock
        self._mfa: dict[str, float] = {}  # user sub -> until when their enrolment is trusted
        self._lock = threading.Lock()

    def has_totp(self, sub: str, username: str) -> bool:
        """Whether the user has TOTP MFA enabled (cached briefly per user; only a yes is cached, so
        a user who just enrolled is let in at once)."""
        with self._lock:
            if self._mfa.get(sub, 0) > self._clock():
                return True
        user = self._user(username)
        # a disabled or unconfirmed staff account is refused whatever its token says
        usable = user is not None and user.get("Enabled", True) and user.get("UserStatus") == "CONFIRMED"
        enrolled = usable and "SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])
        if enrolled:
            with self._lock:
                self._mfa[sub] = self._clock() + self.mfa_cache_seconds
        return enrolled

    def create_provider(self, email: str) -> str:
        """Create the user (Cognito emails the temporary password) in group `providers`; return its `sub`."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.admin_create_user(
                UserPoolId=self.user_pool_id, Username=email,
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
                DesiredDeliveryMediums=["EMAIL"],
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "UsernameExistsException":
                raise HavenError("An account with this email already exists.", "already_exists")
            if error.response["Error"]["Code"] == "InvalidParameterException":  # an address Cognito refuses
                raise ValidationError("`email` is not an address Cognito accepts.", details={"field": "email"})
            raise
        self.add_to_providers(email)
        attributes = {a["Name"]: a["Value"] for a in response["User"].get("Attributes", [])}
        sub = attributes.get("sub")
        return sub or self.find_sub(email)  # some Cognito versions omit it from the create answer

    def add_to_providers(self, email: str) -> None:
        """Put the user in group `providers` (idempotent: a retry of a create that stopped after
        the user was made completes it)."""
        self.client.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=email,
                                            GroupName=PROVIDERS_GROUP)

    def sign_out_everywhere(self, username: str) -> None:
        """Revoke the user's refresh tokens (Cognito's global sign-out for that user)."""
        self.client.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)

    def find_sub(self, email: str) -> str | None:
        user = self._user(email)
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}.get("sub") if user else None

    def _user(self, username: str) -> dict | None:
        """AdminGetUser, or None when there is no such user."""
        from botocore.exceptions import ClientError

        try:
            return self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        except ClientError as error:
            if error.response["Error"]["Code"] == "UserNotFoundException":
                return None
            raise
