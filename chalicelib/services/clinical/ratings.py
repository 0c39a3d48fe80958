"""Ratings no one can trace (SPEC §2 Ratings): queue, then fold.

Rating a session is ONE transaction of two writes that share nothing but the provider:
- the booking gets `rated: true` (only once; no time, no score, its version untouched), and
- a queue item `(shard, "<provider>#<random>")` holds the provider id and the score: no client
  id, no booking id, no timestamp of any grain.
The daily `discharges` sweep folds a provider's waiting scores into their totals only once at
least 3 wait, deleting them in the same transaction, so a change of the totals is always the sum
of 3 or more sessions. Nothing here logs, meters (as a dimension) or caches a score next to an
id: the route takes no Idempotency-Key, its log lines carry the booking id only, and the request
log never sees the body. docs/decisions.md "Ratings" discusses what remains (backups' timing).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.domain import ratings as rules
from chalicelib.domain.errors import DomainError
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services.clinical.common import booking_for, status_now
from chalicelib.store import bookings as booking_store
from chalicelib.store import clinical as clinical_store
from chalicelib.store import rating_queue as queue
from chalicelib.store.unit_of_work import Refused, UnitOfWork

MAX_ITEMS_PER_FOLD = 99  # a transaction holds 100 writes: the scores and the provider's totals


def rate(caller: Caller, booking_id: str, score, now: datetime) -> dict:
    """POST /bookings/{id}/rating: the booking's client, once, within [ends_at, ends_at + 30 d)."""
    s = wiring.settings()
    b = booking_for(caller, booking_id)
    if caller.id != b.client_id:
        raise NotFound("booking")
    score = rules.validate_score(score)
    rules.check_can_rate(status_now(b, now), b.ends_at, now, rated=b.rated, days=s.rating_window_days)
    uow = UnitOfWork()
    clinical_store.stage_booking_marks(uow, b.id, b.version, rated=True)
    uow.create(queue.new_item(b.provider_id, score, s.rating_queue_shards))
    try:
        uow.commit()
    except Refused:
        raise _rate_refused(b.id, now) from None
    metrics.add_metric(name="SessionRated", unit="Count", value=1)
    return {"booking_id": b.id, "rated": True}


def _rate_refused(booking_id: str, now: datetime) -> HavenError:
    fresh = booking_store.find(booking_id)
    if fresh is None:
        return NotFound("booking")
    try:
        rules.check_can_rate(status_now(fresh, now), fresh.ends_at, now, rated=fresh.rated,
                             days=wiring.settings().rating_window_days)
    except DomainError as error:
        return error
    return HavenError("The booking changed meanwhile; try again.", "invalid_state",
                      details={"state": status_now(fresh, now)})


def fold_waiting(now: datetime) -> int:
    """The daily sweep: fold each provider's waiting scores once at least `rating_fold_min` wait.
    Reads the queue's shards only (one Query each). Returns how many scores were folded."""
    s = wiring.settings()
    folded = 0
    for shard in queue.shard_names(s.rating_queue_shards):
        for provider_id, items in queue.waiting(shard).items():
            start = 0
            for size in rules.fold_batches(len(items), MAX_ITEMS_PER_FOLD, s.rating_fold_min):
                chunk, start = items[start:start + size], start + size
                uow = UnitOfWork()
                queue.stage_fold(uow, provider_id, chunk)
                try:
                    uow.commit()
                except Refused:
                    continue  # folded by an overlapping run, or the provider is gone
                folded += len(chunk)
    if folded:
        metrics.add_metric(name="RatingsFolded", unit="Count", value=folded)
        logger.info("ratings folded", extra={"folded": folded})
    return folded
