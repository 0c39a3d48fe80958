"""The sweeps' duties for session requests (SPEC §4): expiry at `respond_by` and lapse at
`accept_by` (deadlines), the provider's and the client's nudges (reminders). Each acts once, as of
the event's time, replay-safe, and catches up after missed runs."""
from datetime import datetime, timedelta, timezone

from tests.functional.booking_world import book, run_sweep, scene
from tests.functional.pathways_world import WED_10_NY, ask, mails, propose, request_status

RESPOND_BY = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  # the clock's start + 48 h


def test_an_unanswered_request_expires_at_respond_by_once_and_the_client_is_told(world, api):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    assert run_sweep("deadlines", RESPOND_BY - timedelta(seconds=1))["requests_expired"] == 0
    assert run_sweep("deadlines", RESPOND_BY)["requests_expired"] == 1
    assert run_sweep("deadlines", RESPOND_BY)["requests_expired"] == 0  # replayed: nothing more
    assert run_sweep("deadlines", RESPOND_BY + timedelta(minutes=5))["requests_expired"] == 0
    assert request_status(api, sc.client, asked["id"]) == "expired"
    told = mails(sc.client.email, "expired")
    assert len(told) == 1 and "ask another provider" in told[0]["body"]
    assert ask(api, sc.client, sc.provider.id)["status"] == "requested"  # the client may ask again


def test_an_unaccepted_proposal_lapses_at_accept_by_and_its_times_are_released(world, api):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    accept_by = propose(api, sc.provider, asked["id"], WED_10_NY)["accept_by"]
    assert accept_by == "2026-11-25T09:00:00Z"
    first = run_sweep("deadlines", RESPOND_BY)
    again = run_sweep("deadlines", RESPOND_BY)
    assert (first["requests_lapsed"], again["requests_lapsed"]) == (1, 0)
    assert request_status(api, sc.client, asked["id"]) == "lapsed"
    assert len(mails(sc.client.email, "were released")) == 1
    assert book(api, sc, WED_10_NY, by="provider")["status"] == "confirmed"


def test_the_provider_is_nudged_once_24_hours_before_respond_by(world, api):
    sc = scene(world, api)
    ask(api, sc.client, sc.provider.id)
    nudge_at = RESPOND_BY - timedelta(hours=24)
    assert run_sweep("reminders", nudge_at - timedelta(seconds=1))["request_nudges_sent"] == 0
    assert run_sweep("reminders", nudge_at)["request_nudges_sent"] == 1
    assert run_sweep("reminders", nudge_at + timedelta(minutes=5))["request_nudges_sent"] == 0
    assert len(mails(sc.provider.email, "waiting for your answer")) == 1


def test_the_client_is_nudged_once_12_hours_before_accept_by_and_an_answered_request_does_not_nudge(world, api, clock):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    clock.advance(hours=1)  # Mon 10:00Z: accept_by = min(Wed 10:00Z, Wed 15:00Z − 1 h) = Wed 10:00Z
    propose(api, sc.provider, asked["id"], WED_10_NY)
    assert run_sweep("reminders", RESPOND_BY - timedelta(hours=24))["request_nudges_sent"] == 0  # answered
    client_nudge = datetime(2026, 11, 24, 22, 0, tzinfo=timezone.utc)
    assert run_sweep("reminders", client_nudge - timedelta(seconds=1))["request_nudges_sent"] == 0
    assert run_sweep("reminders", client_nudge)["request_nudges_sent"] == 1
    assert run_sweep("reminders", client_nudge)["request_nudges_sent"] == 0
    assert len(mails(sc.client.email, "choose one of the proposed")) == 1
    assert mails(sc.provider.email, "waiting for your answer") == []


def test_missed_runs_catch_up_acting_once_and_skipping_nudges_whose_moment_is_gone(world, api):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    late = RESPOND_BY + timedelta(days=3)  # no run for days
    assert run_sweep("reminders", late)["request_nudges_sent"] == 0  # the request has expired: no nudge
    assert run_sweep("deadlines", late)["requests_expired"] == 1
    assert run_sweep("deadlines", late + timedelta(minutes=5))["requests_expired"] == 0
    seen = api.get(f"/session-requests/{asked['id']}", sc.client).json
    assert seen["status"] == "expired"
    assert len(mails(sc.client.email, "expired")) == 1
