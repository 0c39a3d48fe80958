"""Crash-between-writes, as a harness: run a request once to learn the AWS calls it makes, then for
each call in turn start again from empty tables, crash right after that call, retry the request
the way a client would (same body, same Idempotency-Key, after the crashed Lambda's timeout), let
the sweeps run as they would, and check that nothing is half-done.

    Cast     the same Cognito users for every crash point of a test: each point starts from empty
             tables, and profiles, rooms, plans and availability are made again through the API
    matrix() the loop; returns one line per crash point where a check failed
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from chalicelib import wiring
from tests.faults.faults import Crash, Point, lambda_timed_out, points_of
from tests.faults.oracle import Email, inbox
from tests.functional.booking_world import EVERY_DAY, z
from tests.support.aws import ensure_stack, reset_data
from tests.support.cognito import unique_email

START = datetime.fromisoformat("2026-11-23T09:00:00+00:00")  # Mon; the functional tier's fixed clock
WED_10_NY = datetime.fromisoformat("2026-11-25T15:00:00+00:00")  # 54 h later, 10:00 in New York


@dataclass
class Scene:
    client: object
    provider: object
    room_id: str | None = None
    other_provider: object | None = None
    data: dict | None = None


def provider_body(email: str, **extra) -> dict:
    return {"email": email, "name": "Dr. Sam Provider", "kind": "therapist", "licensed_regions": ["US-NY"],
            "languages": ["en"], "timezone": "America/New_York", **extra}


class Cast:
    def __init__(self, api, cognito, ops, clock, *, providers: int = 1):
        self.api, self.cognito, self.ops, self.clock = api, cognito, ops, clock
        self.client = cognito.sign_up()
        self.providers = []
        for _ in range(providers):
            email = unique_email("provider")
            reply = api.post("/ops/providers", ops, provider_body(email))
            assert reply.status == 201, reply.json
            self.providers.append(cognito.activate(email, "provider"))

    def fresh(self, *, plan: dict | None | bool = None, room: bool = True, availability: bool = True) -> Scene:
        """Empty tables, the app's container state forgotten, the clock back at START; then the
        client's profile, every provider's profile, the room, the plan and availability again."""
        reset_data()
        overrides = {k: v for k, v in wiring._overrides.items() if k not in ("clock",)}
        wiring.reset()
        for key, value in overrides.items():
            wiring.override(key, value)
        self.clock.at = START
        wiring.override("clock", self.clock)
        api = self.api
        reply = api.post("/clients/me", self.client, {"name": "Alex Client", "date_of_birth": "1990-04-21",
                                                      "timezone": "America/New_York", "region": "US-NY",
                                                      "languages": ["en"]})
        assert reply.status == 200, reply.json
        for provider in self.providers:
            reply = api.post("/ops/providers", self.ops, provider_body(provider.email))
            assert reply.status == 201, reply.json
            if availability:
                reply = api.put("/providers/me/availability", provider,
                                {"timezone": "America/New_York", "windows": EVERY_DAY})
                assert reply.status == 200, reply.json
        room_id = None
        if room:
            reply = api.put("/ops/assignments", self.ops, {"client_id": self.client.id,
                                                           "provider_id": self.providers[0].id})
            assert reply.status == 200, reply.json
            room_id = reply.json["room_id"]
        if plan is not False:
            body = {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01", **(plan or {})}
            reply = api.put(f"/ops/clients/{self.client.id}/plan", self.ops, body)
            assert reply.status == 200, reply.json
        return Scene(self.client, self.providers[0], room_id,
                     self.providers[1] if len(self.providers) > 1 else None, {})


def mail(stack) -> list[Email]:
    return inbox(stack["aws_endpoint_url"])


def count(emails: list[Email], to: str, kind: str, start: datetime | None = None) -> int:
    return sum(1 for e in emails if e.to == to and e.kind == kind and (start is None or start in e.starts))


def duplicate_allowed(point: Point | None, crashed_mail: list[Email]) -> Email | None:
    """SPEC (Email delivery): a crash between the send and its record may, rarely, send twice. That
    is allowed for exactly the email whose send the crash followed: the last one the mail service
    accepted before the crash."""
    if point is None or point.name not in ("ses.SendEmail", "ses.SendRawEmail"):
        return None
    same_call = [e for e in crashed_mail if e.via == point.name.split(".", 1)[1]]
    return same_call[-1] if same_call else None


def exactly_once(problems: list[str], emails: list[Email], to: str, kind: str, start: datetime | None,
                 allowed: Email | None, who: str) -> None:
    n = count(emails, to, kind, start)
    ok = {1}
    if allowed is not None and allowed.to == to and allowed.kind == kind and (start is None or start in allowed.starts):
        ok = {1, 2}
    if n not in ok:
        problems.append(f"{who} got the {kind!r} email {n} times (expected exactly once)")


def never(problems: list[str], emails: list[Email], to: str, kind: str, who: str) -> None:
    n = count(emails, to, kind)
    if n:
        problems.append(f"{who} got {n} {kind!r} email(s) (expected none)")


def sweep(clock, name: str, at: datetime) -> dict:
    """A scheduled run as of `at` (the clock is moved there too: it is when the run happens)."""
    from chalicelib.sweeps import run

    clock.at = at
    return run(name, {"time": z(at)})


def matrix(aws_calls, fresh: Callable[[], Scene], act: Callable[[Scene], object],
           check: Callable[[Scene, object, Point | None, list], list[str]], *,
           retry: Callable[[Scene], object] | None = None, warm_up: bool = False,
           stack: dict | None = None) -> tuple[list[Point], list[str]]:
    """Crash after each AWS call of `act` in turn; retry; check. Returns (points, failures).

    `check(scene, retried_answer, point, crashed_mail)` returns what is half-done (empty: fine). It
    is called once without a crash too (point None), so a failure there is a broken check, not a
    crash finding."""
    stack = stack or ensure_stack()
    retry = retry or act
    if warm_up:  # `fresh()` forgets the container's caches (wiring.reset), so every run starts equally cold
        act(fresh())
    scene = fresh()
    with aws_calls.recording() as calls:
        answer = act(scene)
    baseline = check(scene, answer, None, [])
    assert not baseline, f"the check fails without any crash: {baseline}"
    points = points_of(calls)
    failures = []
    for point in points:
        scene = fresh()
        aws_calls.arm(point)
        try:
            act(scene)
        except Crash:
            pass
        else:
            failures.append(f"{point}: not reached (the request makes other calls on a fresh scene)")
            continue
        finally:
            aws_calls.disarm()
        crashed_mail = mail(stack)
        lambda_timed_out()
        try:
            answer = retry(scene)
            problems = check(scene, answer, point, crashed_mail)
        except Crash as crash:  # pragma: no cover - disarmed
            problems = [f"crashed again: {crash}"]
        except AssertionError as error:
            problems = [f"check raised: {error}"]
        if problems:
            failures.append(f"crash after {point}: " + "; ".join(problems))
    return points, failures


def after_lease(scene_clock, at: datetime | None = None) -> datetime:
    """When the deadlines sweep may retry what the crashed request recorded (its lease has run out)."""
    base = at or scene_clock.at
    return base + timedelta(minutes=5)
