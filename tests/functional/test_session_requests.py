"""Session requests, "share your availability" (SPEC §2): asking, proposing, accepting, declining,
withdrawing, and every refusal with its code."""
from datetime import timedelta

from tests.functional.booking_world import address, book, credits, outbox, scene, z
from tests.functional.pathways_world import (
    PREFERRED, THU_14_NY, WED_10_NY, WED_11_NY, ask, mails, propose, provider, referral_client, request_status,
)


def _slots(api, client, provider_id, start, end):
    reply = api.get(f"/providers/{provider_id}/slots?from={z(start)}&to={z(end)}", client)
    assert reply.status == 200, reply.json
    return [s["starts_at"] for s in reply.json["items"]]


def test_a_client_asks_the_provider_proposes_the_client_accepts_a_confirmed_booking(world, api):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id, note="Evenings are hard for me this week.")
    assert asked["status"] == "requested" and asked["respond_by"] == "2026-11-25T09:00:00Z"
    assert asked["preferred"] == PREFERRED and asked["proposals"] == [] and asked["note"].startswith("Evenings")
    seen = api.get(f"/session-requests/{asked['id']}", sc.provider).json
    assert seen["client_name"] == "Alex Client" and seen["note"] == "Evenings are hard for me this week."
    assert "client_name" not in api.get(f"/session-requests/{asked['id']}", sc.client).json
    received = mails(sc.provider.email, "New session request")
    assert len(received) == 1 and "Wed 25 Nov 2026, 08:00 to 12:00 (America/New_York)" in received[0]["body"]
    assert "Evenings" not in received[0]["body"]  # the note never reaches an email

    proposed = propose(api, sc.provider, asked["id"], WED_10_NY, THU_14_NY)
    assert proposed["status"] == "proposed"
    assert proposed["proposals"] == [{"starts_at": z(WED_10_NY), "ends_at": z(WED_10_NY + timedelta(minutes=45))},
                                     {"starts_at": z(THU_14_NY), "ends_at": z(THU_14_NY + timedelta(minutes=45))}]
    assert proposed["accept_by"] == "2026-11-25T09:00:00Z"  # min(now + 48 h, latest start − 1 h)
    assert len(mails(sc.client.email, "proposed session times")) == 1
    held = _slots(api, sc.client, sc.provider.id, WED_10_NY - timedelta(hours=1), WED_10_NY + timedelta(hours=2))
    assert z(WED_10_NY) not in held and z(WED_11_NY) in held  # a held time is not offered

    reply = api.post(f"/session-requests/{asked['id']}/accept", sc.client, {"starts_at": z(THU_14_NY)})
    assert reply.status == 201, reply.json
    booking = reply.json
    assert booking["status"] == "confirmed" and booking["starts_at"] == z(THU_14_NY)
    assert credits(api, sc.client) == 3
    after = api.get(f"/session-requests/{asked['id']}", sc.client).json
    assert after["status"] == "accepted" and after["booking_id"] == booking["id"]
    confirmed = outbox("booking_confirmed")
    assert sorted(address(n) for n in confirmed) == sorted([sc.client.email, sc.provider.email])
    assert all(n.params.get("_ics", {}).get("method") == "REQUEST" for n in confirmed)  # the .ics invitation
    assert z(WED_10_NY) in _slots(api, sc.client, sc.provider.id, WED_10_NY - timedelta(hours=1),
                                  WED_10_NY + timedelta(hours=2))  # the other held time is free again


def test_a_referral_client_asks_a_provider_they_share_no_room_with_and_acceptance_opens_a_room(world, api):
    client, _ = referral_client(world, api, sessions=2, modalities=("video",))
    therapist = provider(world, api)
    asked = ask(api, client, therapist.id)
    propose(api, therapist, asked["id"], WED_10_NY)
    assert api.get("/clients/me", client).json["rooms"] == []
    reply = api.post(f"/session-requests/{asked['id']}/accept", client, {"starts_at": z(WED_10_NY)})
    assert reply.status == 201, reply.json
    rooms = api.get("/clients/me", client).json["rooms"]
    assert [r["provider_id"] for r in rooms] == [therapist.id] and reply.json["room_id"] == rooms[0]["id"]
    assert api.get("/clients/me", client).json["credits"]["live"] == 1


# --- asking: each refusal with its code ---------------------------------------------------------------

def _ask_code(api, client, provider_id, preferred=None, modality="video"):
    body = {"provider_id": provider_id, "modality": modality, "preferred": preferred or PREFERRED}
    reply = api.post("/session-requests", client, body)
    return reply.status, reply.code


