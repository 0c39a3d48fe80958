"""Held proposals go through the one guard (SPEC §2 "Session requests"): a proposed time occupies
the provider's and the client's time exactly like a booking, all or nothing, until the request
ends. Proven as the booking guard is: by forcing the interleaving (a rival commits between this
request's reads and its transaction, injected through `wiring.override("before_booking_commit")`)."""
from datetime import timedelta

from chalicelib import wiring
from tests.functional.booking_world import book, credits, scene, z
from tests.functional.pathways_world import THU_14_NY, WED_10_NY, ask, mails, propose, request_status


def _once(action):
    done = []

    def hook(stage, **info):
        if not done:
            done.append(stage)
            wiring.override("before_booking_commit", lambda stage, **info: None)
            action()
    return hook


def _rival(world, api, sc):
    rival = world.client()
    world.room(rival, sc.provider)
    world.plan(rival)
    return rival


def test_a_held_time_cannot_be_booked_by_anyone(world, api):
    sc = scene(world, api)
    rival = _rival(world, api, sc)
    asked = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, asked["id"], WED_10_NY)
    for user, body in ((rival, {"provider_id": sc.provider.id}), (sc.provider, {"client_id": rival.id}),
                       (sc.client, {"provider_id": sc.provider.id})):
        reply = api.post("/bookings", user, {**body, "modality": "video", "starts_at": z(WED_10_NY)})
        assert (reply.status, reply.code) == (409, "slot_taken"), user.role
    overlapping = api.post("/bookings", rival, {"provider_id": sc.provider.id, "modality": "video",
                                               "starts_at": z(WED_10_NY + timedelta(minutes=30))})
    assert overlapping.code == "slot_taken"
    assert credits(api, rival) == 4


def test_a_proposal_over_a_held_or_booked_time_is_refused_whole_and_holds_nothing(world, api):
    sc = scene(world, api)
    rival = _rival(world, api, sc)
    mine = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, mine["id"], WED_10_NY)
    theirs = ask(api, rival, sc.provider.id)
    reply = api.post(f"/session-requests/{theirs['id']}/proposals", sc.provider,
                     {"starts_at": [z(THU_14_NY), z(WED_10_NY)]})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert reply.json["error"]["details"]["taken"] == [z(WED_10_NY)]
    assert request_status(api, rival, theirs["id"]) == "requested"
    assert book(api, sc, THU_14_NY, by="provider")["status"] == "confirmed"  # Thursday was not held


def test_a_booking_committed_between_the_proposals_reads_and_its_transaction_makes_it_slot_taken(world, api):
    sc = scene(world, api)
    rival = _rival(world, api, sc)
    asked = ask(api, sc.client, sc.provider.id)

    def rival_books():
        reply = api.post("/bookings", rival, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY)})
        assert reply.status == 201, reply.json

    wiring.override("before_booking_commit", _once(rival_books))
    reply = api.post(f"/session-requests/{asked['id']}/proposals", sc.provider,
                     {"starts_at": [z(WED_10_NY), z(THU_14_NY)]})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert reply.json["error"]["details"]["taken"] == [z(WED_10_NY)]
    seen = api.get(f"/session-requests/{asked['id']}", sc.client).json
    assert (seen["status"], seen["proposals"]) == ("requested", [])
    assert [b["client_id"] for b in api.get("/bookings", sc.provider).json["items"]] == [rival.id]
    assert book(api, sc, THU_14_NY)["status"] == "pending"  # nothing was held


def test_a_proposal_committed_between_a_bookings_reads_and_its_transaction_makes_it_slot_taken(world, api):
    sc = scene(world, api)
    rival = _rival(world, api, sc)
    asked = ask(api, sc.client, sc.provider.id)

    def provider_proposes():
        propose(api, sc.provider, asked["id"], WED_10_NY)

    wiring.override("before_booking_commit", _once(provider_proposes))
    reply = api.post("/bookings", rival, {"provider_id": sc.provider.id, "modality": "video",
                                          "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert request_status(api, sc.client, asked["id"]) == "proposed"
    assert credits(api, rival) == 4


def test_acceptance_hands_the_held_time_to_the_booking_in_one_transaction(world, api):
    from chalicelib.store.models import ClaimModel

    sc = scene(world, api)
    asked = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, asked["id"], WED_10_NY, THU_14_NY)
    held = {c.id: c.booking_id for c in ClaimModel.scan()}
    assert set(held.values()) == {asked["id"]} and len(held) == 9  # 2 members × 2 granules × 2 times + the lock
    seen = []

    def look_at_the_claims():  # between the acceptance's reads and its transaction: still the request's
        seen.extend(c.booking_id for c in ClaimModel.scan())

    wiring.override("before_booking_commit", _once(look_at_the_claims))
    booking = api.post(f"/session-requests/{asked['id']}/accept", sc.client, {"starts_at": z(WED_10_NY)}).json
    assert set(seen) == {asked["id"]}
    after = {c.id: c.booking_id for c in ClaimModel.scan()}
    assert set(after.values()) == {booking["id"]} and len(after) == 4 and set(after) <= set(held)


def test_a_lapsed_proposal_gives_its_time_back_when_a_booking_needs_it_before_any_sweep(world, api, clock):
    sc = scene(world, api)
    rival = _rival(world, api, sc)
    asked = ask(api, sc.client, sc.provider.id)
    propose(api, sc.provider, asked["id"], THU_14_NY)  # accept_by: Wed 09:00Z
    clock.at = WED_10_NY - timedelta(hours=6)
    reply = api.post("/bookings", sc.provider, {"client_id": rival.id, "modality": "video",
                                                "starts_at": z(THU_14_NY)})
    assert reply.status == 201, reply.json
    assert request_status(api, sc.client, asked["id"]) == "lapsed"
    assert len(mails(sc.client.email, "were released")) == 1
    from tests.functional.booking_world import run_sweep

    assert run_sweep("deadlines", clock.at)["requests_lapsed"] == 0  # already persisted, told once
    assert len(mails(sc.client.email, "were released")) == 1


def test_a_second_request_from_the_same_client_is_refused_even_when_the_reads_race(world, api):
    sc = scene(world, api)
    second = {}

    def other_tab_asks():
        second["request"] = ask(api, sc.client, sc.provider.id)

    wiring.override("before_booking_commit", _once(other_tab_asks))
    reply = api.post("/session-requests", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                                      "preferred": [{"date": "2026-11-25", "part": "evening"},
                                                                    {"date": "2026-11-26", "part": "morning"},
                                                                    {"date": "2026-11-27", "part": "morning"}]})
    assert (reply.status, reply.code) == (409, "already_active")
    assert [r["id"] for r in api.get("/session-requests", sc.client).json["items"]] == [second["request"]["id"]]
