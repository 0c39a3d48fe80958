"""Local-stack tests: the real stack over HTTP. `chalice local` serves the app against this
process's emulator; users sign up and sign in through the emulator's Cognito and send real ID
tokens. Nothing here reaches into the app: only HTTP, Cognito and (for media) S3 URLs it hands out.

Data is not reset between tests: each test makes its own users, so tests never see each other's.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest

from tests.support.aws import ensure_api, ensure_stack
from tests.support.verbs import Verbs
from tests.support.world import World  # noqa: F401 (re-exported)
from tests.support.cognito import Cognito, User  # noqa: F401 (re-exported for tests)

STACK = ensure_stack()  # before anything imports the app: settings are read at import

import requests  # noqa: E402

TIMEOUT = 15  # seconds per HTTP call; a hung server fails the test instead of hanging the run


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


class Http(Verbs):
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


def years_ago(years: int, today: date | None = None) -> date:
    today = today or datetime.now(timezone.utc).date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


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
