"""Functional tests: the Chalice app in-process (chalice.test.Client) against a real moto server,
with real Cognito users and tokens. Each test starts from empty tables and a fixed clock."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from tests.support.aws import ensure_stack, reset_data
from tests.support.verbs import Verbs
from tests.support.world import World  # noqa: F401 (re-exported)
from tests.support.cognito import Cognito, User  # noqa: F401 (re-exported for tests)

STACK = ensure_stack()  # sets the environment before the app (and its settings) are imported

from chalice.test import Client  # noqa: E402

from infra import chalice_greedy  # noqa: E402

chalice_greedy.install()  # the gateway's greedy-path matching, as `make run` serves it

from app import app  # noqa: E402
from chalicelib import wiring  # noqa: E402
from chalicelib.clock import FixedClock  # noqa: E402

START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday


class Api(Verbs):
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


@dataclass
class Reply:
    status: int
    json: object
    headers: dict

    @property
    def code(self):
        return (self.json or {}).get("error", {}).get("code") if isinstance(self.json, dict) else None


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

    def to(m):
        destinations = m.get("destinations") or {}
        return destinations.get("ToAddresses") or [] if isinstance(destinations, dict) else destinations

    return [m for m in sent_mail() if address in to(m)]
