"""The `discharges` sweep (SPEC §4): referral discharge notices and discharges (program ends
included), as of the event's time. Reads only the referral clients that are due."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services.pathways import discharges

    return discharges.sweep(now)
