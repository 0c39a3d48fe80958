"""Bookings, slot claims, emailed links and booking timers: keys, reads and transaction items.

The one guard against double booking is here: `claim_items` turns a booking's granules into
claim items (`<member id>#<granule>`) that a transaction creates with `attribute_not_exists`.
Two bookings that overlap for one member share a granule, so at most one of them commits.
Releasing a claim deletes it only while it still names the booking that holds it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.clock import parse_iso, sortable
from chalicelib.store.base import transact_write
from chalicelib.store.models import BookingModel, ClaimModel, LinkModel, TimerModel

CONFIRM_KIND = "booking_confirm"    # deadlines sweep: pending past confirm_by → expired
OUTCOME_KIND = "booking_outcome"    # deadlines sweep: confirmed, no outcome 24 h after the end
REMINDER_KIND = "booking_reminder"  # reminders sweep: 24 h and 10 min before start
CLAIM_TTL = timedelta(days=7)       # a claim is cleaned up a week after its session ended


def get(booking_id: str, consistent: bool = True) -> BookingModel | None:
    try:
        return BookingModel.get(booking_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def claim_id(member_id: str, granule: str) -> str:
    return f"{member_id}#{granule}"


def claim_ids(client_id: str, provider_id: str, granules: list[str]) -> list[str]:
    return [claim_id(member, g) for member in (provider_id, client_id) for g in granules]


def claims_holder(ids: list[str]) -> dict[str, str]:
    """claim id -> booking id, for those claims that exist (strongly consistent)."""
    if not ids:
        return {}
    return {c.id: c.booking_id for c in ClaimModel.batch_get(ids, consistent_read=True)}


def _claim(claim: str, booking_id: str, ends_at: datetime) -> ClaimModel:
    return ClaimModel(claim, booking_id=booking_id, expires=ends_at + CLAIM_TTL)


def add_claims(tx, ids: list[str], booking_id: str, ends_at: datetime) -> None:
    for claim in ids:
        tx.save(_claim(claim, booking_id, ends_at), condition=ClaimModel.id.does_not_exist())


def release_claims(tx, ids: list[str], booking_id: str) -> None:
    for claim in ids:
        tx.delete(ClaimModel(claim), condition=ClaimModel.booking_id == booking_id)


def move_claims(tx, old_ids: list[str], old_booking_id: str, new_ids: list[str], new_booking_id: str,
                new_ends_at: datetime) -> None:
    """Reschedule: one transaction may touch an item once, so a granule both bookings occupy is
    handed over (updated under the old holder's name) rather than deleted and created again."""
    old, new = set(old_ids), set(new_ids)
    for claim in new_ids:
        if claim in old:
            tx.update(ClaimModel(claim), actions=[ClaimModel.booking_id.set(new_booking_id),
                                                  ClaimModel.expires.set(new_ends_at + CLAIM_TTL)],
                      condition=ClaimModel.booking_id == old_booking_id)
        else:
            tx.save(_claim(claim, new_booking_id, new_ends_at), condition=ClaimModel.id.does_not_exist())
    release_claims(tx, [c for c in old_ids if c not in new], old_booking_id)


def transition(tx, booking: BookingModel, actions: list, *, expect_status: str | None = None) -> None:
    """Update a booking under its optimistic lock: the stored version (and status) must still be
    the ones read; the version moves on."""
    condition = BookingModel.version == int(booking.version)
    if expect_status is not None:
        condition &= BookingModel.status == expect_status
    tx.update(BookingModel(booking.id), actions=[*actions, BookingModel.version.add(1)], condition=condition)


def timer(timer_id: str, kind: str, due_kind: str, due_at: datetime, booking_id: str, created_at: str,
          data: dict | None = None) -> TimerModel:
    return TimerModel(timer_id, kind=kind, ref_id=booking_id, created_at=created_at, data=data or {},
                      due_kind=due_kind, due_at=sortable(due_at))


def due_timers(due_kind: str, now: datetime, limit: int):
    return TimerModel.due.query(due_kind, TimerModel.due_at <= sortable(now), limit=limit)


def settle_timer(tx_or_none, timer_item: TimerModel, settled_at: str, outcome: str) -> bool:
    """Take a timer out of the due index, once: the update is conditioned on the timer still
    being due (and on its version), so two sweep runs never both act on it."""
    actions = [TimerModel.due_kind.remove(), TimerModel.due_at.remove(), TimerModel.settled_at.set(settled_at),
               TimerModel.stage.set(1), TimerModel.data.set({**(timer_item.data or {}), "outcome": outcome})]
    condition = TimerModel.due_at.exists()
    if tx_or_none is not None:
        tx_or_none.update(timer_item, actions=actions, condition=condition)
        return True
    from pynamodb.exceptions import UpdateError

    from chalicelib.store.errors import condition_failed

    try:
        timer_item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def page(index_name: str, member_id: str, start: datetime | None, end: datetime | None, page_size: int,
         last_key: dict | None):
    """Bookings of one member by `starts_at` ascending, `[start, end)`."""
    index = BookingModel.by_client if index_name == "client" else BookingModel.by_provider
    condition = None
    if start is not None and end is not None:
        condition = BookingModel.starts_at.between(sortable(start), sortable(end - timedelta(milliseconds=1)))
    elif start is not None:
        condition = BookingModel.starts_at >= sortable(start)
    elif end is not None:
        condition = BookingModel.starts_at < sortable(end)
    return index.query(member_id, condition, last_evaluated_key=last_key, page_size=page_size)


def link(link_hash: str) -> LinkModel | None:
    try:
        return LinkModel.get(link_hash, consistent_read=True)
    except DoesNotExist:
        return None


def instant(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


__all__ = ["transact_write"]
