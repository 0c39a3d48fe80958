"""The live-session contract at its edges (SPEC §2–§4): boundaries, credit rules, reminders, fields."""
from datetime import timedelta

from tests.functional.booking_world import address, WED_10_NY, book, credits, outbox, run_sweep, scene, z

ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def _post(api, user, booking, action, body=None, **kw):
    return api.post(f"/bookings/{booking['id']}/{action}", user, body, **kw)


def test_47_hours_59_minutes_ahead_is_too_soon(world, api, clock):
    sc = scene(world, api, windows=ALL_DAY)
    clock.advance(minutes=1)  # 09:01Z: a slot at 09:00Z two days on is 47 h 59 min ahead
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": z(clock() + timedelta(hours=47, minutes=59))})
    assert (reply.status, reply.code) == (400, "too_soon")
    assert credits(api, sc.client) == 4


def test_booking_view_names_every_field_the_spec_lists(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    view = api.get(f"/bookings/{booking['id']}", sc.client).json
    for field in ("id", "status", "client_id", "provider_id", "modality", "starts_at", "ends_at", "confirm_by",
                  "rescheduled_to"):
        assert field in view, field
    assert view["rescheduled_to"] is None


def test_a_subscription_booking_starting_at_the_end_of_the_next_period_is_too_far(world, api, clock):
    sc = scene(world, api, windows=ALL_DAY, plan={"live_credits": 1, "period_anchor": "2026-11-01"})
    # Client in New York: the next period (December) ends at 2027-01-01 00:00 New York = 05:00Z.
    reply = api.post("/bookings", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                              "starts_at": "2027-01-01T05:00:00Z"})
    assert (reply.status, reply.code) == (400, "too_far")
    assert book(api, sc, WED_10_NY.replace(month=12, day=31, hour=22))["status"] == "pending"  # 17:00 NY, 31 Dec


def test_a_late_client_reschedule_on_insurance_charges_the_session_price(world, api, clock):
    from chalicelib.store import ledger

    sc = scene(world, api, plan={"kind": "insurance", "live_credits": 3, "messaging_credits": 0,
                                 "session_price_cents": 12000, "period_anchor": None})
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.advance(hours=40)  # 14 h before start
    reply = _post(api, sc.client, booking, "reschedule", {"starts_at": z(WED_10_NY + timedelta(days=2))})
    assert reply.status == 201, reply.json
    assert [c.amount_cents for c in ledger.charges(sc.client.id)] == [12000]
    assert credits(api, sc.client) == 1  # the old credit forfeited, the new booking holds another


def test_a_provider_may_book_the_time_of_a_request_that_expired_before_the_sweep_ran(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 2})
    request = book(api, sc)
    clock.at = WED_10_NY - timedelta(hours=20)  # past confirm_by; no deadlines sweep has run
    assert api.get(f"/bookings/{request['id']}", sc.client).json["status"] == "expired"
    booking = book(api, sc, WED_10_NY, by="provider")
    assert booking["status"] == "confirmed"
    assert api.get(f"/bookings/{request['id']}", sc.client).json["status"] == "expired"
    run_sweep("deadlines", clock())
    assert credits(api, sc.client) == 1  # the expired request's credit came back; the new booking holds one
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "confirmed"
    assert [address(n) for n in outbox("booking_expired")] == [sc.client.email]  # told once, not again by the sweep
    system = [m for m in api.get(f"/rooms/{sc.room_id}/messages", sc.client).json["items"] if m["kind"] == "system"]
    assert len(system) == 1 and "expired" in system[0]["text"]


def test_a_provider_may_reschedule_onto_the_time_of_a_request_that_expired_before_the_sweep_ran(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 2})
    request = book(api, sc)
    other = book(api, sc, WED_10_NY + timedelta(hours=2))
    _post(api, sc.provider, other, "confirm")
    clock.at = WED_10_NY - timedelta(hours=20)  # request is past confirm_by; no sweep has run
    reply = _post(api, sc.provider, other, "reschedule", {"starts_at": request["starts_at"]})
    assert reply.status == 201, reply.json
    assert api.get(f"/bookings/{request['id']}", sc.client).json["status"] == "expired"
    assert credits(api, sc.client) == 1
    assert len(outbox("booking_expired")) == 1
    run_sweep("deadlines", clock())
    assert len(outbox("booking_expired")) == 1  # the sweep finds it expired already: told once


def test_a_client_cannot_report_a_provider_no_show_before_10_minutes_after_start(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    _post(api, sc.provider, booking, "confirm")
    clock.at = WED_10_NY + timedelta(minutes=9)
    reply = _post(api, sc.client, booking, "no-show")
    assert (reply.status, reply.code) == (409, "invalid_state")
    assert credits(api, sc.client) == 3


def test_provider_cancel_of_a_purchased_booking_refunds_the_purchase(world, api, clock):
    from chalicelib.store import ledger

    sc = scene(world, api, plan={"live_credits": 0, "session_price_cents": 9000})
    booking = book(api, sc, purchase=True)
    _post(api, sc.provider, booking, "confirm")
    clock.advance(hours=50)
    assert _post(api, sc.provider, booking, "cancel").json["status"] == "cancelled"
    assert sum(c.amount_cents for c in ledger.charges(sc.client.id)) == 0


def test_a_credit_held_by_a_request_that_lapsed_before_the_sweep_books_the_next_session(world, api, clock):
    """States follow the clock: the lapsed request's credit is the client's again at once."""
    sc = scene(world, api, plan={"kind": "eap", "live_credits": 1, "messaging_credits": 0, "period_anchor": None})
    first = book(api, sc)
    assert credits(api, sc.client) == 0
    clock.at = WED_10_NY - timedelta(hours=23)  # past confirm_by; no sweep has run
    second = book(api, sc, WED_10_NY + timedelta(days=2))
    assert second["status"] == "pending"
    assert api.get(f"/bookings/{first['id']}", sc.client).json["status"] == "expired"
    assert credits(api, sc.client) == 0