def test_exactly_three_distinct_preferred_times(world, api):
    sc = scene(world, api)
    assert _ask_code(api, sc.client, sc.provider.id, PREFERRED[:2]) == (400, "validation_error")
    assert _ask_code(api, sc.client, sc.provider.id, [PREFERRED[0], PREFERRED[0], PREFERRED[1]]) \
        == (400, "validation_error")
    assert _ask_code(api, sc.client, sc.provider.id, [*PREFERRED[:2], {"date": "2026-11-27", "part": "night"}]) \
        == (400, "validation_error")


def test_each_part_must_begin_24_hours_ahead_within_60_days_and_the_plans_horizon(world, api):
    sc = scene(world, api, plan={"kind": "eap", "live_credits": 4, "messaging_credits": 0, "period_anchor": None})
    monday_evening = {"date": "2026-11-23", "part": "evening"}   # 22:00Z today: 13 h ahead
    tuesday_morning = {"date": "2026-11-24", "part": "morning"}  # 13:00Z tomorrow: 28 h ahead
    assert _ask_code(api, sc.client, sc.provider.id, [monday_evening, *PREFERRED[:2]]) == (400, "too_soon")
    day_60 = {"date": "2027-01-22", "part": "morning"}  # 2027-01-22T13:00Z: more than 60 days
    assert _ask_code(api, sc.client, sc.provider.id, [*PREFERRED[:2], day_60]) == (400, "too_far")
    subscriber = scene(world, api)  # subscription anchored on the 1st: bookable until 2027-01-01 (NY)
    january = {"date": "2027-01-04", "part": "morning"}
    assert _ask_code(api, subscriber.client, subscriber.provider.id, [*PREFERRED[:2], january]) == (400, "too_far")
    assert ask(api, sc.client, sc.provider.id, preferred=[tuesday_morning, *PREFERRED[:2]])["status"] == "requested"


def test_no_plan_no_credit_and_one_open_request_per_client(world, api):
    planless = scene(world, api, plan=False)
    assert _ask_code(api, planless.client, planless.provider.id) == (402, "no_plan")
    spent = scene(world, api, plan={"live_credits": 0})
    assert _ask_code(api, spent.client, spent.provider.id) == (402, "no_credit")
    sc = scene(world, api)
    first = ask(api, sc.client, sc.provider.id)
    assert _ask_code(api, sc.client, sc.provider.id) == (409, "already_active")
    assert api.post(f"/session-requests/{first['id']}/withdraw", sc.client).json["status"] == "withdrawn"
    assert ask(api, sc.client, sc.provider.id)["status"] == "requested"


def test_whom_a_client_may_ask(world, api):
    sc = scene(world, api)
    stranger = provider(world, api)
    assert _ask_code(api, sc.client, stranger.id) == (403, "not_your_provider")
    assert _ask_code(api, sc.client, "no-such-provider") == (404, "not_found")
    psychiatry = scene(world, api, kind="psychiatrist")
    assert _ask_code(api, psychiatry.client, psychiatry.provider.id, modality="audio") == (400, "modality_not_allowed")


def test_a_referral_client_may_ask_any_fitting_provider_checked_at_request_time(world, api):
    client, _ = referral_client(world, api, modalities=("video", "audio"))
    assert _ask_code(api, client, provider(world, api, licensed_regions=["GB"]).id) == (400, "not_licensed")
    assert _ask_code(api, client, provider(world, api, languages=["fr"]).id) == (400, "language_mismatch")
    assert _ask_code(api, client, provider(world, api, capacity=0).id) == (400, "at_capacity")
    fitting = provider(world, api)
    assert _ask_code(api, client, fitting.id, modality="chat") == (400, "modality_not_allowed")
    assert _ask_code(api, client, provider(world, api, kind="psychiatrist").id) == (403, "not_your_provider")
    assert ask(api, client, fitting.id, modality="audio")["status"] == "requested"


# --- the provider's answer -----------------------------------------------------------------------------

def test_proposals_are_checked_in_spec_order(world, api, clock):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)

    def code(*starts):
        reply = api.post(f"/session-requests/{asked['id']}/proposals", sc.provider, {"starts_at": [z(s) for s in starts]})
        return reply.status, reply.code

    assert code(WED_10_NY, WED_10_NY + timedelta(minutes=30)) == (400, "validation_error")  # they overlap
    assert code() == (400, "validation_error")
    assert code(WED_10_NY, WED_11_NY, THU_14_NY, THU_14_NY + timedelta(hours=1)) == (400, "validation_error")
    assert code(WED_10_NY + timedelta(minutes=15)) == (400, "not_on_slot")
    assert code(WED_10_NY + timedelta(hours=3)) == (400, "not_preferred")  # Wed 13:00 NY: afternoon, not asked for
    clock.at = WED_10_NY - timedelta(hours=10)  # still before respond_by (Wed 09:00Z)
    assert code(WED_10_NY) == (400, "too_soon")
    assert code(THU_14_NY)[0] == 200
    assert code(THU_14_NY) == (409, "invalid_state")  # proposing is once


