"""Confirm, decline, cancel, reschedule, join, complete and no-shows, with the credit rules."""
from datetime import timedelta

from tests.functional.booking_world import address, calendar_of, WED_10_NY, book, credits, outbox, scene, z


def _post(api, user, booking, action, body=None, **kw):
    return api.post(f"/bookings/{booking['id']}/{action}", user, body, **kw)


def test_provider_confirms_and_both_get_a_calendar_request(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    reply = _post(api, sc.provider, booking, "confirm")
    assert reply.status == 200 and reply.json["status"] == "confirmed"
    invites = outbox("booking_confirmed")
    assert sorted(address(n) for n in invites) == sorted([sc.client.email, sc.provider.email])
    for n in invites:
        ics = calendar_of(n)
        assert "METHOD:REQUEST" in ics and f"UID:{booking['id']}@haven" in ics and "SEQUENCE:1" in ics
    again = _post(api, sc.provider, booking, "confirm")
    assert (again.status, again.code) == (409, "invalid_state") and "confirmed" in again.json["error"]["message"]


def test_a_client_confirming_is_403(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    for action in ("confirm", "decline", "complete"):
        reply = _post(api, sc.client, booking, action)
        assert (reply.status, reply.code) == (403, "forbidden")


def test_decline_returns_the_credit_and_tells_the_client(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    reply = _post(api, sc.provider, booking, "decline")
    assert reply.json["status"] == "declined"
    assert credits(api, sc.client) == 4
    assert [address(n) for n in outbox("booking_declined")] == [sc.client.email]
    assert book(api, sc)["status"] == "pending"  # the time is free again


def test_confirm_after_confirm_by_is_refused_before_any_sweep(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    clock.advance(hours=30)  # confirm_by was 24 h before start: 6 h ago
    reply = _post(api, sc.provider, booking, "confirm")
    assert (reply.status, reply.code) == (409, "invalid_state")
    assert reply.json["error"]["details"]["state"] == "expired"
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "expired"


def test_exactly_24h_is_not_late_and_less_is_late(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 4})
    a = book(api, sc)
    _post(api, sc.provider, a, "confirm")
    b = book(api, sc, WED_10_NY + timedelta(hours=1))
    _post(api, sc.provider, b, "confirm")
    clock.advance(hours=30)  # a starts in exactly 24 h
    assert _post(api, sc.client, a, "cancel").json["status"] == "cancelled"
    clock.advance(hours=1, minutes=1)  # b starts in 23 h 59 min
    assert _post(api, sc.client, b, "cancel").json["status"] == "late_cancelled"
    assert credits(api, sc.client) == 3  # a's credit came back, b's was forfeited


def test_late_cancel_on_insurance_also_charges_the_session_price(world, api, clock):
    from chalicelib.store import ledger

    sc = scene(world, api, plan={"kind": "insurance", "live_credits": 3, "messaging_credits": 0,
                                 "session_price_cents": 12000, "period_anchor": None})
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.advance(hours=40)
    assert _post(api, sc.client, booking, "cancel").json["status"] == "late_cancelled"
    assert [c.amount_cents for c in ledger.charges(sc.client.id)] == [12000]
    assert credits(api, sc.client) == 2


def test_provider_cancel_always_returns_the_credit_and_sends_a_calendar_cancel(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.advance(hours=50)  # 4 h before start: late for a client, not for a provider
    reply = _post(api, sc.provider, booking, "cancel")
    assert reply.json["status"] == "cancelled"
    assert credits(api, sc.client) == 4
    cancels = outbox("booking_cancelled")
    assert len(cancels) == 2
    ics = calendar_of(cancels[0])
    assert "METHOD:CANCEL" in ics and "SEQUENCE:2" in ics and f"UID:{booking['id']}@haven" in ics


def test_cancel_after_start_is_cannot_cancel(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.advance(hours=54, minutes=5)
    reply = _post(api, sc.client, booking, "cancel")
    assert (reply.status, reply.code) == (409, "cannot_cancel")


def test_cancel_body_is_optional_but_checked(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    assert _post(api, sc.client, booking, "cancel", {"reason": 5}).code == "validation_error"
    assert _post(api, sc.client, booking, "cancel", {"why": "x"}).code == "validation_error"
    assert _post(api, sc.client, booking, "cancel").status == 200


def test_client_reschedule_early_moves_the_credit_and_the_new_booking_is_pending(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    new_time = WED_10_NY + timedelta(minutes=30)  # overlaps the old time: the claims are handed over
    reply = _post(api, sc.client, booking, "reschedule", {"starts_at": z(new_time)})
    assert reply.status == 201, reply.json
    new = reply.json
    assert new["status"] == "pending" and new["starts_at"] == z(new_time) and new["rescheduled_from"] == booking["id"]
    old = api.get(f"/bookings/{booking['id']}", sc.client).json
    assert old["status"] == "rescheduled" and old["rescheduled_to"] == new["id"]
    assert credits(api, sc.client) == 3
    moved = outbox("booking_rescheduled")
    assert len(moved) == 2
    ics = calendar_of(moved[0])
    assert "METHOD:CANCEL" in ics and f"UID:{booking['id']}@haven" in ics and "SEQUENCE:2" in ics
    confirmed = _post(api, sc.provider, new, "confirm")
    assert confirmed.status == 200
    latest = [n for n in outbox("booking_confirmed") if new["id"] in n.id][0]
    ics = calendar_of(latest)
    assert f"UID:{booking['id']}@haven" in ics and "SEQUENCE:3" in ics
    # The old time (10:00) is free again; 10:30 is taken by the new booking.
    assert book(api, sc, WED_10_NY + timedelta(hours=2))["status"] == "pending"
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(new_time)})
    assert reply.code == "slot_taken"


def test_client_reschedule_obeys_the_48h_rule_and_the_old_stays(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    reply = _post(api, sc.client, booking, "reschedule", {"starts_at": z(WED_10_NY - timedelta(hours=8))})
    assert (reply.status, reply.code) == (400, "too_soon")
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "pending"


def test_late_client_reschedule_forfeits_and_needs_a_new_credit(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 1})
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.advance(hours=40)  # 14 h before start
    later = z(WED_10_NY + timedelta(days=2))
    reply = _post(api, sc.client, booking, "reschedule", {"starts_at": later})
    assert (reply.status, reply.code) == (402, "no_credit")
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "confirmed"
    world.plan(sc.client, live_credits=2)
    reply = _post(api, sc.client, booking, "reschedule", {"starts_at": later})
    assert reply.status == 201, reply.json
    assert credits(api, sc.client) == 0  # the old credit is forfeited, the new booking holds the second


def test_provider_reschedule_moves_the_credit_and_confirms(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    clock.advance(hours=20)
    reply = _post(api, sc.provider, booking, "reschedule", {"starts_at": z(WED_10_NY + timedelta(hours=3))})
    assert reply.status == 201 and reply.json["status"] == "confirmed"
    assert credits(api, sc.client) == 3
    ics = calendar_of(outbox("booking_rescheduled")[0])
    assert "METHOD:REQUEST" in ics and "SEQUENCE:1" in ics


def test_reschedule_onto_a_taken_time_is_slot_taken_and_changes_nothing(world, api):
    sc = scene(world, api, plan={"live_credits": 4})
    a, b = book(api, sc), book(api, sc, WED_10_NY + timedelta(hours=2))
    reply = _post(api, sc.client, a, "reschedule", {"starts_at": b["starts_at"]})
    assert (reply.status, reply.code) == (409, "slot_taken")
    assert api.get(f"/bookings/{a['id']}", sc.client).json["status"] == "pending"
    assert credits(api, sc.client) == 2


def test_rescheduling_a_rescheduled_booking_names_its_state(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.client, booking, "reschedule", {"starts_at": z(WED_10_NY + timedelta(hours=1))})
    reply = _post(api, sc.client, booking, "reschedule", {"starts_at": z(WED_10_NY + timedelta(hours=2))})
    assert (reply.status, reply.code) == (409, "invalid_state")
    assert reply.json["error"]["details"]["state"] == "rescheduled"


def test_join_window_opens_10_minutes_before_and_closes_at_the_end(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.at = WED_10_NY - timedelta(minutes=11)
    assert _post(api, sc.client, booking, "join").code == "outside_join_window"
    clock.at = WED_10_NY - timedelta(minutes=10)
    reply = _post(api, sc.client, booking, "join")
    assert reply.status == 200 and reply.json["join_url"].startswith("http")
    assert f"/join/{booking['id']}.c." in reply.json["join_url"]  # the client's own join link
    provider_url = _post(api, sc.provider, booking, "join").json["join_url"]
    assert provider_url != reply.json["join_url"]
    clock.at = WED_10_NY + timedelta(minutes=45)
    assert _post(api, sc.client, booking, "join").code == "outside_join_window"
    view = api.get(f"/bookings/{booking['id']}", sc.client).json
    assert view["client_joined_at"] == z(WED_10_NY - timedelta(minutes=10))
    assert view["provider_joined_at"] is not None


def test_pending_booking_cannot_be_joined(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    clock.at = WED_10_NY
    reply = _post(api, sc.client, booking, "join")
    assert reply.status == 409


def test_chat_sessions_join_in_the_room(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc, modality="chat")
    _post(api, sc.provider, booking, "confirm")
    clock.at = WED_10_NY
    assert _post(api, sc.client, booking, "join").json["join_url"].endswith(f"/rooms/{sc.room_id}")


def test_complete_only_after_start(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    assert _post(api, sc.provider, booking, "complete").code == "invalid_state"
    clock.at = WED_10_NY + timedelta(minutes=40)
    reply = _post(api, sc.provider, booking, "complete")
    assert reply.json["status"] == "completed"
    assert credits(api, sc.client) == 3


def test_client_no_show_forfeits_and_provider_no_show_returns_and_tells_ops(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 4})
    a, b = book(api, sc), book(api, sc, WED_10_NY + timedelta(hours=1))
    _post(api, sc.provider, a, "confirm")
    _post(api, sc.provider, b, "confirm")
    clock.at = WED_10_NY + timedelta(minutes=5)
    assert _post(api, sc.provider, a, "no-show").code == "invalid_state"  # only from 10 min after start
    clock.at = WED_10_NY + timedelta(minutes=10)
    assert _post(api, sc.provider, a, "no-show").json["status"] == "client_no_show"
    assert credits(api, sc.client) == 2
    clock.at = WED_10_NY + timedelta(hours=1, minutes=15)
    assert _post(api, sc.client, b, "no-show").json["status"] == "provider_no_show"
    assert credits(api, sc.client) == 3
    assert [address(n) for n in outbox("booking_provider_no_show_ops")] == ["ops@haven.example"]


def test_no_show_is_refused_when_the_absent_person_joined(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.at = WED_10_NY
    _post(api, sc.client, booking, "join")
    clock.at = WED_10_NY + timedelta(minutes=15)
    assert _post(api, sc.provider, booking, "no-show").code == "invalid_state"


def test_idempotent_cancel_returns_the_first_answer(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    first = _post(api, sc.client, booking, "cancel", headers={"Idempotency-Key": "c1"})
    again = _post(api, sc.client, booking, "cancel", headers={"Idempotency-Key": "c1"})
    assert first.status == again.status == 200 and again.json == first.json
    assert credits(api, sc.client) == 4


def test_a_change_of_provider_cancels_future_sessions_with_the_old_one_and_returns_the_credits(world, api, clock):
    sc = scene(world, api)
    pending = book(api, sc)
    confirmed = book(api, sc, WED_10_NY + timedelta(days=1), by="provider")
    assert credits(api, sc.client) == 2
    new_provider = world.provider()
    assert world.room(sc.client, new_provider) == sc.room_id
    for booking in (pending, confirmed):
        assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "cancelled"
    assert credits(api, sc.client) == 4
    cancelled = outbox("booking_cancelled")
    assert sorted({address(n) for n in cancelled}) == sorted([sc.client.email, sc.provider.email])
    assert api.get(f"/rooms/{sc.room_id}", sc.provider).status == 404  # the old provider lost the room
