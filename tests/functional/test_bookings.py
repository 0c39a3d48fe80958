"""Booking a live session: who may book what, when, and with which credit."""
from datetime import timedelta

from tests.functional.booking_world import address, calendar_of, WED_10_NY, book, credits, outbox, scene, z


def test_client_books_pending_with_confirm_by_24h_before(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    assert booking["status"] == "pending"
    assert booking["starts_at"] == "2026-11-25T15:00:00Z"
    assert booking["ends_at"] == "2026-11-25T15:45:00Z"
    assert booking["confirm_by"] == "2026-11-24T15:00:00Z"
    assert booking["client_id"] == sc.client.id and booking["provider_id"] == sc.provider.id
    assert credits(api, sc.client) == 3
    assert api.get(f"/bookings/{booking['id']}", sc.provider).json["status"] == "pending"
    requested = outbox("booking_requested")
    assert len(requested) == 1 and address(requested[0]) == sc.provider.email and requested[0].status == "sent"


def test_provider_books_for_client_confirmed_at_once_with_calendar_invites(world, api, clock):
    sc = scene(world, api)
    starts = clock() + timedelta(hours=6)  # 15:00Z, ≥ 1 h ahead is enough for a provider
    booking = book(api, sc, starts, by="provider")
    assert booking["status"] == "confirmed" and booking["confirm_by"] is None
    invites = outbox("booking_confirmed")
    assert sorted(address(n) for n in invites) == sorted([sc.client.email, sc.provider.email])
    ics = calendar_of(invites[0])
    assert "METHOD:REQUEST" in ics and "DTSTART:20261123T150000Z" in ics


def test_exactly_48_hours_ahead_is_admitted_and_a_minute_less_is_too_soon(world, api, clock):
    sc = scene(world, api, windows=[{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)])
    assert book(api, sc, clock() + timedelta(hours=48))["status"] == "pending"
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(clock() + timedelta(hours=47, minutes=30))})
    assert reply.status == 400 and reply.code == "too_soon"


def test_bad_times_are_refused_with_clear_codes(world, api, clock):
    sc = scene(world, api)
    cases = {
        z(clock() - timedelta(hours=1)): "in_the_past",
        z(WED_10_NY + timedelta(minutes=15)): "not_on_slot",
        z(WED_10_NY.replace(day=26, hour=3)): "outside_availability",  # 22:00 New York, outside 09–17
        "2026-11-25T15:00:00": "validation_error",  # no offset
        "tomorrow at ten": "validation_error",
    }
    for starts_at, code in cases.items():
        reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                                  "starts_at": starts_at})
        assert (reply.status, reply.code) == (400, code), (starts_at, reply.json)
    assert credits(api, sc.client) == 4


def test_bad_bodies_are_validation_errors(world, api):
    sc = scene(world, api)
    base = {"provider_id": sc.provider.id, "modality": "video", "starts_at": z(WED_10_NY)}
    for body in ({**base, "modality": "hologram"}, {**base, "extra": 1}, {**base, "purchase": "yes"},
                 {k: v for k, v in base.items() if k != "provider_id"}, {**base, "client_id": sc.client.id}):
        reply = api.post("/bookings", sc.client, body)
        assert (reply.status, reply.code) == (400, "validation_error"), (body, reply.json)
    reply = api.call("POST", "/bookings", sc.client, raw=b"{not json")
    assert (reply.status, reply.code) == (400, "validation_error")


