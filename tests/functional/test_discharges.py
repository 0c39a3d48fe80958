"""Discharges from referral programs (SPEC §2 "Discharges"): the three deadlines, the 7-day notice,
status by the clock before the daily sweep persists it, what a discharged client may and may not
do, and the sweep acting once, replay-safe, catching up."""
from datetime import datetime, timedelta, timezone

from tests.functional.booking_world import run_sweep, z
from tests.functional.pathways_world import (
    WED_10_NY, ask, code_from_email, issue, mails, provider, referral_client,
)

FIRST_ACCESS = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # the clock's start: redeemed at registration
NO_FIRST_BOOKING = FIRST_ACCESS + timedelta(days=30)
NOTICE = NO_FIRST_BOOKING - timedelta(days=7)


def _client_in_care(world, api, **kwargs):
    client, referral = referral_client(world, api, **kwargs)
    therapist = provider(world, api)
    room_id = world.room(client, therapist)
    return client, therapist, room_id


def _me(api, client):
    reply = api.get("/clients/me", client)
    assert reply.status == 200, reply.json
    return reply.json


def _system_texts(api, user, room_id):
    return [m["text"] for m in api.get(f"/rooms/{room_id}/messages", user).json["items"] if m["kind"] == "system"]


def test_never_booking_is_noticed_7_days_ahead_then_discharged_30_days_after_first_access(world, api, clock):
    client, therapist, room_id = _client_in_care(world, api)
    assert run_sweep("discharges", NOTICE - timedelta(seconds=1))["discharge_notices"] == 0
    assert run_sweep("discharges", NOTICE)["discharge_notices"] == 1
    assert run_sweep("discharges", NOTICE)["discharge_notices"] == 0  # replayed
    assert run_sweep("discharges", NOTICE + timedelta(days=1))["discharge_notices"] == 0
    notice = mails(client.email, "referral program: notice")
    assert len(notice) == 1 and "Wed 23 Dec 2026, 04:00 (America/New_York)" in notice[0]["body"]
    assert len(_system_texts(api, client, room_id)) == 1

    clock.at = NO_FIRST_BOOKING - timedelta(seconds=1)
    assert (_me(api, client)["status"], _me(api, client)["discharge"]) == ("active", None)
    clock.at = NO_FIRST_BOOKING  # decided by the clock, before any sweep has run
    me = _me(api, client)
    assert me["status"] == "discharged"
    assert me["discharge"] == {"reason": "no_first_booking", "at": z(NO_FIRST_BOOKING)}
    assert me["credits"]["live"] == 0

    first, again = run_sweep("discharges", NO_FIRST_BOOKING), run_sweep("discharges", NO_FIRST_BOOKING)
    assert (first["discharged"], again["discharged"]) == (1, 0)
    assert len(mails(client.email, "program has closed")) == 1
    assert len(mails(therapist.email, "referral program has closed")) == 1
    assert _me(api, client)["discharge"] == {"reason": "no_first_booking", "at": z(NO_FIRST_BOOKING)}


def test_a_discharged_client_keeps_reading_but_cannot_book_request_start_sessions_or_post(world, api, clock):
    client, therapist, room_id = _client_in_care(world, api)
    run_sweep("discharges", NOTICE)
    clock.at = NO_FIRST_BOOKING + timedelta(hours=1)
    api.put("/providers/me/availability", therapist, {"timezone": "UTC", "windows": [
        {"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]})
    later = clock.at + timedelta(days=3)
    refusals = [
        api.post("/bookings", client, {"provider_id": therapist.id, "modality": "video", "starts_at": z(later)}),
        api.post("/session-requests", client, {"provider_id": therapist.id, "modality": "video", "preferred": [
            {"date": "2027-01-04", "part": "morning"}, {"date": "2027-01-05", "part": "morning"},
            {"date": "2027-01-06", "part": "morning"}]}),
        api.post(f"/rooms/{room_id}/messaging-sessions", client),
        api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "hello?"}),
    ]
    assert [(r.status, r.code) for r in refusals] == [(403, "discharged")] * 4
    closing = api.post(f"/rooms/{room_id}/messages", therapist, {"kind": "text", "text": "Take care."})
    assert closing.status == 201  # the provider may still post closing words
    assert api.get(f"/rooms/{room_id}/messages", client).status == 200
    assert api.get("/bookings", client).status == 200
    # Redeeming a new code makes them active again.
    issue(api, world.ops, client.email, sessions=2, modalities=("video",))
    reply = api.post("/clients/me/referral", client, {"code": code_from_email(client.email)})
    assert reply.status == 200, reply.json
    assert (reply.json["status"], reply.json["discharge"], reply.json["credits"]["live"]) == ("active", None, 2)
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "I'm back"}).status == 201


