"""Credits a client has left now, from their plan and the recorded usage (SPEC §2 Plans and credits)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain import credits as policy
from chalicelib.store import ledger
from chalicelib.store.models import UserModel


def credits_now(user: UserModel, now: datetime) -> dict:
    if not user.plan:  # no plan: nothing to count (not "none left"), so a client app shows no counter
        return {"live": None, "messaging": None}
    return policy.credits_left(user.plan, ledger.usage(user.id), user.timezone or "UTC", now)
