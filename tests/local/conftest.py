"""Local-stack tests: the real stack over HTTP. `chalice local` serves the app against this
process's emulator; users sign up and sign in through the emulator's Cognito and send real ID
tokens. Nothing here reaches into the app: only HTTP, Cognito and (for media) S3 URLs it hands out.

Data is not reset between tests: each test makes its own users, so tests never see each other's.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest

from tests.support.aws import ensure_api, ensure_stack

STACK = ensure_stack()  # before anything imports the app: settings are read at import

import boto3  # noqa: E402
import requests  # noqa: E402

PASSWORD = "Correct-Horse-9-battery"
TIMEOUT = 15  # seconds per HTTP call; a hung server fails the test instead of hanging the run


@dataclass
class User:
    id: str
    email: str
    token: str
    role: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Reply:
    status: int
    json: object
    headers: dict
    text: str

    @property
    def code(self):
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), dict):
            return self.json["error"].get("code")
        return None


class Http:
    """A client app's view of the API: JSON over HTTP with a bearer token."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(self, method: str, path: str, user: User | None = None, body=None, headers=None,
             params=None) -> Reply:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.update(user.headers)
        kwargs = {"json": body} if body is not None else {}
        response = self.session.request(method, self.base_url + path, headers=all_headers, params=params,
                                        timeout=TIMEOUT, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = None
        return Reply(response.status_code, data, dict(response.headers), response.text)

    def get(self, path, user=None, **kw):
        return self.call("GET", path, user, **kw)

    def post(self, path, user=None, body=None, **kw):
        return self.call("POST", path, user, body, **kw)

    def put(self, path, user=None, body=None, **kw):
        return self.call("PUT", path, user, body, **kw)

    def delete(self, path, user=None, **kw):
        return self.call("DELETE", path, user, **kw)


class Cognito:
    """The emulator's user pool, used the way the client apps and the console use Cognito."""

    def __init__(self, stack: dict):
        self.stack = stack
        self.idp = boto3.client("cognito-idp", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])

    def sign_in(self, email: str) -> str:
        auth = self.idp.initiate_auth(ClientId=self.stack["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})
        return auth["AuthenticationResult"]["IdToken"]

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

    def ops(self) -> User:
        """An ops user as made in the console: admin_create_user, group `ops`, a password."""
        email = unique_email("ops")
        self.idp.admin_create_user(UserPoolId=self.stack["user_pool_id"], Username=email,
                                   UserAttributes=[{"Name": "email", "Value": email}], MessageAction="SUPPRESS")
        self.idp.admin_add_user_to_group(UserPoolId=self.stack["user_pool_id"], Username=email, GroupName="ops")
        return self.activate(email, "ops")

    def activate(self, email: str, role: str) -> User:
        """The user sets their password (locally: admin_set_user_password) and signs in."""
        self.idp.admin_set_user_password(UserPoolId=self.stack["user_pool_id"], Username=email,
                                         Password=PASSWORD, Permanent=True)
        return User(self.sub(email), email, self.sign_in(email), role)


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def years_ago(years: int, today: date | None = None) -> date:
    today = today or datetime.now(timezone.utc).date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


class World:
    """Scenario builder through the HTTP API only."""

    def __init__(self, http: Http, cognito: Cognito, ops: User):
        self.http, self.cognito, self.ops = http, cognito, ops

    def client(self, **profile) -> User:
        user = self.cognito.sign_up()
        body = {"name": "Alex Client", "date_of_birth": "1990-04-21", "timezone": "America/New_York",
                "region": "US-NY", "languages": ["en"], **profile}
        reply = self.http.post("/clients/me", user, body)
        assert reply.status == 200, reply.text
        return user

    def provider(self, **fields) -> User:
        email = unique_email("provider")
        body = {"email": email, "name": "Dr. Sam Provider", "kind": "therapist", "licensed_regions": ["US-NY"],
                "languages": ["en"], "timezone": "America/New_York", **fields}
        reply = self.http.post("/ops/providers", self.ops, body)
        assert reply.status == 201, reply.text
        return self.cognito.activate(email, "provider")

    def plan(self, client: User, **plan) -> dict:
        body = {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01", **plan}
        reply = self.http.put(f"/ops/clients/{client.id}/plan", self.ops, body)
        assert reply.status == 200, reply.text
        return reply.json

    def room(self, client: User, provider: User) -> str:
        reply = self.http.put("/ops/assignments", self.ops, {"client_id": client.id, "provider_id": provider.id})
        assert reply.status == 200, reply.text
        return reply.json["room_id"]

    def pair(self, **provider_fields):
        client, provider = self.client(), self.provider(**provider_fields)
        return client, provider, self.room(client, provider)


@pytest.fixture(scope="session")
def stack():
    return STACK


@pytest.fixture(scope="session")
def base_url(stack):
    return ensure_api()


@pytest.fixture(scope="session")
def http(base_url):
    return Http(base_url)


@pytest.fixture(scope="session")
def cognito(stack):
    return Cognito(stack)


@pytest.fixture(scope="session")
def ops(cognito):
    return cognito.ops()


@pytest.fixture
def world(http, cognito, ops):
    return World(http, cognito, ops)
