"""Issue 4 over HTTP against the real local stack: many concurrent bookings, one guard.

20 clients of one provider ask for the same slot at once: exactly one booking is created and
every other request is 409 `slot_taken`, with each client's credits adding up. One client with
one credit asks for ten different slots at once: exactly one succeeds, the rest are 402.

The emulator is made atomic per DynamoDB operation (`infra.provision.make_dynamodb_atomic`:
moto's own rollback is not thread safe). The app's requests still race each other between their
reads and their transactions; only the guard's conditions decide who wins. The functional tests
also force that interleaving.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.local

ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def _z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _slot(days: int = 3) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def _provider(http, world):
    provider = world.provider(timezone="UTC")
    reply = http.put("/providers/me/availability", provider, {"timezone": "UTC", "windows": ALL_DAY})
    assert reply.status == 200, reply.text
    return provider


def _book(http, user, body: dict, key: str):
    """POST /bookings as a client app does under load: with an Idempotency-Key, retrying when the
    connection is refused or reset before an answer (`chalice local` keeps a short listen backlog,
    so 20 simultaneous connections can be reset). The key makes a retry safe either way."""
    import requests

    for attempt in range(5):
        try:
            return http.post("/bookings", user, body, headers={"Idempotency-Key": key})
        except requests.ConnectionError:
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def _live_credits(http, client) -> int:
    return http.get("/clients/me", client).json["credits"]["live"]


def test_twenty_clients_racing_for_one_slot_make_exactly_one_booking(http, world):
    provider = _provider(http, world)
    clients = [world.client() for _ in range(20)]
    for client in clients:
        world.room(client, provider)
        world.plan(client, kind="eap", live_credits=1, messaging_credits=0, period_anchor=None)
    starts = _z(_slot())

    def attempt(client):
        return _book(http, client, {"provider_id": provider.id, "modality": "video", "starts_at": starts},
                     key=f"race-{client.id}")

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(attempt, clients))
    statuses = sorted(r.status for r in replies)
    assert statuses.count(201) == 1, [(r.status, r.code) for r in replies]
    assert all(r.code == "slot_taken" for r in replies if r.status != 201), [r.text for r in replies]
    winner = next(c for c, r in zip(clients, replies) if r.status == 201)
    assert sum(_live_credits(http, c) for c in clients) == 19
    assert _live_credits(http, winner) == 0
    listed = http.get("/bookings", provider).json["items"]
    assert [(b["client_id"], b["starts_at"]) for b in listed] == [(winner.id, starts)]


def test_one_client_with_one_credit_racing_across_slots_books_once(http, world):
    provider = _provider(http, world)
    client = world.client()
    world.room(client, provider)
    world.plan(client, kind="eap", live_credits=1, messaging_credits=0, period_anchor=None)
    first = _slot(4)
    times = [_z(first + timedelta(hours=h)) for h in range(10)]

    def attempt(starts):
        return _book(http, client, {"provider_id": provider.id, "modality": "video", "starts_at": starts},
                     key=f"race-{starts}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(attempt, times))
    assert [r.status for r in replies].count(201) == 1, [(r.status, r.code) for r in replies]
    assert all(r.code == "no_credit" for r in replies if r.status != 201)
    assert _live_credits(http, client) == 0
    assert len(http.get("/bookings", client).json["items"]) == 1