def test_a_booking_made_after_the_notice_cancels_a_no_first_booking_discharge(world, api, clock):
    client, therapist, room_id = _client_in_care(world, api)
    run_sweep("discharges", NOTICE)
    clock.at = NOTICE + timedelta(days=1)
    api.put("/providers/me/availability", therapist, {"timezone": "UTC", "windows": [
        {"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]})
    reply = api.post("/bookings", client, {"provider_id": therapist.id, "modality": "video",
                                           "starts_at": z(NO_FIRST_BOOKING + timedelta(days=2))})
    assert reply.status == 201, reply.json
    clock.at = NO_FIRST_BOOKING
    assert _me(api, client)["status"] == "active"
    assert run_sweep("discharges", NO_FIRST_BOOKING)["discharged"] == 0


def test_no_follow_up_28_days_after_the_last_completed_session(world, api, clock):
    client, therapist, room_id = _client_in_care(world, api)
    api.put("/providers/me/availability", therapist, {"timezone": "America/New_York", "windows": [
        {"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)]})
    booking = api.post("/bookings", therapist, {"client_id": client.id, "modality": "video",
                                                "starts_at": z(WED_10_NY)}).json
    clock.at = WED_10_NY + timedelta(minutes=40)
    assert api.post(f"/bookings/{booking['id']}/complete", therapist).json["status"] == "completed"
    ended = WED_10_NY + timedelta(minutes=45)
    deadline, notice = ended + timedelta(days=28), ended + timedelta(days=21)
    assert run_sweep("discharges", NOTICE)["discharge_notices"] == 0  # no_first_booking no longer applies
    assert run_sweep("discharges", notice - timedelta(seconds=1))["discharge_notices"] == 0
    assert run_sweep("discharges", notice)["discharge_notices"] == 1
    clock.at = deadline
    assert _me(api, client)["discharge"] == {"reason": "no_follow_up", "at": z(deadline)}
    assert run_sweep("discharges", deadline)["discharged"] == 1


def test_a_late_notice_pushes_the_deadline_to_7_days_after_it(world, api, clock):
    client, _, _ = _client_in_care(world, api)
    late = NO_FIRST_BOOKING - timedelta(days=1)  # no run for weeks: the notice goes out a day before the deadline
    assert run_sweep("discharges", late)["discharge_notices"] == 1
    clock.at = NO_FIRST_BOOKING + timedelta(days=5)
    assert _me(api, client)["status"] == "active"  # never discharged without 7 days' notice
    clock.at = late + timedelta(days=7)
    assert _me(api, client)["discharge"] == {"reason": "no_first_booking", "at": z(late + timedelta(days=7))}
    assert run_sweep("discharges", NO_FIRST_BOOKING)["discharged"] == 0
    assert run_sweep("discharges", late + timedelta(days=7))["discharged"] == 1


def test_a_request_open_at_the_deadline_moves_it_to_when_the_request_ends(world, api, clock):
    client, therapist, _ = _client_in_care(world, api)
    run_sweep("discharges", NOTICE)
    clock.at = NO_FIRST_BOOKING - timedelta(days=1)
    asked = ask(api, client, therapist.id, preferred=[{"date": "2026-12-28", "part": "morning"},
                                                      {"date": "2026-12-29", "part": "morning"},
                                                      {"date": "2026-12-30", "part": "morning"}])
    respond_by = NO_FIRST_BOOKING + timedelta(days=1)
    assert asked["respond_by"] == z(respond_by)
    clock.at = NO_FIRST_BOOKING
    assert _me(api, client)["status"] == "active"
    assert run_sweep("discharges", NO_FIRST_BOOKING)["discharged"] == 0
    clock.at = respond_by  # the request expires unanswered: the deadline was its end
    assert _me(api, client)["discharge"] == {"reason": "no_first_booking", "at": z(respond_by)}
    assert run_sweep("discharges", respond_by)["discharged"] == 1


def test_program_end_discharges_a_client_who_booked_but_never_completed_a_session(world, api, clock):
    client, therapist, _ = _client_in_care(world, api)
    booking = api.post("/bookings", therapist, {"client_id": client.id, "modality": "video",
                                                "starts_at": z(WED_10_NY)})
    assert booking.status == 201, booking.json
    api.post(f"/bookings/{booking.json['id']}/cancel", therapist)
    program_ends = datetime(2027, 5, 23, 9, 0, tzinfo=timezone.utc)
    assert _me(api, client)["plan"]["program_ends_at"] == z(program_ends)
    assert run_sweep("discharges", NO_FIRST_BOOKING)["discharged"] == 0
    assert run_sweep("discharges", program_ends - timedelta(days=7))["discharge_notices"] == 1
    clock.at = program_ends
    assert _me(api, client)["discharge"] == {"reason": "program_ended", "at": z(program_ends)}
    assert run_sweep("discharges", program_ends)["discharged"] == 1
