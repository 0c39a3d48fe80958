"""Session ratings (SPEC §2 "Clinical record", Ratings).

A client rates a `completed` session 1–5, once, within `[ends_at, ends_at + 30 d)`. The booking
keeps only that it was rated; the score waits in a queue with neither client nor booking id and is
folded into the provider's totals only once at least 3 scores wait for that provider, so no single
fold can be traced back to a session. The public `rating` shows from 5 folded ratings on.

The window and the thresholds are SPEC defaults (`settings` passes them; the defaults here are
the SPEC's numbers). `status` is always the booking's *effective* status at `now`
(`bookings.effective_status`). Nothing here reads the clock: `now` is a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

from chalicelib.domain.bookings import COMPLETED
from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import iso_z, to_utc

SCORE_MIN, SCORE_MAX = 1, 5
WINDOW_DAYS = 30
FOLD_MIN_PENDING = 3
DISPLAY_MIN_COUNT = 5
_ONE_DECIMAL = Decimal("0.1")


def validate_score(score) -> int:
    """An int 1..5 (`true` and `4.0` are not), else 400 `validation_error`."""
    if isinstance(score, bool) or not isinstance(score, int) or not SCORE_MIN <= score <= SCORE_MAX:
        raise DomainError("validation_error", f"score must be a whole number from {SCORE_MIN} to {SCORE_MAX}.",
                          field="score")
    return score


def rating_window(ends_at: datetime, days: int = WINDOW_DAYS) -> tuple[datetime, datetime]:
    """`[ends_at, ends_at + days)`: when the session's client may rate it."""
    ends_at = to_utc(ends_at)
    return ends_at, ends_at + timedelta(days=days)


def check_can_rate(status: str, ends_at: datetime, now: datetime, *, rated: bool = False,
                   days: int = WINDOW_DAYS) -> None:
    """A repeat is 409 `already_rated` whatever the time; a session that is not `completed`, or a
    time outside the window, is 409 `invalid_state` (the message names the state)."""
    if rated:
        raise DomainError("already_rated", "You have already rated this session.")
    if status != COMPLETED:
        raise DomainError("invalid_state", f"The booking is {status}; only a completed session can be rated.",
                          state=status)
    opens, closes = rating_window(ends_at, days)
    now = to_utc(now)
    if now < opens:
        raise DomainError("invalid_state", "The session can be rated once it has ended.",
                          state=status, opens_at=iso_z(opens))
    if now >= closes:
        raise DomainError("invalid_state", f"Sessions can be rated within {days} days of their end.",
                          state=status, closed_at=iso_z(closes))


def should_fold(pending_count: int, threshold: int = FOLD_MIN_PENDING) -> bool:
    """Whether a provider's waiting scores may be folded: only once at least `threshold` wait."""
    return pending_count >= threshold


def fold_batches(count: int, size: int, threshold: int = FOLD_MIN_PENDING) -> list[int]:
    """How many scores each fold takes when `count` wait and one fold holds at most `size`: no
    batch below `threshold` (so none can be tied to fewer sessions). `count` below `threshold`
    folds nothing. E.g. 100 waiting, size 99, threshold 3 → [97, 3]."""
    if size < threshold:
        raise ValueError(f"a fold of at most {size} cannot hold {threshold} scores")
    if not should_fold(count, threshold):
        return []
    batches, rest = [], count
    while rest > size:
        take = size if rest - size >= threshold else rest - threshold
        batches.append(take)
        rest -= take
    batches.append(rest)
    return batches


@dataclass(frozen=True)
class Totals:
    """A provider's folded ratings: the sum of the scores and how many."""
    total: int = 0
    count: int = 0


def fold(totals: Totals, scores: Iterable[int], threshold: int = FOLD_MIN_PENDING) -> Totals:
    """The totals with every waiting score added. ValueError below `threshold`: folding fewer
    would let a change in the totals be tied to one session (the caller must not ask)."""
    scores = [validate_score(score) for score in scores]
    if not should_fold(len(scores), threshold):
        raise ValueError(f"fold at least {threshold} scores at a time, not {len(scores)}")
    return Totals(totals.total + sum(scores), totals.count + len(scores))


def average(total: int, count: int) -> float:
    """The mean to 1 decimal, rounded half up (4.25 → 4.3), computed exactly in Decimal."""
    mean = (Decimal(total) / Decimal(count)).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)
    return float(mean)


def display(totals: Totals, minimum: int = DISPLAY_MIN_COUNT) -> dict | None:
    """The profile's `rating`: `{"average", "count"}` from `minimum` folded ratings on, else None."""
    if totals.count < minimum:
        return None
    return {"average": average(totals.total, totals.count), "count": totals.count}
