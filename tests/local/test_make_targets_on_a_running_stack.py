"""The doors a person uses on `make run` (SPEC §5), tried as they would: `make user` for each role,
`make outbox` with the provider's confirm link and the calendar summary, `make clock` moving the
API and the schedules (and `make invoke`), all over HTTP against a real `python -m infra.local`
(stage `local`) started here on free ports."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from infra.provision import free_port

ROOT = Path(__file__).resolve().parents[2]
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]

pytestmark = pytest.mark.local


class Stack:
    """A running `make run` (infra.local) and the make targets pointed at it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.stack_file = folder / "stack.json"
        self.log = folder / "runner.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_", "MAKE", "MFLAGS"))}
        self.env.update(HAVEN_AWS_PORT=str(free_port()), HAVEN_API_PORT=str(free_port()),
                        HAVEN_STACK_FILE=str(self.stack_file))
        self.process = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=self.env,
                                        stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while not self.stack_file.exists():
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(0.2)
        self.info = json.loads(self.stack_file.read_text())
        self.api = self.info["api_url"]

    def make(self, target: str, *variables: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["make", "-s", "-C", str(ROOT), target, *variables], env=self.env,
                                capture_output=True, text=True, timeout=120)
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def user(self, role: str, email: str, *variables: str) -> dict:
        return json.loads(self.make("user", f"ROLE={role}", f"EMAIL={email}", "JSON=1", *variables).stdout)

    def call(self, method: str, path: str, token: str | None = None, body=None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, self.api + path, json=body, headers=headers, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(tmp_path_factory.mktemp("make-run"))
    try:
        yield running
    finally:
        running.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(5).hex()}@example.com"


