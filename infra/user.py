"""`make user ROLE=client|provider|ops EMAIL=... [PASSWORD=...] [NAME=...]`: a signed-in user of
the running local stack in one step, for every role (SPEC §5 "Signing in locally").

    python -m infra.user provider dr.sam@example.com --name "Dr. Sam Rivera"
    python -m infra.user client alex@example.com --json

- client: signs up with the app client (`SignUp`, as the client app does), confirms it
  (`AdminConfirmSignUp`: the emailed code), and registers the profile through the API
  (`POST /clients/me`).
- provider: created through the API (`POST /ops/providers`) as ops do, with the token of a local
  ops account this tool keeps for itself (`local-admin@haven.example`); the service makes the
  Cognito user in group `providers` and the profile. Cognito would mail a temporary password: the
  tool sets the password instead.
- ops: `AdminCreateUser` (no mail) in group `ops`.

Then, for each: `email_verified` set, the password set permanent (`AdminSetUserPassword
Permanent=True`, so no `FORCE_CHANGE_PASSWORD`), and a sign-in with `USER_PASSWORD_AUTH`. Prints
the user's id, password and ID token (the last line alone, for `$(...)`). Running it again for
the same email creates nothing: it sets the password again and prints a fresh token.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import urllib.error
import urllib.request

ROLES = ("client", "provider", "ops")
DEFAULT_PASSWORD = "Correct-Horse-9-battery"  # meets the pool's policy: 12+, upper, lower, digit
TOOL_OPS_EMAIL = "local-admin@haven.example"
GROUPS = {"provider": "providers", "ops": "ops"}


class Failed(Exception):
    """A step failed; the message says which and why."""


def _default_name(email: str, role: str) -> str:
    local = email.split("@", 1)[0].replace(".", " ").replace("_", " ").replace("-", " ").replace("+", " ")
    name = " ".join(part.capitalize() for part in local.split()) or "Haven User"
    return f"Dr. {name}" if role == "provider" else name


def api(stack: dict, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(stack["api_url"].rstrip("/") + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise Failed(f"the API at {stack['api_url']} does not answer ({error}): is `make run` up?") from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class Users:
    """The emulator's Cognito pool of the running stack."""

    def __init__(self, stack: dict):
        import boto3

        self.stack = stack
        self.pool = stack["user_pool_id"]
        self.app_client = stack["user_pool_client_id"]
        self.idp = boto3.client("cognito-idp", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"],
                                aws_access_key_id="testing", aws_secret_access_key="testing",
                                aws_session_token="testing")

    def get(self, email: str) -> dict | None:
        try:
            return self.idp.admin_get_user(UserPoolId=self.pool, Username=email)
        except self.idp.exceptions.UserNotFoundException:
            return None

    def role_of(self, email: str) -> str:
        groups = {g["GroupName"] for g in self.idp.admin_list_groups_for_user(
            UserPoolId=self.pool, Username=email)["Groups"]}
        return "ops" if "ops" in groups else "provider" if "providers" in groups else "client"

    @staticmethod
    def sub(user: dict) -> str:
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"]

    def sign_up(self, email: str, password: str) -> None:
        """As the client app does; locally the emailed code is replaced by AdminConfirmSignUp."""
        self.idp.sign_up(ClientId=self.app_client, Username=email, Password=password,
                         UserAttributes=[{"Name": "email", "Value": email}])
        self.idp.admin_confirm_sign_up(UserPoolId=self.pool, Username=email)

    def create(self, email: str) -> None:
        """As ops do in the console, without the invitation mail."""
        self.idp.admin_create_user(UserPoolId=self.pool, Username=email, MessageAction="SUPPRESS",
                                   UserAttributes=[{"Name": "email", "Value": email},
                                                   {"Name": "email_verified", "Value": "true"}])

    def activate(self, email: str, password: str, group: str | None) -> str:
        """Verified email, the group, a permanent password; returns a fresh ID token."""
        self.idp.admin_update_user_attributes(UserPoolId=self.pool, Username=email,
                                              UserAttributes=[{"Name": "email_verified", "Value": "true"}])
        if group:
            self.idp.admin_add_user_to_group(UserPoolId=self.pool, Username=email, GroupName=group)
        self.idp.admin_set_user_password(UserPoolId=self.pool, Username=email, Password=password, Permanent=True)
        return self.sign_in(email, password)

    def sign_in(self, email: str, password: str) -> str:
        auth = self.idp.initiate_auth(ClientId=self.app_client, AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": email, "PASSWORD": password})
        return auth["AuthenticationResult"]["IdToken"]


def tool_ops_token(users: Users) -> str:
    """The ID token of the ops account this tool uses to create providers through the API."""
    if users.get(TOOL_OPS_EMAIL) is None:
        users.create(TOOL_OPS_EMAIL)
    return users.activate(TOOL_OPS_EMAIL, "Local-" + secrets.token_urlsafe(18) + "-9a", "ops")


def ensure_user(stack: dict, role: str, email: str, password: str = DEFAULT_PASSWORD, name: str | None = None,
                region: str = "US-NY", timezone: str = "America/New_York", kind: str = "therapist") -> dict:
    """The user of `role` with `email`, made if missing (profile included); a fresh ID token."""
    if role not in ROLES:
        raise Failed(f"ROLE must be one of {', '.join(ROLES)}")
    users = Users(stack)
    existing = users.get(email)
    if existing is not None and users.role_of(email) != role:
        raise Failed(f"{email} already exists with role {users.role_of(email)}, not {role}")
    name = name or _default_name(email, role)
    created = existing is None
    ops_token = None

    def create_provider() -> None:
        nonlocal ops_token
        ops_token = ops_token or tool_ops_token(users)
        status, reply = api(stack, "POST", "/ops/providers", ops_token, {
            "email": email, "name": name, "kind": kind, "licensed_regions": [region], "languages": ["en"],
            "timezone": timezone})
        if status != 201:
            raise Failed(f"POST /ops/providers answered {status}: {reply}")

    if created:
        if role == "client":
            users.sign_up(email, password)
        elif role == "provider":
            create_provider()  # the service makes the Cognito user, its group and the profile
        else:
            users.create(email)
    token = users.activate(email, password, GROUPS.get(role))

    profile = None
    if role == "client":
        status, profile = api(stack, "GET", "/clients/me", token)
        if status == 404:
            status, profile = api(stack, "POST", "/clients/me", token, {
                "name": name, "date_of_birth": "1990-01-01", "timezone": timezone, "region": region,
                "languages": ["en"]})
        if status != 200:
            raise Failed(f"the client profile: /clients/me answered {status}: {profile}")
    elif role == "provider":
        status, profile = api(stack, "GET", "/providers/me", token)
        if status == 404:  # a Cognito user without a profile (a half-finished create): complete it
            create_provider()
            status, profile = api(stack, "GET", "/providers/me", token)
        if status != 200:
            raise Failed(f"the provider profile: GET /providers/me answered {status}: {profile}")
    user = users.get(email)
    return {"role": role, "email": email, "id": users.sub(user), "created": created, "password": password,
            "status": user.get("UserStatus"), "groups": [GROUPS[role]] if role in GROUPS else [],
            "profile": profile, "id_token": token}


def main(argv: list[str] | None = None) -> int:
    from infra import local

    parser = argparse.ArgumentParser(description="Create (or sign in) a user of the running local stack.")
    parser.add_argument("role", help="client, provider or ops")
    parser.add_argument("email")
    parser.add_argument("--password", default="", help=f"default {DEFAULT_PASSWORD}")
    parser.add_argument("--name", default="", help="profile name (client, provider)")
    parser.add_argument("--region", default="", help="client region / provider licence region (default US-NY)")
    parser.add_argument("--timezone", default="", help="IANA zone of the profile (default America/New_York)")
    parser.add_argument("--kind", default="", help="provider kind: therapist (default) or psychiatrist")
    parser.add_argument("--json", action="store_true", help="print JSON (with the profile) instead of text")
    args = parser.parse_args(argv)
    if not args.role or not args.email:
        parser.error("usage: make user ROLE=client|provider|ops EMAIL=... [PASSWORD=...] [NAME=...]")

    stack = local.read_stack_file()
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        user = ensure_user(stack, args.role.strip().lower(), args.email.strip(),
                           password=args.password or DEFAULT_PASSWORD, name=args.name or None,
                           region=args.region or "US-NY", timezone=args.timezone or "America/New_York",
                           kind=args.kind or "therapist")
    except Failed as error:
        print(f"make user: {error}", file=sys.stderr)
        return 1
    except ClientError as error:
        print(f"make user: Cognito refused: {error}", file=sys.stderr)
        return 1
    except BotoCoreError as error:
        print(f"make user: the emulator at {stack['aws_endpoint_url']} does not answer ({error}): "
              "is `make run` up?", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(user, indent=2))
        return 0
    print(f"{user['role']} {user['email']} ({'created' if user['created'] else 'already there'}; "
          f"Cognito {user['status']}{', group ' + user['groups'][0] if user['groups'] else ''})")
    print(f"  id        {user['id']}")
    print(f"  password  {user['password']}")
    print(f"  API       {stack['api_url']}  (send the ID token as `Authorization: Bearer <token>`; valid 1 hour)")
    print("  ID token:")
    print(user["id_token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
