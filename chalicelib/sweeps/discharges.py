"""The `discharges` sweep (SPEC §4), daily: ratings folded into providers' totals (discharges
themselves arrive with the care pathways)."""
from __future__ import annotations

from datetime import datetime


def sweep(now: datetime) -> dict:
    from chalicelib.services.clinical import ratings

    return {"ratings_folded": ratings.fold_waiting(now)}
