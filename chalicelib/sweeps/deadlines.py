"""The `deadlines` sweep (SPEC §4): everything whose moment has come, as of the event's time."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib import budget
    from chalicelib.services import messaging_sessions, outbox, replies

    return {
        "messaging_sessions_ended": messaging_sessions.sweep_ended(now),
        "replies_overdue": replies.sweep_overdue(now),
        **_booking_steps(now),
        # last, so notices recorded above and not yet delivered get their retry in this run
        "emails_retried": outbox.retry_due(now, deadline=budget.deadline()),
    }


def _booking_steps(now: datetime) -> dict:
    """Live sessions: unconfirmed bookings expire; sessions without outcome are closed."""
    from chalicelib.services import bookings

    return {"bookings_expired": bookings.expire_due(now), "bookings_closed": bookings.close_due(now)}
