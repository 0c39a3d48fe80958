"""Issue 11 over HTTP against the real local stack: a held proposal and bookings race for one time.

A client has asked their provider for a session; the provider proposes a time while ten other
clients of the provider book that very time, all at once. Exactly one of the eleven requests wins
(the proposal holds the time, or one booking takes it); every other one is 409 `slot_taken`, and
what is stored agrees. The functional tests also force the interleaving both ways.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.local

ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
NY = ZoneInfo("America/New_York")
RIVALS = 10


def _z(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Reply:
    def __init__(self, response):
        self.status, self.text = response.status_code, response.text
        self.json = response.json() if response.text else None
        self.code = (self.json or {}).get("error", {}).get("code") if isinstance(self.json, dict) else None


def _post(http, path: str, user, body: dict, key: str) -> _Reply:
    """POST as a client app does under load: generous timeout (eleven requests queue behind one
    emulator on a busy machine), and a reset connection retried (`chalice local` keeps a short
    listen backlog; the Idempotency-Key makes the retry safe)."""
    import requests

    for attempt in range(5):
        try:
            return _Reply(requests.post(http.base_url + path, json=body, timeout=120,
                                        headers={**user.headers, "Idempotency-Key": key}))
        except requests.ConnectionError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def test_one_proposal_and_ten_bookings_on_the_same_time_exactly_one_wins(http, world):
    provider = world.provider(timezone="UTC")
    assert http.put("/providers/me/availability", provider, {"timezone": "UTC", "windows": ALL_DAY}).status == 200
    asker = world.client()
    world.room(asker, provider)
    world.plan(asker, kind="eap", live_credits=2, messaging_credits=0, period_anchor=None)
    rivals = [world.client() for _ in range(RIVALS)]
    for rival in rivals:
        world.room(rival, provider)
        world.plan(rival, kind="eap", live_credits=1, messaging_credits=0, period_anchor=None)
    day = (datetime.now(timezone.utc) + timedelta(days=3)).astimezone(NY).date()
    the_time = datetime(day.year, day.month, day.day, 14, 0, tzinfo=NY)  # inside that afternoon, ≥ 48 h ahead
    preferred = [{"date": (day + timedelta(days=i)).isoformat(), "part": "afternoon"} for i in range(3)]
    asked = http.post("/session-requests", asker, {"provider_id": provider.id, "modality": "video",
                                                   "preferred": preferred})
    assert asked.status == 201, asked.text
    request_id = asked.json["id"]

    def propose():
        return _post(http, f"/session-requests/{request_id}/proposals", provider, {"starts_at": [_z(the_time)]},
                     "race-proposal")

    def book(rival):
        return _post(http, "/bookings", rival, {"provider_id": provider.id, "modality": "video",
                                                "starts_at": _z(the_time)}, f"race-{rival.id}")

    with ThreadPoolExecutor(max_workers=RIVALS + 1) as pool:
        proposal = pool.submit(propose)
        bookings = list(pool.map(book, rivals))
        proposal = proposal.result()
    outcomes = [proposal.status] + [b.status for b in bookings]
    assert outcomes.count(200) + outcomes.count(201) == 1, [(r.status, r.code) for r in [proposal, *bookings]]
    losers = [r for r in [proposal, *bookings] if r.status not in (200, 201)]
    assert all(r.code == "slot_taken" for r in losers), [r.text for r in losers]
    listed = http.get("/bookings", provider).json["items"]
    status = http.get(f"/session-requests/{request_id}", asker).json["status"]
    if proposal.status == 200:
        assert status == "proposed" and listed == []
        assert proposal.json["proposals"][0]["starts_at"] == _z(the_time)
    else:
        assert status == "requested" and len(listed) == 1 and listed[0]["starts_at"] == _z(the_time)
        assert proposal.json["error"]["details"]["taken"] == [_z(the_time)]
