"""Referral programs (SPEC §2 "Care pathways: referral programs"): ops issue and reissue referrals,
the person gets the code by email (and nowhere else), a client redeems it, and the program's rules
apply to their sessions."""
from datetime import datetime, timedelta, timezone

from tests.functional.booking_world import z
from tests.functional.pathways_world import (
    CODE, WED_10_NY, code_from_email, issue, prescriptions, provider, referral_client, sent,
)


def _redeem(api, client, code):
    reply = api.post("/clients/me/referral", client, {"code": code})
    return reply.status, reply.code, reply.json


def test_ops_issue_a_referral_and_only_the_email_carries_the_code(world, api, stack):
    from chalicelib.store.models import NotificationModel, ReferralModel

    person = "Sam.Person@example.com"
    referral = issue(api, world.ops, person, sessions=6, modalities=["audio", "video"], referrer="Dr. Gray, GP")
    assert referral == {"id": referral["id"], "email": person, "sessions": 6, "modalities": ["video", "audio"],
                        "referrer": "Dr. Gray, GP", "status": "issued", "issued_at": "2026-11-23T09:00:00Z",
                        "redeem_by": "2026-12-23T09:00:00Z"}
    [email] = prescriptions(person)  # the real mail SES accepted
    code = CODE.findall(email["body"])[0]
    assert code == code_from_email(person)
    assert len(code.replace("-", "")) == 16 and "POST /clients/me/referral" in email["body"]
    assert "Dr. Gray, GP" in email["body"] and "2026" in email["body"]
    stored = [item.attribute_values for item in ReferralModel.scan()] + \
             [item.attribute_values for item in NotificationModel.scan()]
    assert code not in repr(stored) and code.replace("-", "") not in repr(stored)  # only a hash is kept


def test_what_ops_may_issue(world, api):
    for body in ({"sessions": 0}, {"sessions": 21}, {"modalities": []}, {"modalities": ["phone"]},
                 {"email": "not-an-email"}):
        reply = api.post("/ops/referrals", world.ops, {"email": "a@example.com", "sessions": 3,
                                                       "modalities": ["video"], **body})
        assert (reply.status, reply.code) == (400, "validation_error"), body
    client = world.client()
    assert api.post("/ops/referrals", client, {"email": "a@example.com", "sessions": 3,
                                               "modalities": ["video"]}).status == 403


def test_redeeming_replaces_the_plan_with_the_program_and_its_own_count(world, api):
    client = world.client()
    world.plan(client, kind="eap", live_credits=3, messaging_credits=2, period_anchor=None)
    therapist = provider(world, api)
    world.room(client, therapist)
    booked = api.post("/bookings", therapist, {"client_id": client.id, "modality": "video", "starts_at": z(WED_10_NY)})
    assert booked.status == 201 and api.get("/clients/me", client).json["credits"]["live"] == 2
    issue(api, world.ops, client.email.upper(), sessions=5, modalities=["video"])  # emails compare ignoring case
    typed = code_from_email(client.email.upper()).lower().replace("-", " ")  # case, spaces and hyphens don't matter
    status, code, me = _redeem(api, client, typed)
    assert status == 200, me
    assert me["plan"]["kind"] == "referral" and me["plan"]["modalities"] == ["video"]
    assert me["plan"]["program_ends_at"] == "2027-05-23T09:00:00Z"
    assert me["credits"] == {"live": 5, "messaging": 0}  # usage of the earlier plan does not carry over
    assert me["status"] == "active" and me["discharge"] is None


def test_redemption_refusals_in_spec_order(world, api, clock):
    client, other = world.client(), world.client()
    issue(api, world.ops, client.email)
    code = code_from_email(client.email)
    assert _redeem(api, client, "K7QM-2D9X-HP4T-WC8R")[:2] == (404, "not_found")
    assert _redeem(api, client, "not a code")[:2] == (404, "not_found")
    assert _redeem(api, other, code)[:2] == (404, "not_found")  # issued to another email
    clock.at = datetime(2026, 12, 23, 9, 0, tzinfo=timezone.utc)  # redeem_by itself
    assert _redeem(api, client, code)[:2] == (410, "code_expired")
    assert _redeem(api, other, code)[:2] == (404, "not_found")
    clock.at = datetime(2026, 12, 23, 8, 59, 59, tzinfo=timezone.utc)
    assert _redeem(api, client, code)[0] == 200
    assert _redeem(api, client, code)[:2] == (409, "already_used")
    issue(api, world.ops, client.email)
    assert _redeem(api, client, code_from_email(client.email))[:2] == (409, "already_active")
    unregistered = world.cognito.sign_up()
    issue(api, world.ops, unregistered.email)
    assert _redeem(api, unregistered, code_from_email(unregistered.email))[:2] == (404, "not_found")


