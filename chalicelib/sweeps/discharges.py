"""The `discharges` sweep (SPEC §4), daily: referral discharge notices and discharges (program
ends included), reading only the referral clients that are due; ratings folded into providers'
totals; and data exports 7 days past ready deleted, every version."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services import exports
    from chalicelib.services.clinical import ratings
    from chalicelib.services.pathways import discharges

    return {**discharges.sweep(now), "ratings_folded": ratings.fold_waiting(now), **exports.delete_expired(now)}