def test_unknown_provider_is_404_and_a_stranger_is_not_your_provider(world, api):
    sc = scene(world, api)
    stranger = world.provider()
    reply = api.post("/bookings", sc.client, {"provider_id": "nobody", "modality": "video", "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (404, "not_found")
    reply = api.post("/bookings", sc.client, {"provider_id": stranger.id, "modality": "video",
                                              "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (403, "not_your_provider")


def test_provider_cannot_book_themselves_or_a_client_not_theirs(world, api, clock):
    sc = scene(world, api)
    other = world.client()
    starts = z(clock() + timedelta(hours=6))
    reply = api.post("/bookings", sc.provider, {"client_id": sc.provider.id, "modality": "video", "starts_at": starts})
    assert (reply.status, reply.code) == (400, "validation_error")
    reply = api.post("/bookings", sc.provider, {"provider_id": sc.provider.id, "client_id": sc.client.id,
                                                "modality": "video", "starts_at": starts})
    assert (reply.status, reply.code) == (400, "validation_error")
    reply = api.post("/bookings", sc.provider, {"client_id": other.id, "modality": "video", "starts_at": starts})
    assert (reply.status, reply.code) == (404, "not_found")


def test_psychiatry_is_video_only(world, api):
    sc = scene(world, api, kind="psychiatrist")
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "audio",
                                              "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (400, "modality_not_allowed")
    assert book(api, sc)["modality"] == "video"


def test_no_plan_is_402_no_plan(world, api):
    sc = scene(world, api, plan=False)
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (402, "no_plan")


def test_the_same_slot_cannot_be_booked_twice_nor_an_overlapping_one(world, api):
    sc = scene(world, api, plan={"live_credits": 10})
    book(api, sc)
    for starts in (WED_10_NY, WED_10_NY + timedelta(minutes=30)):
        reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                                  "starts_at": z(starts)})
        assert (reply.status, reply.code) == (409, "slot_taken")
    assert book(api, sc, WED_10_NY + timedelta(hours=1))["status"] == "pending"  # 11:00 is free
    assert credits(api, sc.client) == 8


def test_another_client_cannot_take_a_providers_booked_time(world, api):
    sc = scene(world, api)
    book(api, sc)
    other = world.client()
    world.room(other, sc.provider)  # the provider's second client (a therapist room)
    world.plan(other)
    reply = api.post("/bookings", other, {"provider_id": sc.provider.id, "modality": "video",
                                          "starts_at": z(WED_10_NY)})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert credits(api, other) == 4


def test_a_client_is_not_double_booked_across_two_providers(world, api):
    sc = scene(world, api, plan={"live_credits": 5})
    psychiatrist = world.provider(kind="psychiatrist")
    world.room(sc.client, psychiatrist)
    api.put("/providers/me/availability", psychiatrist, {"timezone": "America/New_York",
                                                         "windows": [{"weekday": d, "start": "09:00", "end": "17:00"}
                                                                     for d in range(7)]})
    book(api, sc)
    reply = api.post("/bookings", sc.client, {"provider_id": psychiatrist.id, "modality": "video",
                                              "starts_at": z(WED_10_NY + timedelta(minutes=30))})
    assert (reply.status, reply.code) == (409, "slot_taken")


def test_no_credit_is_402_and_purchase_charges_the_ledger(world, api):
    from chalicelib.store import ledger

    sc = scene(world, api, plan={"live_credits": 1, "session_price_cents": 9000})
    book(api, sc)
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY + timedelta(hours=1))})
    assert (reply.status, reply.code) == (402, "no_credit")
    bought = book(api, sc, WED_10_NY + timedelta(hours=1), purchase=True)
    assert bought["purchased"] is True
    charges = ledger.charges(sc.client.id)
    assert [(c.amount_cents, c.ref_id) for c in charges] == [(9000, bought["id"])]
    assert credits(api, sc.client) == 0


def test_purchase_uses_a_credit_when_one_is_left(world, api):
    from chalicelib.store import ledger

    sc = scene(world, api, plan={"live_credits": 2, "session_price_cents": 9000})
    booking = book(api, sc, purchase=True)
    assert booking["purchased"] is False and ledger.charges(sc.client.id) == []
    assert credits(api, sc.client) == 1


