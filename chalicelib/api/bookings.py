"""Live-session routes: booking, listing, provider decisions, changes, joining, and free slots."""

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import MEMBER, route
from chalicelib.identity import CLIENT, PROVIDER
from chalicelib.services import bookings

bp = Blueprint(__name__)


def _now():
    return wiring.clock()()


@route(bp, "/bookings", "POST", roles=MEMBER, body=models.NewBooking, status=201, idempotent=True,
       summary="Book a live session (client: with their provider; provider: for their client)")
def create(caller, body):
    command = bookings.NewBookingCommand(modality=body["modality"], starts_at=body["starts_at"],
                                         provider_id=body.get("provider_id"), client_id=body.get("client_id"),
                                         purchase=bool(body.get("purchase")))
    return bookings.create(caller, command, _now())


@route(bp, "/bookings", "GET", roles=MEMBER, query=models.BookingsQuery,
       summary="The caller's bookings by starts_at ascending; from inclusive, to exclusive")
def list_bookings(caller, query):
    return bookings.list_bookings(caller, query, _now())


@route(bp, "/bookings/{booking_id}", "GET", roles=MEMBER, summary="One booking")
def get_booking(booking_id, caller):
    return bookings.get_booking(caller, booking_id, _now())


@route(bp, "/bookings/{booking_id}/confirm", "POST", roles=(PROVIDER,), idempotent=True,
       summary="Provider: pending → confirmed")
def confirm(booking_id, caller):
    return bookings.confirm(caller, booking_id, _now())


@route(bp, "/bookings/{booking_id}/decline", "POST", roles=(PROVIDER,), idempotent=True,
       summary="Provider: pending → declined (credit returned)")
def decline(booking_id, caller):
    return bookings.decline(caller, booking_id, _now())


@route(bp, "/bookings/{booking_id}/reschedule", "POST", roles=MEMBER, body=models.RescheduleBooking, status=201,
       idempotent=True, summary="Move a booking: creates the new booking, the old one becomes rescheduled")
def reschedule(booking_id, caller, body):
    command = bookings.RescheduleCommand(starts_at=body["starts_at"], purchase=bool(body.get("purchase")))
    return bookings.reschedule(caller, booking_id, command, _now())


@route(bp, "/bookings/{booking_id}/cancel", "POST", roles=MEMBER, idempotent=True, body=models.CancelBooking,
       body_required=False,
       summary="Cancel a booking; optional body {\"reason\"} (late client cancellations forfeit the credit)")
def cancel(booking_id, caller, body):
    return bookings.cancel(caller, booking_id, body.get("reason"), _now())


@route(bp, "/bookings/{booking_id}/join", "POST", roles=MEMBER,
       summary="From 10 minutes before start to the end: the caller's join link")
def join(booking_id, caller):
    return bookings.join(caller, booking_id, _now())


@route(bp, "/bookings/{booking_id}/complete", "POST", roles=(PROVIDER,), idempotent=True,
       summary="Provider: the session took place")
def complete(booking_id, caller):
    return bookings.complete(caller, booking_id, _now())


@route(bp, "/bookings/{booking_id}/no-show", "POST", roles=MEMBER, idempotent=True,
       summary="Provider: the client did not come; client: the provider did not come")
def no_show(booking_id, caller):
    return bookings.no_show(caller, booking_id, _now())


@route(bp, "/providers/{provider_id}/slots", "GET", roles=(CLIENT,), query=models.SlotsQuery,
       summary="Free bookable start times of a provider (at most 31 days per request)")
def slots(provider_id, caller, query):
    return bookings.free_slots(caller, provider_id, query, _now())
