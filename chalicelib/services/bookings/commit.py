"""The one place booking changes are committed.

A planned `Change` (domain.booking_plans) becomes one unit of work: its writes (store), its
outbox records (notices), ONE transaction. A refused condition is classified by reading again —
`refusal()` returns the domain error (or a retry decision) — and the notices are delivered after
the commit. Nothing else in the services writes a booking.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from chalicelib import wiring
from chalicelib.domain import booking_plans as plans
from chalicelib.observability import logger
from chalicelib.services import outbox
from chalicelib.services.bookings import notices
from chalicelib.store import bookings as store
from chalicelib.store.unit_of_work import Refused, UnitOfWork


def numbers() -> plans.Numbers:
    s = wiring.settings()
    return plans.Numbers(session_minutes=s.session_minutes, confirm_before_start_hours=s.confirm_before_start_hours,
                         outcome_grace_hours=s.outcome_grace_hours, reminder_long_hours=s.reminder_long_hours,
                         reminder_short_minutes=s.reminder_short_minutes, late_change_hours=s.late_change_hours,
                         link_token_days=s.link_token_days)


def link_hash(link_id: str) -> str:
    return notices.token_hash(notices.link_token(link_id))


def commit(change: plans.Change, now: datetime, refusal: Callable[[], Exception | None] | None = None, *,
           extra_records=()) -> bool:
    """Write the change in one transaction, then deliver its notices. When a condition refuses
    it, `refusal()` is called (after nothing was written) and its error raised; with no
    `refusal`, or when it returns None, the change is dropped and False returned (a sweep whose
    item another run took). `extra_records`: outbox records the caller rendered for notices this
    module does not know (a session request's), written in the same transaction. After the
    commit, `booking_changed(change, now)` is published (a referral client's discharge timer
    listens)."""
    from chalicelib import request_key

    uow = UnitOfWork()
    store.stage(uow, change, now, link_hash, request_key.current())
    for record in (*notices.records(change.notices, now), *extra_records):
        uow.record(record)
    wiring.get("before_booking_commit")(change.action, booking_id=change.result.id if change.result else None)
    try:
        uow.commit()
    except Refused:
        error = refusal() if refusal is not None else None
        if error is None:
            return False
        raise error from None
    outbox.deliver_all(uow.records, now)
    wiring.publish("booking_changed", change=change, now=now)
    if change.result is not None:
        logger.info("booking changed", extra={"booking_id": change.result.id, "action": change.action,
                                              "status": change.result.status})
    return True
