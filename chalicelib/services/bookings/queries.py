"""Booking reads: one booking, the caller's list, free slots, a room's next session."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.domain import slots as slot_rules
from chalicelib.errors import HavenError, NotFound, ValidationError
from chalicelib.identity import Caller
from chalicelib.store import bookings as store
from chalicelib.store import session_requests as request_store
from chalicelib.store import users as user_store
from chalicelib.store.models import RoomModel


def status_now(b: plans.Booking, now: datetime) -> str:
    return rules.effective_status(b.view(), now, wiring.settings().outcome_grace_hours)


def render(b: plans.Booking, now: datetime) -> dict:
    return {
        "id": b.id, "status": status_now(b, now), "client_id": b.client_id, "provider_id": b.provider_id,
        "room_id": b.room_id, "modality": b.modality, "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at),
        "confirm_by": iso(b.confirm_by), "rescheduled_to": b.rescheduled_to, "rescheduled_from": b.rescheduled_from,
        "created_at": b.created_at, "created_by": b.created_by, "purchased": b.credit.purchased,
        "client_joined_at": iso(b.client_joined_at), "provider_joined_at": iso(b.provider_joined_at),
    }


def still_confirmed_at(guard: dict) -> bool:
    """The outbox's guard for a booking notice: the booking is still confirmed at the version the
    notice was made for (a reminder for a cancelled or moved booking is dropped, never sent)."""
    b = store.find(guard["id"])
    return b is not None and b.status == rules.CONFIRMED and b.version == guard.get("version")


def member_booking(caller: Caller, booking_id: str) -> plans.Booking:
    b = store.find(booking_id)
    if b is None or caller.id not in (b.client_id, b.provider_id):
        raise NotFound("booking")
    return b


def viewer_fields(b: plans.Booking, caller: Caller) -> dict:
    """Fields only one side sees (SPEC §3): `risk_flag` the booking's provider, `rated` its client."""
    if caller.id == b.provider_id:
        return {"risk_flag": b.risk_flag}
    if caller.id == b.client_id:
        return {"rated": b.rated}
    return {}


def client_names(caller: Caller, client_ids) -> dict[str, str]:
    """A provider sees the name of each client they care for (SPEC Safety); nobody else's. One
    BatchGetItem for a page."""
    if not caller.is_provider or not client_ids:
        return {}
    return {i: u.name for i, u in user_store.get_many(client_ids).items()}


def get_booking(caller: Caller, booking_id: str, now: datetime) -> dict:
    b = member_booking(caller, booking_id)
    out = {**render(b, now), **viewer_fields(b, caller)}
    if caller.is_provider:
        out["client_name"] = client_names(caller, [b.client_id]).get(b.client_id)
    return out


def list_bookings(caller: Caller, query: dict, now: datetime) -> dict:
    cursors = wiring.get("cursors")
    start, end = query.get("from"), query.get("to")
    if start is not None and end is not None and end <= start:
        raise ValidationError("`to` must be after `from`.", details={"field": "to"})
    status = query.get("status")
    scope = f"bookings:{caller.id}:{status or ''}:{iso(start) or ''}:{iso(end) or ''}"
    last_key = None
    if query.get("next"):
        position = cursors.decode(scope, query["next"])
        if not isinstance(position, list) or len(position) != 2 or not all(isinstance(p, str) for p in position):
            raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
        last_key = store.page_key("client" if caller.is_client else "provider", caller.id, *position)
    limit = query["limit"]
    items: list[plans.Booking] = []
    positions: list[list[str]] = []
    more = False
    results = store.page("client" if caller.is_client else "provider", caller.id, start, end,
                         page_size=max(limit + 1, 25), last_key=last_key)
    for model in results:
        b = store.to_domain(model)
        if status and status_now(b, now) != status:
            continue
        if len(items) == limit:
            more = True
            break
        items.append(b)
        positions.append([model.starts_at, model.id])
    next_cursor = cursors.encode(scope, positions[-1]) if more and items else None
    names = client_names(caller, [b.client_id for b in items])
    return {"items": [{**render(b, now), **viewer_fields(b, caller),
                       **({"client_name": names.get(b.client_id)} if caller.is_provider else {})} for b in items],
            "next": next_cursor}


def next_session(room: RoomModel, now: datetime) -> dict | None:
    """The room's next (or current) session that still holds its time, for GET /rooms/{id}."""
    s = wiring.settings()
    for model in store.upcoming_for_client(room.client_id, now - timedelta(minutes=s.session_minutes)):
        if model.room_id != room.id or model.provider_id != room.provider_id:
            continue
        b = store.to_domain(model)
        if b.ends_at > now and status_now(b, now) in rules.HOLDS_TIME:
            return {"id": b.id, "status": status_now(b, now), "modality": b.modality,
                    "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at)}
    return None


def free_slots(caller: Caller, provider_id: str, query: dict, now: datetime) -> dict:
    s = wiring.settings()
    start = query.get("from") or now
    end = query.get("to") or (start + timedelta(days=7))
    if end <= start:
        raise ValidationError("`to` must be after `from`.", details={"field": "to"})
    if end - start > timedelta(days=s.slots_max_range_days):
        raise HavenError(f"Ask for at most {s.slots_max_range_days} days of slots at a time.", "range_too_large")
    provider = user_store.get(provider_id)
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    if not provider.active:  # deactivated: nothing is bookable
        return {"items": []}
    availability = provider.availability or {}
    tz = availability.get("timezone") or provider.timezone or "UTC"
    earliest = max(start, now + timedelta(hours=s.client_booking_min_hours))
    if earliest >= end:
        return {"items": []}
    since = earliest - timedelta(minutes=s.session_minutes)
    busy = []
    for index, member in (("provider", provider_id), ("client", caller.id)):
        for model in store.page(index, member, since, end, page_size=100, last_key=None):
            b = store.to_domain(model)
            if status_now(b, now) in rules.HOLDS_TIME:
                busy.append((b.starts_at, b.ends_at))
        # times held by proposed session requests are taken exactly like booked ones
        busy += request_store.held_intervals(index, member, since, end, now, s.session_minutes)
    found = slot_rules.free_slots(availability.get("windows") or [], tz, earliest, end, busy,
                                  length_minutes=s.session_minutes)
    return {"items": [{"starts_at": iso(a), "ends_at": iso(b)} for a, b in found]}
