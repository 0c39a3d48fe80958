"""Real users in the emulator's Cognito pool, signed in the way the apps sign in
(USER_PASSWORD_AUTH), shared by the functional, local-stack and bench tiers."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

PASSWORD = "Correct-Horse-9-battery"  # meets the pool's policy: 12+, upper, lower, digit


@dataclass
class User:
    id: str
    email: str
    token: str
    role: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


class Cognito:
    def __init__(self, stack: dict):
        import boto3

        self.stack = stack
        self.idp = boto3.client("cognito-idp", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])

    def sign_in(self, email: str) -> str:
        """The user's ID token."""
        auth = self.idp.initiate_auth(ClientId=self.stack["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})
        return auth["AuthenticationResult"]["IdToken"]

    token = sign_in

    def sub(self, email: str) -> str:
        user = self.idp.admin_get_user(UserPoolId=self.stack["user_pool_id"], Username=email)
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"]

    def sign_up(self, email: str | None = None) -> User:
        """SignUp from the client app, then the emailed code (locally: admin_confirm_sign_up)."""
        email = email or unique_email("client")
        self.idp.sign_up(ClientId=self.stack["user_pool_client_id"], Username=email, Password=PASSWORD,
                         UserAttributes=[{"Name": "email", "Value": email}])
        self.idp.admin_confirm_sign_up(UserPoolId=self.stack["user_pool_id"], Username=email)
        return User(self.sub(email), email, self.sign_in(email), "client")

    sign_up_client = client = sign_up

    def staff(self, group: str, email: str | None = None) -> User:
        """A user made in the console (admin_create_user) in `group`, with a password."""
        email = email or unique_email(group)
        self.idp.admin_create_user(UserPoolId=self.stack["user_pool_id"], Username=email,
                                   UserAttributes=[{"Name": "email", "Value": email}], MessageAction="SUPPRESS")
        self.idp.admin_add_user_to_group(UserPoolId=self.stack["user_pool_id"], Username=email, GroupName=group)
        return self.activate(email, "ops" if group == "ops" else "provider")

    def ops(self) -> User:
        return self.staff("ops")

    def activate(self, email: str, role: str) -> User:
        """The user sets their password (locally: admin_set_user_password) and signs in."""
        self.idp.admin_set_user_password(UserPoolId=self.stack["user_pool_id"], Username=email,
                                         Password=PASSWORD, Permanent=True)
        return User(self.sub(email), email, self.sign_in(email), role)
