"""Discharges from a referral program (SPEC §2 "Discharges").

A referral client is discharged at the earliest of three deadlines that applies:

- `no_first_booking`: first access + 30 days, if the client has never had a pending or
  confirmed booking (whatever became of it later);
- `no_follow_up`: the end of the last completed session + 28 days, if no future booking is
  pending or confirmed now;
- `program_ended`: `program_ends_at` (nothing cancels it).

A deadline is then moved, as often as needed, to the end of a session request that is open at
it (opened ≤ deadline < ends), and it is never less than 7 days after the discharge notice was
sent: no notice, no discharge. The notice is due 7 days before the deadline
(`Deadline.notice_at`); a notice that goes out late pushes the deadline to `sent + 7 days`.

Notices are identified by `Deadline.notice_key` (reason and base deadline; for
`no_follow_up` also the moment the client last had a future booking), so each client gets one
notice per reason and deadline, and a booking made after a notice voids it: if that booking
goes away again, the recomputed deadline has a new key, needs a fresh notice, and so can never
be in the past. Ties between reasons go to `program_ended`, then `no_first_booking`.

Everything is a function of `DischargeFacts`, which the service gathers, and `now`; the client's
status is decided by the clock: from the deadline on, `discharged` with `{"reason", "at"}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import iso_z, to_utc

NO_FIRST_BOOKING, NO_FOLLOW_UP, PROGRAM_ENDED = "no_first_booking", "no_follow_up", "program_ended"
REASONS = (NO_FIRST_BOOKING, NO_FOLLOW_UP, PROGRAM_ENDED)
# Which reason a tie between equal deadlines goes to (earlier in the tuple wins).
_TIE_ORDER = (PROGRAM_ENDED, NO_FIRST_BOOKING, NO_FOLLOW_UP)

ACTIVE, WAITING, DISCHARGED = "active", "waiting", "discharged"
CLIENT_STATUSES = (ACTIVE, WAITING, DISCHARGED)

# SPEC defaults; the service passes settings.
FIRST_BOOKING_DAYS = 30
FOLLOW_UP_DAYS = 28
NOTICE_DAYS = 7


@dataclass(frozen=True)
class DischargeFacts:
    """What decides a referral client's discharge, gathered by the service as of `now`.

    - `first_access`, `program_ends_at`: of the current program.
    - `ever_booked`: the client has had a booking that was pending or confirmed at some point
      in this program (a later decline, cancellation or expiry does not undo that).
    - `last_completed_end`: `ends_at` of the latest `completed` session, or None.
    - `upcoming_booking`: a pending or confirmed booking starting after `now` exists.
    - `booked_until`: the last moment the client had a future pending or confirmed booking
      (the start of one that took place, or when one was cancelled, declined, expired or
      rescheduled away); None if never. Only used to tell a notice apart from a later one.
    - `requests`: `(opened_at, ends_at)` of session requests; for an open one `ends_at` is when
      it ends by the clock (`session_requests.closes_at`), for an ended one when it ended.
    - `notices_sent`: notice key → when that notice was sent.
    """
    first_access: datetime
    program_ends_at: datetime
    ever_booked: bool = False
    last_completed_end: datetime | None = None
    upcoming_booking: bool = False
    booked_until: datetime | None = None
    requests: tuple[tuple[datetime, datetime], ...] = ()
    notices_sent: Mapping[str, datetime] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Deadline:
    """The discharge a client is heading for: `reason`, the deadline `at` (the `discharge.at`
    the client will read), when its notice is due (`notice_at` = `at` − 7 days; for a notice not
    sent yet and already late, `now`), the notice's identity (`notice_key`) and whether that
    notice has been sent (`noticed`)."""
    reason: str
    at: datetime
    notice_at: datetime
    notice_key: str
    noticed: bool

    def as_dict(self) -> dict:
        """`{"reason", "at"}` as `GET /clients/me` shows `discharge`."""
        return {"reason": self.reason, "at": iso_z(self.at)}


def _candidates(facts: DischargeFacts, first_booking_days: float,
                follow_up_days: float) -> list[tuple[str, datetime, str]]:
    found = []
    if not facts.ever_booked:
        base = to_utc(facts.first_access) + timedelta(days=first_booking_days)
        found.append((NO_FIRST_BOOKING, base, f"{NO_FIRST_BOOKING}:{iso_z(base)}"))
    elif facts.last_completed_end is not None and not facts.upcoming_booking:
        base = to_utc(facts.last_completed_end) + timedelta(days=follow_up_days)
        since = facts.booked_until or facts.last_completed_end
        found.append((NO_FOLLOW_UP, base, f"{NO_FOLLOW_UP}:{iso_z(base)}:{iso_z(since)}"))
    base = to_utc(facts.program_ends_at)
    found.append((PROGRAM_ENDED, base, f"{PROGRAM_ENDED}:{iso_z(base)}"))
    return found


def _past_open_requests(at: datetime, requests: Iterable[tuple[datetime, datetime]]) -> datetime:
    """The first instant ≥ `at` at which no request is open (each interval half-open)."""
    spans = [(to_utc(opened), to_utc(ends)) for opened, ends in requests]
    moved = True
    while moved:
        moved = False
        for opened, ends in spans:
            if opened <= at < ends:
                at, moved = ends, True
    return at


def deadline(facts: DischargeFacts, now: datetime, *, first_booking_days: float = FIRST_BOOKING_DAYS,
             follow_up_days: float = FOLLOW_UP_DAYS, notice_days: float = NOTICE_DAYS) -> Deadline | None:
    """The discharge ahead of (or reached by) a referral client as of `now`.

    Never None for a client with a program (`program_ended` always applies); None is kept in
    the signature for callers that pass facts of a client without one. For a notice not sent
    yet the deadline is at least `now + notice_days` (the notice would go out now), so it is
    never reached without notice; sending the notice at `now` leaves the answer unchanged.
    """
    now = to_utc(now)
    notice = timedelta(days=notice_days)
    best: Deadline | None = None
    for reason, base, key in _candidates(facts, first_booking_days, follow_up_days):
        sent = facts.notices_sent.get(key)
        floor = (to_utc(sent) if sent is not None else now) + notice
        at = _past_open_requests(max(base, floor), facts.requests)
        found = Deadline(reason, at, at - notice, key, sent is not None)
        if best is None or (found.at, _TIE_ORDER.index(reason)) < (best.at, _TIE_ORDER.index(best.reason)):
            best = found
    return best


def notice_due(found: Deadline | None, now: datetime) -> bool:
    """Whether the notice of `found` should go out now (not yet sent, its moment reached)."""
    return found is not None and not found.noticed and to_utc(now) >= found.notice_at


def client_status(stored_status: str, now: datetime, facts: DischargeFacts | None = None, *,
                  stored_discharge: Mapping | None = None, **days) -> tuple[str, dict | None]:
    """The client's `status` and `discharge` as of `now`.

    A persisted discharge stands (`stored_discharge` is `{"reason","at"}` as stored). Otherwise,
    for a referral client (`facts` given), from the deadline on (`now >= at`) the answer is
    `("discharged", {"reason", "at"})` with `at` an aware datetime; before it, or without
    facts, the stored status and None. `days` are `deadline`'s keyword numbers.
    """
    if stored_status not in CLIENT_STATUSES:
        raise ValueError(f"unknown client status {stored_status!r}")
    if stored_status == DISCHARGED:
        return DISCHARGED, dict(stored_discharge) if stored_discharge else None
    if facts is not None:
        found = deadline(facts, now, **days)
        if found is not None and to_utc(now) >= found.at:
            return DISCHARGED, {"reason": found.reason, "at": found.at}
    return stored_status, None


def require_not_discharged(status: str) -> None:
    """403 `discharged` for what a discharged client may no longer do (book, request, start a
    messaging session, post in the room). Pass the effective status (`client_status`)."""
    if status == DISCHARGED:
        raise DomainError("discharged", "Your program has ended, so this is no longer possible. "
                          "You can still read your room, records and history.")
