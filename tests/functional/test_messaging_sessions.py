"""Messaging sessions (SPEC §2): insurance and eap plans, 7 days, one credit, one at a time."""
import threading
from datetime import timedelta

from tests.functional.conftest import START


def _insurance(world, client, messaging=2):
    world.plan(client, kind="insurance", live_credits=4, messaging_credits=messaging, session_price_cents=9000,
               period_anchor=None)


def test_starting_a_session_spends_a_credit_and_shows_the_banner(api, world, clock):
    client, provider, room_id = world.pair()
    _insurance(world, client)
    reply = api.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert reply.status == 201
    session = reply.json
    assert session["started_at"] == "2026-11-23T09:00:00Z" and session["ends_at"] == "2026-11-30T09:00:00Z"
    for who in (client, provider):
        assert api.get(f"/rooms/{room_id}", who).json["messaging_session"] == session
    assert api.get("/clients/me", client).json["credits"]["messaging"] == 1


def test_one_session_at_a_time_and_never_cancelled(api, world):
    client, _, room_id = world.pair()
    _insurance(world, client)
    session = api.post(f"/rooms/{room_id}/messaging-sessions", client).json
    again = api.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert again.status == 409 and again.code == "already_active"
    cancel = api.delete(f"/rooms/{room_id}/messaging-sessions/{session['id']}", client)
    assert cancel.status == 409 and "can't be cancelled" in cancel.json["error"]["message"]
    assert api.get("/clients/me", client).json["credits"]["messaging"] == 1


def test_the_banner_disappears_at_the_end_and_the_sweep_closes_it(api, world, clock, run_sweep):
    client, _, room_id = world.pair()
    _insurance(world, client)
    api.post(f"/rooms/{room_id}/messaging-sessions", client)
    clock.advance(days=7)  # exactly at ends_at: over, by the clock, before any sweep
    assert api.get(f"/rooms/{room_id}", client).json["messaging_session"] is None
    result = run_sweep("deadlines", START + timedelta(days=7))
    assert result["messaging_sessions_ended"] == 1
    assert run_sweep("deadlines", START + timedelta(days=7))["messaging_sessions_ended"] == 0
    # a new one may start; the old one still counts
    assert api.post(f"/rooms/{room_id}/messaging-sessions", client).status == 201
    assert api.get("/clients/me", client).json["credits"]["messaging"] == 0


def test_no_credit_no_plan_subscription_and_psychiatry(api, world):
    client, _, room_id = world.pair()
    assert api.post(f"/rooms/{room_id}/messaging-sessions", client).code == "no_plan"
    _insurance(world, client, messaging=0)
    reply = api.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert reply.status == 402 and reply.code == "no_credit"
    world.plan(client, kind="subscription", live_credits=4, period_anchor="2026-11-01")
    reply = api.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert reply.status == 409 and reply.code == "not_needed"
    _insurance(world, client)
    psych_room = world.room(client, world.provider(kind="psychiatrist"))
    reply = api.post(f"/rooms/{psych_room}/messaging-sessions", client)
    assert reply.status == 403 and reply.code == "psychiatry_video_only"


def test_providers_cannot_start_sessions(api, world):
    client, provider, room_id = world.pair()
    assert api.post(f"/rooms/{room_id}/messaging-sessions", provider).status == 403


def test_a_retry_with_the_same_idempotency_key_spends_nothing_more(api, world):
    client, _, room_id = world.pair()
    _insurance(world, client, messaging=3)
    headers = {"Idempotency-Key": "start-1"}
    first = api.post(f"/rooms/{room_id}/messaging-sessions", client, headers=headers)
    second = api.post(f"/rooms/{room_id}/messaging-sessions", client, headers=headers)
    assert first.status == second.status == 201 and first.json == second.json
    assert api.get("/clients/me", client).json["credits"]["messaging"] == 2


def test_concurrent_starts_open_one_session_and_spend_one_credit(api, world, clock):
    from chalicelib.identity import Caller
    from chalicelib.services import messaging_sessions

    client, _, room_id = world.pair()
    _insurance(world, client, messaging=5)
    caller = Caller(client.id, client.email, "client")
    outcomes, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        try:
            outcomes.append(messaging_sessions.start(caller, room_id, clock())["id"])
        except Exception as error:  # noqa: BLE001 - we count refusals
            outcomes.append(getattr(error, "code", repr(error)))

    threads = [threading.Thread(target=start) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    started = [o for o in outcomes if str(o).startswith("ms_")]
    assert len(started) == 1, outcomes
    assert set(outcomes) - set(started) <= {"already_active"}
    assert api.get("/clients/me", client).json["credits"]["messaging"] == 4
