"""The `discharges` sweep (SPEC §4), daily: ratings folded into providers' totals, expired data
exports deleted (discharges themselves arrive with the care pathways)."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services import exports
    from chalicelib.services.clinical import ratings

    # data exports 7 days past ready: every version deleted
    return {"ratings_folded": ratings.fold_waiting(now), **exports.delete_expired(now)}