def test_a_request_past_respond_by_cannot_be_answered(world, api, clock):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    clock.at = WED_10_NY - timedelta(hours=6)  # Wed 09:00Z: respond_by itself
    reply = api.post(f"/session-requests/{asked['id']}/proposals", sc.provider, {"starts_at": [z(THU_14_NY)]})
    assert (reply.status, reply.code, reply.json["error"]["details"]["state"]) == (409, "invalid_state", "expired")
    assert api.post(f"/session-requests/{asked['id']}/decline", sc.provider).code == "invalid_state"
    assert request_status(api, sc.client, asked["id"]) == "expired"


def test_the_provider_declines_with_a_reason_sealed_at_rest_and_the_client_is_told(world, api):
    from chalicelib.store.models import SessionRequestModel

    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id, note="My note about my week")
    reply = api.post(f"/session-requests/{asked['id']}/decline", sc.provider, {"reason": "Fully booked that week"})
    assert reply.status == 200 and reply.json["status"] == "declined"
    seen = api.get(f"/session-requests/{asked['id']}", sc.client).json
    assert seen["reason"] == "Fully booked that week"
    stored = SessionRequestModel.get(asked["id"])
    assert b"Fully booked" not in stored.decline_reason and b"My note" not in stored.note  # encrypted at rest
    told = mails(sc.client.email, "was declined")
    assert len(told) == 1 and "Fully booked" not in told[0]["body"]
    again = api.post(f"/session-requests/{asked['id']}/decline", sc.provider)
    assert (again.status, again.code) == (409, "invalid_state")


def test_a_proposed_request_cannot_be_declined_but_may_be_withdrawn_which_frees_its_times(world, api):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, asked["id"], WED_10_NY)
    assert api.post(f"/session-requests/{asked['id']}/decline", sc.provider).code == "invalid_state"
    withdrawn = api.post(f"/session-requests/{asked['id']}/withdraw", sc.client)
    assert withdrawn.status == 200 and withdrawn.json["status"] == "withdrawn"
    assert len(mails(sc.provider.email, "withdrawn")) == 1
    assert book(api, sc, WED_10_NY)["status"] == "pending"  # the held time is free again
    assert api.post(f"/session-requests/{asked['id']}/withdraw", sc.client).code == "invalid_state"


# --- accepting -------------------------------------------------------------------------------------------

def test_acceptance_rules(world, api, clock):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    clock.at = WED_10_NY - timedelta(hours=14)  # Wed 01:00Z: accept_by = Thu 19:00Z − 1 h
    proposed = propose(api, sc.provider, asked["id"], WED_10_NY, THU_14_NY)
    assert proposed["accept_by"] == "2026-11-26T18:00:00Z"

    def accept(starts):
        reply = api.post(f"/session-requests/{asked['id']}/accept", sc.client, {"starts_at": z(starts)})
        return reply.status, reply.code

    assert accept(WED_11_NY) == (400, "validation_error")  # not one of the proposals
    clock.at = WED_10_NY - timedelta(minutes=59)
    assert accept(WED_10_NY) == (400, "too_soon")  # less than 1 h before it starts
    assert accept(THU_14_NY)[0] == 201
    assert accept(THU_14_NY) == (409, "invalid_state")


def test_a_proposal_not_accepted_by_accept_by_has_lapsed(world, api, clock):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    proposed = propose(api, sc.provider, asked["id"], WED_10_NY)
    clock.at = WED_10_NY - timedelta(hours=6)  # accept_by: Wed 09:00Z
    assert proposed["accept_by"] == z(clock.at)
    reply = api.post(f"/session-requests/{asked['id']}/accept", sc.client, {"starts_at": z(WED_10_NY)})
    assert (reply.status, reply.json["error"]["details"]["state"]) == (409, "lapsed")