def test_subscription_draws_from_the_period_the_session_starts_in_and_reaches_only_the_next(world, api):
    sc = scene(world, api, plan={"live_credits": 1, "period_anchor": "2026-11-01"})
    book(api, sc)  # November
    december = WED_10_NY + timedelta(days=7)  # 2 Dec: the next period has its own credit
    assert book(api, sc, december)["status"] == "pending"
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(WED_10_NY + timedelta(days=42))})  # 6 Jan
    assert (reply.status, reply.code) == (400, "too_far")


def test_provider_booking_needs_the_clients_credit_and_cannot_purchase(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 0, "session_price_cents": 5000})
    starts = z(clock() + timedelta(hours=6))
    reply = api.post("/bookings", sc.provider, {"client_id": sc.client.id, "modality": "video", "starts_at": starts})
    assert (reply.status, reply.code) == (402, "no_credit")
    reply = api.post("/bookings", sc.provider, {"client_id": sc.client.id, "modality": "video", "starts_at": starts,
                                                "purchase": True})
    assert (reply.status, reply.code) == (400, "validation_error")


def test_idempotency_key_returns_the_first_booking_and_spends_once(world, api):
    sc = scene(world, api)
    body = {"provider_id": sc.provider.id, "modality": "video", "starts_at": z(WED_10_NY)}
    first = api.post("/bookings", sc.client, body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/bookings", sc.client, body, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 201 and first.json["id"] == again.json["id"]
    assert credits(api, sc.client) == 3
    other = api.post("/bookings", sc.client, {**body, "modality": "audio"}, headers={"Idempotency-Key": "k-1"})
    assert (other.status, other.code) == (409, "idempotency_mismatch")


def test_listing_is_by_start_with_from_inclusive_to_exclusive_status_and_pages(world, api):
    sc = scene(world, api, plan={"live_credits": 10})
    ids = [book(api, sc, WED_10_NY + timedelta(hours=h))["id"] for h in (2, 0, 1)]
    listed = api.get("/bookings", sc.client).json
    assert [b["id"] for b in listed["items"]] == [ids[1], ids[2], ids[0]] and listed["next"] is None
    window = api.get(f"/bookings?from={z(WED_10_NY)}&to={z(WED_10_NY + timedelta(hours=2))}", sc.provider).json
    assert [b["id"] for b in window["items"]] == [ids[1], ids[2]]
    page1 = api.get("/bookings?limit=2", sc.client).json
    page2 = api.get(f"/bookings?limit=2&next={page1['next']}", sc.client).json
    assert [b["id"] for b in page1["items"] + page2["items"]] == [ids[1], ids[2], ids[0]]
    assert page2["next"] is None
    assert api.get("/bookings?status=confirmed", sc.client).json["items"] == []
    assert len(api.get("/bookings?status=pending", sc.client).json["items"]) == 3
    assert api.get("/bookings?status=bogus", sc.client).code == "validation_error"
    assert api.get("/bookings?from=2026-11-25", sc.client).code == "validation_error"
    assert api.get(f"/bookings?limit=2&next={page1['next']}", sc.provider).code == "invalid_cursor"


def test_someone_elses_booking_is_404(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    other_client, other_provider = world.client(), world.provider()
    for user in (other_client, other_provider):
        assert api.get(f"/bookings/{booking['id']}", user).status == 404
        assert api.post(f"/bookings/{booking['id']}/cancel", user).status == 404
    assert api.post(f"/bookings/{booking['id']}/confirm", other_provider).status == 404
    assert api.get("/bookings/bk_nope", sc.client).status == 404


def test_room_shows_the_next_session(world, api):
    sc = scene(world, api)
    assert api.get(f"/rooms/{sc.room_id}", sc.client).json["next_session"] is None
    booking = book(api, sc)
    room = api.get(f"/rooms/{sc.room_id}", sc.provider).json
    assert room["next_session"]["id"] == booking["id"]
    assert room["next_session"]["starts_at"] == booking["starts_at"]
