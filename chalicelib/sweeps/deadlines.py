"""The `deadlines` sweep (SPEC §4): everything whose moment has come, as of the event's time."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services import notify

    return {
        "emails_retried": notify.retry_due(now),
    }
