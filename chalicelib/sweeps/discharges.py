"""The `discharges` sweep (SPEC §4). Its work arrives with later issues; it already runs on its schedule."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services import exports

    return {**exports.delete_expired(now)}  # data exports 7 days past ready: every version deleted
