"""The `discharges` sweep (SPEC §4), daily: referral discharge notices and discharges (program
ends included), reading only the referral clients that are due; and ratings folded into
providers' totals."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services.clinical import ratings
    from chalicelib.services.pathways import discharges

    return {**discharges.sweep(now), "ratings_folded": ratings.fold_waiting(now)}
