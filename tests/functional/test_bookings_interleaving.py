"""The guard, proven by forcing the interleaving: a competing booking commits between this
request's reads and its transaction (injected through `wiring.override`), and the transaction
must refuse. moto serialises requests, so racing threads alone prove nothing here."""
from datetime import timedelta

from chalicelib import wiring
from tests.functional.booking_world import WED_10_NY, credits, scene, z


def _once(action):
    done = []

    def hook(stage, **info):
        if not done:
            done.append(stage)
            action()
    return hook


def test_a_competing_booking_between_reads_and_transaction_makes_it_slot_taken(world, api):
    sc = scene(world, api)
    rival = world.client()
    world.room(rival, sc.provider)
    world.plan(rival)

    def rival_books():
        wiring.override("before_booking_commit", lambda stage, **info: None)
        reply = api.post("/bookings", rival, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY)})
        assert reply.status == 201, reply.json

    wiring.override("before_booking_commit", _once(rival_books))
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert credits(api, sc.client) == 4 and credits(api, rival) == 3
    assert [b["client_id"] for b in api.get("/bookings", sc.provider).json["items"]] == [rival.id]


def test_a_competing_spend_of_the_last_credit_makes_it_no_credit(world, api):
    sc = scene(world, api, plan={"live_credits": 1})

    def other_tab_books():
        wiring.override("before_booking_commit", lambda stage, **info: None)
        reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                                  "starts_at": z(WED_10_NY + timedelta(hours=2))})
        assert reply.status == 201, reply.json

    wiring.override("before_booking_commit", _once(other_tab_books))
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (402, "no_credit")
    assert credits(api, sc.client) == 0
    assert len(api.get("/bookings", sc.client).json["items"]) == 1


def test_a_competing_booking_during_a_reschedule_makes_it_slot_taken(world, api):
    sc = scene(world, api, plan={"live_credits": 4})
    mine = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                             "starts_at": z(WED_10_NY)}).json
    target = z(WED_10_NY + timedelta(hours=3))

    def provider_fills_it():
        wiring.override("before_booking_commit", lambda stage, **info: None)
        reply = api.post("/bookings", sc.provider, {"client_id": sc.client.id, "modality": "video",
                                                    "starts_at": target})
        assert reply.status == 201, reply.json

    wiring.override("before_booking_commit", _once(provider_fills_it))
    reply = api.post(f"/bookings/{mine['id']}/reschedule", sc.client, {"starts_at": target})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert api.get(f"/bookings/{mine['id']}", sc.client).json["status"] == "pending"
    assert credits(api, sc.client) == 2
