"""Session requests, "share your availability" (SPEC §2): asking, proposing, accepting, declining,
withdrawing, and every refusal with its code."""
from datetime import timedelta

from tests.functional.booking_world import book, credits, outbox, scene, z
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
    assert sorted(n.to for n in confirmed) == sorted([sc.client.email, sc.provider.email])
    assert all(n.params.get("_attachments") for n in confirmed)  # the .ics invitation
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