def test_no_credit_at_acceptance_unless_bought_and_never_bought_on_a_referral_plan(world, api):
    sc = scene(world, api, plan={"live_credits": 1})
    asked = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, asked["id"], WED_10_NY)
    book(api, sc, THU_14_NY)  # the last credit goes to a booking meanwhile
    url = f"/session-requests/{asked['id']}/accept"
    assert api.post(url, sc.client, {"starts_at": z(WED_10_NY)}).code == "no_credit"
    bought = api.post(url, sc.client, {"starts_at": z(WED_10_NY), "purchase": True})
    assert bought.status == 201 and bought.json["purchased"] is True

    client, _ = referral_client(world, api, sessions=1, modalities=("video",))
    therapist = provider(world, api)
    world.room(client, therapist)
    asked = ask(api, client, therapist.id)
    propose(api, therapist, asked["id"], WED_10_NY)
    reply = api.post("/bookings", client, {"provider_id": therapist.id, "modality": "video", "starts_at": z(THU_14_NY)})
    assert reply.status == 201, reply.json
    refused = api.post(f"/session-requests/{asked['id']}/accept", client, {"starts_at": z(WED_10_NY), "purchase": True})
    assert (refused.status, refused.code) == (402, "no_credit")


# --- reading -------------------------------------------------------------------------------------------

def test_members_list_their_requests_newest_first_by_status_and_others_see_nothing(world, api, clock):
    sc = scene(world, api)
    first = ask(api, sc.client, sc.provider.id)
    api.post(f"/session-requests/{first['id']}/withdraw", sc.client)
    clock.advance(minutes=1)
    second = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, second["id"], WED_10_NY)
    for member in (sc.client, sc.provider):
        items = api.get("/session-requests", member).json["items"]
        assert [r["id"] for r in items] == [second["id"], first["id"]]
    page = api.get("/session-requests?limit=1", sc.provider).json
    assert [r["id"] for r in page["items"]] == [second["id"]] and page["next"]
    rest = api.get(f"/session-requests?limit=1&next={page['next']}", sc.provider).json
    assert [r["id"] for r in rest["items"]] == [first["id"]] and rest["next"] is None
    assert [r["id"] for r in api.get("/session-requests?status=withdrawn", sc.client).json["items"]] == [first["id"]]
    other = world.client()
    assert api.get("/session-requests", other).json["items"] == []
    assert api.get(f"/session-requests/{second['id']}", other).status == 404


def test_a_change_of_provider_ends_open_requests_as_provider_unavailable(world, api):
    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, asked["id"], WED_10_NY)
    newcomer = provider(world, api)
    world.room(sc.client, newcomer)  # ops hand the room to another therapist
    seen = api.get(f"/session-requests/{asked['id']}", sc.client).json
    assert (seen["status"], seen["reason"]) == ("declined", "provider_unavailable")
    assert len(mails(sc.client.email, "has ended")) == 1
    assert credits(api, sc.client) == 4
    rival = world.client()
    world.room(rival, sc.provider)
    world.plan(rival)
    reply = api.post("/bookings", rival, {"provider_id": sc.provider.id, "modality": "video", "starts_at": z(WED_10_NY)})
    assert reply.status == 201, reply.json  # the time the request held is free


def test_a_new_york_client_and_a_london_provider_across_the_dst_change(world, api, clock):
    from datetime import datetime, timezone

    clock.at = datetime(2027, 3, 10, 9, 0, tzinfo=timezone.utc)  # New York moves to EDT on Sun 14 March
    sc = scene(world, api)
    london = provider(world, api, tz="Europe/London", licensed_regions=["US-NY"])
    world.room(sc.client, london)  # hands the client's therapist room to the London therapist
    preferred = [{"date": "2027-03-12", "part": "morning"}, {"date": "2027-03-15", "part": "morning"},
                 {"date": "2027-03-16", "part": "evening"}]
    asked = ask(api, sc.client, london.id, preferred=preferred)
    body = mails(london.email, "New session request")[0]["body"]
    assert "Fri 12 Mar 2027, 13:00 to 17:00 (Europe/London)" in body  # 08:00 EST
    assert "Mon 15 Mar 2027, 12:00 to 16:00 (Europe/London)" in body  # 08:00 EDT
    noon_friday = datetime(2027, 3, 12, 12, 0, tzinfo=timezone.utc)  # 07:00 in New York: before the morning
    noon_monday = datetime(2027, 3, 15, 12, 0, tzinfo=timezone.utc)  # 08:00 in New York: the morning's start
    reply = api.post(f"/session-requests/{asked['id']}/proposals", london, {"starts_at": [z(noon_friday)]})
    assert (reply.status, reply.code) == (400, "not_preferred")
    propose(api, london, asked["id"], noon_monday)
    assert "Mon 15 Mar 2027, 08:00 (America/New_York)" in mails(sc.client.email, "proposed session times")[0]["body"]