def wait_until(check, timeout: float = 90.0, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def outbox(stack: Stack) -> list[dict]:
    return json.loads(subprocess.run([sys.executable, "-m", "infra.outbox", "--json"], cwd=ROOT, env=stack.env,
                                     capture_output=True, text=True, timeout=60, check=True).stdout)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def first_slot(stack: Stack, provider_id: str, token: str) -> datetime:
    reply = stack.call("GET", f"/providers/{provider_id}/slots", token)
    assert reply.status_code == 200, reply.text
    return parse(reply.json()["items"][0]["starts_at"])


def pair(stack: Stack):
    """A provider available all week (UTC), a client with an eap plan of 2 live credits, their room."""
    provider = stack.user("provider", unique("provider"), "NAME=Dr. Sam Rivera", "TIMEZONE=UTC")
    client = stack.user("client", unique("client"))
    ops = stack.user("ops", unique("ops"))
    assert stack.call("PUT", "/providers/me/availability", provider["id_token"],
                      {"timezone": "UTC", "windows": ALL_DAY}).status_code == 200
    assigned = stack.call("PUT", "/ops/assignments", ops["id_token"],
                          {"client_id": client["id"], "provider_id": provider["id"]})
    assert assigned.status_code == 200, assigned.text
    plan = stack.call("PUT", f"/ops/clients/{client['id']}/plan", ops["id_token"],
                      {"kind": "eap", "live_credits": 2, "messaging_credits": 0})
    assert plan.status_code == 200, plan.text
    return provider, client, ops


def book(stack: Stack, client: dict, provider: dict, starts_at: datetime) -> dict:
    reply = stack.call("POST", "/bookings", client["id_token"], {
        "provider_id": provider["id"], "modality": "video", "starts_at": starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert reply.status_code == 201, reply.text
    return reply.json()


# --- make user ---------------------------------------------------------------------------------

def test_make_user_gives_every_role_a_working_sign_in_and_a_rerun_only_a_fresh_token(stack):
    ops_email, provider_email, client_email = unique("ops"), unique("provider"), unique("client")

    ops = stack.user("ops", ops_email)
    provider = stack.user("provider", provider_email, "NAME=Dr. Ada Lovelace", "PASSWORD=Another-Pass-42x")
    client = stack.user("client", client_email, "NAME=Alex Morgan")

    for user in (ops, provider, client):
        assert user["created"] is True and user["status"] == "CONFIRMED", user  # no FORCE_CHANGE_PASSWORD
    assert provider["password"] == "Another-Pass-42x"
    # each token is accepted by the API for what that role does
    me = stack.call("GET", "/providers/me", provider["id_token"])
    assert me.status_code == 200 and me.json()["id"] == provider["id"] and me.json()["name"] == "Dr. Ada Lovelace"
    assert stack.call("GET", f"/providers/{provider['id']}", client["id_token"]).status_code == 200
    profile = stack.call("GET", "/clients/me", client["id_token"])
    assert profile.status_code == 200 and profile.json()["name"] == "Alex Morgan"
    assigned = stack.call("PUT", "/ops/assignments", ops["id_token"],
                          {"client_id": client["id"], "provider_id": provider["id"]})
    assert assigned.status_code == 200, assigned.text
    # the password printed is the one that signs in
    import boto3

    idp = boto3.client("cognito-idp", region_name=stack.info["region"], endpoint_url=stack.info["aws_endpoint_url"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    auth = idp.initiate_auth(ClientId=stack.info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": provider_email, "PASSWORD": "Another-Pass-42x"})
    assert "IdToken" in auth["AuthenticationResult"]
    attributes = {a["Name"]: a["Value"] for a in idp.admin_get_user(
        UserPoolId=stack.info["user_pool_id"], Username=client_email)["UserAttributes"]}
    assert attributes["email_verified"] == "true"

    # again: nothing new, a fresh token that works (the text output ends with the token alone)
    again = stack.make("user", "ROLE=provider", f"EMAIL={provider_email}", "PASSWORD=Another-Pass-42x").stdout
    assert "already there" in again and provider["id"] in again
    token = again.strip().splitlines()[-1]
    assert stack.call("GET", "/providers/me", token).json()["name"] == "Dr. Ada Lovelace"
    client_again = stack.user("client", client_email)
    assert client_again["created"] is False and client_again["id"] == client["id"]
    assert client_again["profile"]["name"] == "Alex Morgan"  # the profile is not overwritten

    wrong = stack.make("user", "ROLE=client", f"EMAIL={ops_email}", check=False)
    assert wrong.returncode != 0 and "already exists with role ops" in wrong.stderr
    usage = stack.make("user", "ROLE=client", check=False)
    assert usage.returncode != 0 and "usage: make user" in usage.stdout


# --- make outbox -------------------------------------------------------------------------------

def test_make_outbox_shows_the_confirm_link_whole_and_the_calendar_summary(stack):
    provider, client, _ = pair(stack)
    starts = first_slot(stack, provider["id"], client["id_token"])
    booking = book(stack, client, provider, starts)

    shown = stack.make("outbox").stdout
    block = next(b for b in shown.split("\n#") if provider["email"] in b.splitlines()[0]
                 and "/links/" in b)
    listed = re.findall(r"^\s+\[\d+\] (\S+)$", block, re.MULTILINE)
    link = next(url for url in listed if "/links/" in url)
    assert link.startswith(stack.api + "/links/")
    assert f"<{link}>" in block  # also beside its label in the text

    page = requests.get(link, timeout=30)  # what clicking it in the terminal opens
    assert page.status_code == 200 and "Confirm" in page.text and "<form" in page.text
    confirmed = requests.post(link, data={"action": "confirm"}, timeout=30)
    assert confirmed.status_code == 200, confirmed.text
    assert stack.call("GET", f"/bookings/{booking['id']}", client["id_token"]).json()["status"] == "confirmed"

    def invitation():
        for mail in outbox(stack):
            if mail["to"] == client["email"] and mail["calendars"]:
                return mail
        return None

    mail = wait_until(invitation)
    assert mail, "no calendar email reached the client"
    calendar = mail["calendars"][0]
    assert calendar["filename"].endswith(".ics")
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["DTSTART"] == starts.strftime("%Y%m%dT%H%M%SZ")
    assert calendar["UID"].endswith("@haven") and calendar["SEQUENCE"].isdigit() and calendar["SUMMARY"]
    text = stack.make("outbox").stdout
    assert f"Calendar ({calendar['filename']}):" in text
    assert re.search(r"METHOD\s+REQUEST", text) and re.search(rf"UID\s+{re.escape(calendar['UID'])}", text)


# --- make clock --------------------------------------------------------------------------------

def test_make_clock_moves_the_api_and_the_schedules_and_now_brings_them_back(stack):
    provider, client, _ = pair(stack)
    real_first = first_slot(stack, provider["id"], client["id_token"])
    booking = book(stack, client, provider, real_first)
    assert booking["status"] == "pending"

    target = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    moved = stack.make("clock", f"TIME={target:%Y-%m-%dT%H:%M:%SZ}").stdout
    assert f"{target:%Y-%m-%d}" in moved

    # the API: the request is past its confirmation deadline, and slots start from the new time
    assert stack.call("GET", f"/bookings/{booking['id']}", client["id_token"]).json()["status"] == "expired"
    shifted_first = first_slot(stack, provider["id"], client["id_token"])
    assert shifted_first >= target + timedelta(hours=48)
    # the schedules: the deadlines sweep ran as of the new time and told the client
    log_line = re.compile(rf"schedule deadlines as of {target:%Y-%m-%d}T")
    assert wait_until(lambda: log_line.search(stack.log.read_text())), stack.log.read_text()[-3000:]
    assert wait_until(lambda: any(m["to"] == client["email"] and "expired" in m["subject"].lower()
                                  for m in outbox(stack)))
    # time runs on from the moment set
    time.sleep(1.5)
    shown = stack.make("clock").stdout
    shown_at = parse(re.search(r"clock: (\S+)", shown).group(1))
    assert target + timedelta(seconds=1) <= shown_at <= target + timedelta(minutes=2)
    # `make invoke` without TIME runs as of the stack's clock too
    invoked = stack.make("invoke", "FN=deadlines")
    assert parse(json.loads(invoked.stdout)["as_of"]) >= target

    back = stack.make("clock", "TIME=now").stdout
    assert "(real time)" in back
    assert first_slot(stack, provider["id"], client["id_token"]) < target
    invoked = stack.make("invoke", "FN=deadlines")
    assert parse(json.loads(invoked.stdout)["as_of"]) < target - timedelta(days=2)
    # relative moves count from the stack's current time
    stack.make("clock", "TIME=+2d")
    assert first_slot(stack, provider["id"], client["id_token"]) >= real_first + timedelta(days=2) - timedelta(hours=1)
    stack.make("clock", "TIME=now")