def test_a_bad_referral_code_refuses_the_whole_registration(world, api):
    user = world.cognito.sign_up()
    profile = {"name": "Riley", "date_of_birth": "1990-04-21", "timezone": "America/New_York", "region": "US-NY",
               "languages": ["en"]}
    reply = api.post("/clients/me", user, {**profile, "referral_code": "K7QM-2D9X-HP4T-WC8R"})
    assert (reply.status, reply.code) == (404, "not_found")
    assert api.get("/clients/me", user).status == 404  # nothing was registered
    issue(api, world.ops, user.email, sessions=3)
    reply = api.post("/clients/me", user, {**profile, "referral_code": code_from_email(user.email)})
    assert reply.status == 200 and reply.json["plan"]["kind"] == "referral" and reply.json["credits"]["live"] == 3


def test_ops_reissue_an_issued_referral_with_a_new_code_the_old_one_void(world, api, clock):
    client = world.client()
    referral = issue(api, world.ops, client.email)
    old = code_from_email(client.email)
    clock.advance(days=10)
    reply = api.post(f"/ops/referrals/{referral['id']}/reissue", world.ops)
    assert reply.status == 200 and reply.json["redeem_by"] == "2027-01-02T09:00:00Z"
    assert set(reply.json) == set(referral) and CODE.search(str(reply.json)) is None
    new = code_from_email(client.email)
    assert new != old and len([m for m in sent(client.email) if m["template"] == "referral_prescription"]) == 2
    assert _redeem(api, client, old)[:2] == (404, "not_found")
    assert _redeem(api, client, new)[0] == 200
    again = api.post(f"/ops/referrals/{referral['id']}/reissue", world.ops)
    assert (again.status, again.code, again.json["error"]["details"]["state"]) == (409, "invalid_state", "redeemed")
    assert api.post("/ops/referrals/ref_unknown/reissue", world.ops).status == 404


def test_plans_of_kind_referral_come_only_from_codes(world, api):
    client = world.client()
    reply = api.put(f"/ops/clients/{client.id}/plan", world.ops, {"kind": "referral", "live_credits": 4})
    assert (reply.status, reply.code) == (400, "validation_error")


def test_the_program_ends_six_calendar_months_later_and_31_august_ends_on_29_february(world, api, clock):
    clock.at = datetime(2027, 8, 31, 12, 0, tzinfo=timezone.utc)
    client, _ = referral_client(world, api)
    assert api.get("/clients/me", client).json["plan"]["program_ends_at"] == "2028-02-29T12:00:00Z"


def test_sessions_follow_the_referral_modalities_program_end_and_no_purchases(world, api, clock):
    client, _ = referral_client(world, api, sessions=1, modalities=("video",))
    therapist = provider(world, api, windows=[{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)])
    world.room(client, therapist)

    def book(starts, modality="video", **extra):
        reply = api.post("/bookings", client, {"provider_id": therapist.id, "modality": modality,
                                               "starts_at": z(starts), **extra})
        return reply.status, reply.code

    assert book(WED_10_NY, "audio") == (400, "modality_not_allowed")
    assert book(WED_10_NY)[0] == 201
    assert book(WED_10_NY + timedelta(days=1), purchase=True) == (402, "no_credit")  # no purchases
    clock.at = datetime(2027, 5, 20, 9, 0, tzinfo=timezone.utc)
    assert book(datetime(2027, 5, 23, 9, 0, tzinfo=timezone.utc)) == (400, "after_program_end")


def test_a_late_cancellation_forfeits_the_session_and_charges_nothing(world, api, clock):
    from chalicelib.store import ledger

    client, _ = referral_client(world, api, sessions=2, modalities=("video",))
    therapist = provider(world, api)
    world.room(client, therapist)
    booking = api.post("/bookings", therapist, {"client_id": client.id, "modality": "video",
                                                "starts_at": z(WED_10_NY)}).json
    clock.at = WED_10_NY - timedelta(hours=2)
    assert api.post(f"/bookings/{booking['id']}/cancel", client).json["status"] == "late_cancelled"
    assert api.get("/clients/me", client).json["credits"]["live"] == 1
    assert ledger.charges(client.id) == []
