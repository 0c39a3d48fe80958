"""The sweeps' booking steps: expiry of unconfirmed requests, outcomes 24 h after the end,
and the 24 h / 10 min reminders. Each due item is read once with its booking, planned, and
committed with the item settled in the same change, so two runs act once."""
from __future__ import annotations

from datetime import datetime

from chalicelib import budget, wiring
from chalicelib.domain import booking_plans as plans
from chalicelib.services.bookings.commands import expire
from chalicelib.services.bookings.commit import commit, numbers
from chalicelib.store import bookings as store


def _skip(t) -> plans.Change:
    return plans.Change("skipped", None, (plans.SettleTimer(t.id, "skipped", int(t.version)),))


def expire_due(now: datetime) -> int:
    """Pending bookings whose confirmation deadline passed: expired, credit returned, client told
    by email and a room message."""
    done = 0
    for t in store.due_timers(store.CONFIRM_KIND, now, wiring.settings().sweep_batch):
        if budget.exhausted():
            break
        b = store.find(t.ref_id)
        if b is None or plans.plan_expire(b, t.id, now, numbers()) is None:
            commit(_skip(t), now)
            continue
        done += expire(b, t, now)
    return done


def close_due(now: datetime) -> int:
    """Confirmed sessions with no outcome 24 h after the end: completed if both joined, else
    unresolved (ops told)."""
    done = 0
    for t in store.due_timers(store.OUTCOME_KIND, now, wiring.settings().sweep_batch):
        if budget.exhausted():
            break
        b = store.find(t.ref_id)
        change = plans.plan_outcome(b, t.id, now, numbers()) if b is not None else None
        if change is None:
            commit(_skip(t), now)
            continue
        change = plans.with_timer_version(change, int(t.version))
        done += commit(change, now)
    return done


def remind_due(now: datetime) -> dict:
    """24 h and 10 min reminders for confirmed bookings, each at most once per booking version.
    Reads: the due timers (index) only; each carries its booking as confirmed, and the change is
    committed under the condition that the booking is still at that version (one read of the
    booking only when it is not, or for a timer set before timers carried it). The reminder is
    taken and its emails and room message recorded in one change, then delivered."""
    s = wiring.settings()
    sent = skipped = 0
    for t in store.due_timers(store.REMINDER_KIND, now, s.sweep_batch):
        if budget.exhausted():
            break
        copy = store.reminder_booking(t)
        change = _remind(t, copy if copy is not None else store.find(t.ref_id), now, s)
        done = commit(change, now)
        if not done and copy is not None:  # the booking moved on since (or another run took it): read it
            change = _remind(t, store.find(t.ref_id), now, s)
            done = commit(change, now)
        if done:
            if change.action == "skipped":
                skipped += 1
            else:
                sent += 1
    return {"reminders_sent": sent, "reminders_skipped": skipped}


def _remind(t, b, now: datetime, s) -> plans.Change:
    data = t.data or {}
    which = data.get("which")
    change = plans.plan_reminder(b, t.id, which, int(data.get("version", -1)), now, numbers(),
                                 s.reminder_long_skip_within_hours)
    return plans.with_timer_version(change, int(t.version))
