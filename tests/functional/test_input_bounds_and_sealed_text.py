"""Hardening (issue 8): far-future dates are refused with 400, never a 500 later; a cancellation
reason is stored sealed, never readable in the table."""
import boto3

from chalicelib import wiring
from tests.functional.booking_world import WED_10_NY, book, scene


def test_a_booking_or_slot_list_in_the_year_9999_is_a_clear_400(world, api):
    sc = scene(world, api)
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": "9999-12-31T23:30:00Z"})
    assert (reply.status, reply.code) == (400, "validation_error")
    reply = api.get(f"/providers/{sc.provider.id}/slots?from=9999-12-31T00:00:00Z", sc.client)
    assert (reply.status, reply.code) == (400, "validation_error")
    booking = book(api, sc)
    reply = api.post(f"/bookings/{booking['id']}/reschedule", sc.client, {"starts_at": "9999-12-31T23:30:00Z"})
    assert (reply.status, reply.code) == (400, "validation_error")


def test_a_plan_anchored_in_the_year_9999_is_refused_and_the_profile_still_reads(world, api, cognito):
    sc = scene(world, api)
    ops = cognito.ops()
    reply = api.put(f"/ops/clients/{sc.client.id}/plan", ops,
                    {"kind": "subscription", "live_credits": 4, "messaging_credits": None, "session_price_cents": 9000,
                     "period_anchor": "9999-12-01"})
    assert (reply.status, reply.code) == (400, "validation_error")
    assert api.get("/clients/me", sc.client).status == 200


def test_a_cancellation_reason_is_stored_sealed(world, api):
    sc = scene(world, api)
    booking = book(api, sc, WED_10_NY)
    marker = "MARKER-my-divorce-hearing"
    assert api.post(f"/bookings/{booking['id']}/cancel", sc.client, {"reason": marker}).status == 200
    s = wiring.settings()
    raw = boto3.client("dynamodb", region_name=s.region, endpoint_url=s.endpoint_url).get_item(
        TableName=s.table("bookings"), Key={"id": {"S": booking["id"]}}, ConsistentRead=True)["Item"]
    assert "B" in raw["cancel_reason"] and marker.encode() not in raw["cancel_reason"]["B"]
    assert marker not in repr(raw)


class _Recording:
    def __init__(self):
        self.sent = []

    def send(self, to, subject, text, html, files=()):
        self.sent.append((to, subject, [f[2] for f in files]))


def test_an_email_goes_to_the_profile_address_as_it_is_when_sent(world, api):
    from chalicelib.store.models import UserModel

    sc = scene(world, api)
    booking = book(api, sc, WED_10_NY)
    profile = UserModel.get(sc.client.id)
    profile.update(actions=[UserModel.email.set("moved@haven.example")])  # verified elsewhere, say
    mailer = _Recording()
    wiring.override("mailer", mailer)
    assert api.post(f"/bookings/{booking['id']}/confirm", sc.provider).status == 200
    to_client = [(to, files) for to, subject, files in mailer.sent if to == "moved@haven.example"]
    assert len(to_client) == 1 and b"moved@haven.example" in to_client[0][1][0]  # the invitation's attendee
    assert sc.client.email not in [to for to, _, _ in mailer.sent]


def test_a_provider_sees_their_clients_name_and_nobody_else_does(world, api):
    from chalicelib.store.models import UserModel

    sc = scene(world, api)
    booking = book(api, sc, WED_10_NY)
    name = UserModel.get(sc.client.id).name
    for path in (f"/rooms/{sc.room_id}", f"/bookings/{booking['id']}"):
        assert api.get(path, sc.provider).json["client_name"] == name
        assert "client_name" not in api.get(path, sc.client).json
    assert [r["client_name"] for r in api.get("/rooms", sc.provider).json["items"]] == [name]
    assert [b["client_name"] for b in api.get("/bookings", sc.provider).json["items"]] == [name]
    assert "client_name" not in api.get("/bookings", sc.client).json["items"][0]
