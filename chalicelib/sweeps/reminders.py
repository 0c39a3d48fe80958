"""The `reminders` sweep (SPEC §4). Its work arrives with later issues; it already runs on its schedule."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    return {}
