"""Functional tests: the Chalice app in-process (chalice.test.Client) against a real moto server,
with real Cognito users and tokens. Each test starts from empty tables and a fixed clock."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from tests.support.aws import ensure_stack, reset_data

STACK = ensure_stack()  # sets the environment before the app (and its settings) are imported

from chalice.test import Client  # noqa: E402

from app import app  # noqa: E402
from chalicelib import wiring  # noqa: E402
from chalicelib.clock import FixedClock  # noqa: E402

PASSWORD = "Correct-Horse-9-battery"
START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday


@dataclass
class User:
    id: str
    email: str
    token: str
    role: str


class Api:
    """Calls the app like a client app would: JSON in and out, a bearer token per call."""

    def __init__(self, client: Client):
        self.client = client

    def call(self, method: str, path: str, user: User | None = None, body=None, headers=None, raw: bytes | None = None):
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if user is not None:
            all_headers["Authorization"] = f"Bearer {user.token}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=all_headers, body=payload) \
            if payload is not None else getattr(self.client.http, method.lower())(path, headers=all_headers)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return Reply(response.status_code, data, response.headers)

    def get(self, path, user=None, **kw):
        return self.call("GET", path, user, **kw)

    def post(self, path, user=None, body=None, **kw):
        return self.call("POST", path, user, body, **kw)

    def put(self, path, user=None, body=None, **kw):
        return self.call("PUT", path, user, body, **kw)

    def delete(self, path, user=None, **kw):
        return self.call("DELETE", path, user, **kw)


@dataclass
class Reply:
    status: int
    json: object
    headers: dict

    @property
    def code(self):
        return (self.json or {}).get("error", {}).get("code") if isinstance(self.json, dict) else None


class Cognito:
    """Real users in the emulator's pool, signed in with USER_PASSWORD_AUTH."""

    def __init__(self, stack: dict):
        import boto3

        self.stack = stack
        self.idp = boto3.client("cognito-idp", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])

    def token(self, email: str) -> str:
        auth = self.idp.initiate_auth(ClientId=self.stack["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})
        return auth["AuthenticationResult"]["IdToken"]

    def sub(self, email: str) -> str:
        user = self.idp.admin_get_user(UserPoolId=self.stack["user_pool_id"], Username=email)
        return {a["Name"]: a["Value"] for a in user["UserAttributes"]}["sub"]

    def sign_up_client(self, email: str | None = None) -> User:
        email = email or f"client-{uuid.uuid4().hex[:10]}@example.com"
        self.idp.sign_up(ClientId=self.stack["user_pool_client_id"], Username=email, Password=PASSWORD,
                         UserAttributes=[{"Name": "email", "Value": email}])
        self.idp.admin_confirm_sign_up(UserPoolId=self.stack["user_pool_id"], Username=email)
        return User(self.sub(email), email, self.token(email), "client")

    def staff(self, group: str, email: str | None = None) -> User:
        email = email or f"{group}-{uuid.uuid4().hex[:10]}@example.com"
        self.idp.admin_create_user(UserPoolId=self.stack["user_pool_id"], Username=email,
                                   UserAttributes=[{"Name": "email", "Value": email}], MessageAction="SUPPRESS")
        self.idp.admin_add_user_to_group(UserPoolId=self.stack["user_pool_id"], Username=email, GroupName=group)
        return self.activate(email, "ops" if group == "ops" else "provider")

    def activate(self, email: str, role: str) -> User:
        self.idp.admin_set_user_password(UserPoolId=self.stack["user_pool_id"], Username=email,
                                         Password=PASSWORD, Permanent=True)
        return User(self.sub(email), email, self.token(email), role)


@pytest.fixture(scope="session")
def stack():
    return STACK


@pytest.fixture(scope="session")
def cognito(stack):
    return Cognito(stack)


@pytest.fixture(autouse=True)
def clean(stack):
    reset_data()
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture
def clock():
    fixed = FixedClock(START)
    wiring.override("clock", fixed)
    return fixed


@pytest.fixture(scope="session")
def chalice_client():
    with Client(app) as client:
        yield client


@pytest.fixture
def api(chalice_client, clock):
    return Api(chalice_client)


@pytest.fixture(scope="session")
def ops_user(cognito):
    return cognito.staff("ops")


class World:
    """Builds scenarios through the API itself: registered clients, providers, plans, rooms."""

    def __init__(self, api: Api, cognito: Cognito, ops: User):
        self.api, self.cognito, self.ops = api, cognito, ops

    def client(self, **profile) -> User:
        user = self.cognito.sign_up_client()
        body = {"name": "Alex Client", "date_of_birth": "1990-04-21", "timezone": "America/New_York",
                "region": "US-NY", "languages": ["en"], **profile}
        reply = self.api.post("/clients/me", user, body)
        assert reply.status == 200, reply.json
        return user

    def provider(self, **fields) -> User:
        email = f"provider-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "name": "Dr. Sam Provider", "kind": "therapist", "licensed_regions": ["US-NY"],
                "languages": ["en"], "timezone": "America/New_York", **fields}
        reply = self.api.post("/ops/providers", self.ops, body)
        assert reply.status == 201, reply.json
        return self.cognito.activate(email, "provider")

    def plan(self, client: User, **plan):
        body = {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01", **plan}
        reply = self.api.put(f"/ops/clients/{client.id}/plan", self.ops, body)
        assert reply.status == 200, reply.json
        return reply.json

    def room(self, client: User, provider: User) -> str:
        reply = self.api.put("/ops/assignments", self.ops, {"client_id": client.id, "provider_id": provider.id})
        assert reply.status == 200, reply.json
        return reply.json["room_id"]

    def pair(self, **provider_fields):
        client, provider = self.client(), self.provider(**provider_fields)
        return client, provider, self.room(client, provider)


@pytest.fixture
def world(api, cognito, ops_user):
    return World(api, cognito, ops_user)


def sweep(chalice_client, name: str, at: datetime) -> dict:
    """Run a scheduled function as of `at`, the way EventBridge would call it."""
    event = chalice_client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                    detail={}, resources=[f"arn:aws:events:::rule/{name}"])
    event["time"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return chalice_client.lambda_.invoke(name, event).payload


@pytest.fixture
def run_sweep(chalice_client):
    return lambda name, at: sweep(chalice_client, name, at)


def mail_to(address: str) -> list[dict]:
    from tests.support.aws import sent_mail

    return [m for m in sent_mail() if address in (m.get("destinations", {}).get("ToAddresses") or
                                                 m.get("destinations") or [])]
