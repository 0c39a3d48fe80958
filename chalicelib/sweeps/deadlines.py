"""The `deadlines` sweep (SPEC §4): everything whose moment has come, as of the event's time."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services import messaging_sessions, notify, replies

    return {
        "messaging_sessions_ended": messaging_sessions.sweep_ended(now),
        "replies_overdue": replies.sweep_overdue(now),
        # last, so notices recorded above and not yet delivered get their retry in this run
        "emails_retried": notify.retry_due(now),
    }
