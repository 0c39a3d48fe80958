"""The live-session booking state machine (SPEC §2 "Live sessions").

    pending ──confirm──▶ confirmed ──complete──▶ completed
       │  ╲                 │  ╲──no-show──▶ client_no_show | provider_no_show
       │   ╲decline▶ declined  ╲─(24 h after end, no outcome)─▶ completed | unresolved
       │ (confirm_by passes) ──▶ expired
       └──────┴──cancel──▶ cancelled | late_cancelled;  reschedule──▶ rescheduled

Time-based states are decided by the clock at each request: `effective_status` turns a pending
booking past its `confirm_by` into `expired`, and a confirmed one left without an outcome 24 h
after its end into `completed`/`unresolved`, before any sweep has persisted that. Every
`can_*` check works on the effective status, so a provider cannot confirm a booking whose
deadline passed a minute ago just because the deadlines sweep has not run yet.

Each `can_*` returns the booking's new status, or raises `DomainError` with a stable code:
`invalid_state` (the message and `details["state"]` name the current state),
`cannot_cancel`, `outside_join_window`. Nothing here reads the clock: `now` is a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.errors import DomainError, invalid_state
from chalicelib.domain.wallclock import iso_z, to_utc

PENDING = "pending"
CONFIRMED = "confirmed"
DECLINED = "declined"
CANCELLED = "cancelled"
LATE_CANCELLED = "late_cancelled"
COMPLETED = "completed"
CLIENT_NO_SHOW = "client_no_show"
PROVIDER_NO_SHOW = "provider_no_show"
EXPIRED = "expired"
UNRESOLVED = "unresolved"
RESCHEDULED = "rescheduled"

STATUSES = (PENDING, CONFIRMED, DECLINED, CANCELLED, LATE_CANCELLED, COMPLETED, CLIENT_NO_SHOW,
            PROVIDER_NO_SHOW, EXPIRED, UNRESOLVED, RESCHEDULED)
# Bookings in these states occupy their time (keep their slot claims) and hold a credit.
HOLDS_TIME = frozenset({PENDING, CONFIRMED})
FINAL = frozenset(STATUSES) - HOLDS_TIME

MODALITIES = ("video", "audio", "chat")
PROVIDER_MODALITIES = {"therapist": MODALITIES, "psychiatrist": ("video",)}

CLIENT, PROVIDER, SYSTEM = "client", "provider", "system"


@dataclass(frozen=True)
class BookingView:
    """What the rules need to know about a booking; instants are aware (UTC)."""
    status: str
    starts_at: datetime
    ends_at: datetime
    confirm_by: datetime | None = None
    client_joined_at: datetime | None = None
    provider_joined_at: datetime | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown booking status {self.status!r}")
        if to_utc(self.ends_at) <= to_utc(self.starts_at):
            raise ValueError("a booking must end after it starts")


# --- creating ----------------------------------------------------------------------------------

def _check_ahead(starts_at: datetime, now: datetime, min_hours: float, who: str) -> None:
    starts_at, now = to_utc(starts_at), to_utc(now)
    if starts_at < now:
        raise DomainError("in_the_past", "That time has already passed.")
    earliest = now + timedelta(hours=min_hours)
    if starts_at < earliest:
        raise DomainError("too_soon", f"{who} at least {min_hours:g} hours ahead.", earliest=iso_z(earliest))


def check_client_booking_time(starts_at: datetime, now: datetime, min_hours: float = 48) -> None:
    """A client books at least `min_hours` ahead; exactly `min_hours` is admitted."""
    _check_ahead(starts_at, now, min_hours, "Sessions can be booked")


def check_provider_booking_time(starts_at: datetime, now: datetime, min_hours: float = 1) -> None:
    """A provider booking for a client books at least `min_hours` ahead."""
    _check_ahead(starts_at, now, min_hours, "Providers can book sessions")


def check_modality(modality: str, provider_kind: str) -> None:
    """`modality_not_allowed` for e.g. audio with a psychiatrist (psychiatry is video only)."""
    allowed = PROVIDER_MODALITIES.get(provider_kind, MODALITIES)
    if modality not in allowed:
        raise DomainError(
            "modality_not_allowed",
            f"A {provider_kind} offers {', '.join(allowed)} sessions only.",
            allowed=list(allowed),
        )


def initial_status(actor: str) -> str:
    """A client's booking waits for the provider; a provider's own booking is confirmed at once.
    The same holds for the new booking of a reschedule."""
    return CONFIRMED if actor == PROVIDER else PENDING


def confirm_by(starts_at: datetime, hours: float = 24) -> datetime:
    """The provider's confirmation deadline: `hours` before start."""
    return to_utc(starts_at) - timedelta(hours=hours)


# --- the clock ---------------------------------------------------------------------------------

def _deadline(booking: BookingView) -> datetime:
    # A pending booking stored without a deadline still cannot outlive its own start.
    return to_utc(booking.confirm_by or booking.starts_at)


def both_joined(booking: BookingView) -> bool:
    return booking.client_joined_at is not None and booking.provider_joined_at is not None


def session_began_at(booking: BookingView) -> datetime | None:
    """The session begins when both participants have joined."""
    if not both_joined(booking):
        return None
    return max(to_utc(booking.client_joined_at), to_utc(booking.provider_joined_at))


def outcome_due_at(booking: BookingView, grace_hours: float = 24) -> datetime:
    return to_utc(booking.ends_at) + timedelta(hours=grace_hours)


def outcome_after_grace(booking: BookingView, now: datetime, grace_hours: float = 24) -> str | None:
    """For a confirmed booking with no outcome `grace_hours` after its end: `completed` if both
    joined, else `unresolved` (ops are told). None while not yet due or not confirmed."""
    if booking.status != CONFIRMED or to_utc(now) < outcome_due_at(booking, grace_hours):
        return None
    return COMPLETED if both_joined(booking) else UNRESOLVED


def effective_status(booking: BookingView, now: datetime, grace_hours: float = 24) -> str:
    """The status as of `now`: the stored one, moved on by any deadline that has passed.

    The confirmation deadline is half-open like a period: confirming is possible while
    `now < confirm_by`; at `confirm_by` itself the booking is `expired`.
    """
    now = to_utc(now)
    if booking.status == PENDING and now >= _deadline(booking):
        return EXPIRED
    return outcome_after_grace(booking, now, grace_hours) or booking.status


# --- transitions -------------------------------------------------------------------------------

def _require(booking: BookingView, now: datetime, allowed: frozenset[str] | set[str], action: str,
             grace_hours: float = 24) -> str:
    status = effective_status(booking, now, grace_hours)
    if status not in allowed:
        raise invalid_state(status, action)
    return status


def can_confirm(booking: BookingView, now: datetime) -> str:
    """pending → confirmed, before `confirm_by`."""
    _require(booking, now, {PENDING}, "confirmed")
    return CONFIRMED


def can_decline(booking: BookingView, now: datetime) -> str:
    """pending → declined (credit returned), before `confirm_by`."""
    _require(booking, now, {PENDING}, "declined")
    return DECLINED


def _before_start(booking: BookingView, now: datetime, action: str) -> None:
    if to_utc(now) >= to_utc(booking.starts_at):
        raise DomainError("cannot_cancel", f"The session has already started; it cannot be {action}.",
                          state=booking.status)


def can_cancel(booking: BookingView, now: datetime, actor: str, late_hours: float = 24) -> str:
    """pending/confirmed → cancelled, or late_cancelled when the client cancels less than
    `late_hours` before start (exactly `late_hours` is not late). Not once the session has
    started (`cannot_cancel`): then it ends by completion or a no-show."""
    _require(booking, now, HOLDS_TIME, "cancelled")
    _before_start(booking, now, "cancelled")
    late = to_utc(booking.starts_at) - to_utc(now) < timedelta(hours=late_hours)
    return LATE_CANCELLED if actor == CLIENT and late else CANCELLED


def can_reschedule(booking: BookingView, now: datetime, actor: str) -> str:
    """pending/confirmed → rescheduled (the old booking; the caller creates the new one).
    A client may reschedule late; `credits.on_outcome` then forfeits the old credit."""
    if actor not in (CLIENT, PROVIDER):
        raise ValueError(f"{actor} cannot reschedule a booking")
    _require(booking, now, HOLDS_TIME, "rescheduled")
    _before_start(booking, now, "rescheduled")
    return RESCHEDULED


def can_complete(booking: BookingView, now: datetime, grace_hours: float = 24) -> str:
    """confirmed → completed, by the provider, once the session has started."""
    status = _require(booking, now, {CONFIRMED}, "completed", grace_hours)
    if to_utc(now) < to_utc(booking.starts_at):
        raise DomainError("invalid_state", "The booking is confirmed but the session has not started yet.",
                          state=status, starts_at=iso_z(booking.starts_at))
    return COMPLETED


def can_no_show(booking: BookingView, now: datetime, actor: str, after_minutes: float = 10,
                grace_hours: float = 24) -> str:
    """A provider marks a client no-show; a client reports a provider no-show. Either from
    `after_minutes` after start while the booking is confirmed (until its outcome is
    settled). Refused when the person said to be absent joined the session: their join is
    on record, so the no-show would be false (and would forfeit or return a credit wrongly)."""
    if actor not in (CLIENT, PROVIDER):
        raise ValueError(f"{actor} cannot report a no-show")
    status = _require(booking, now, {CONFIRMED}, "marked a no-show", grace_hours)
    opens = to_utc(booking.starts_at) + timedelta(minutes=after_minutes)
    if to_utc(now) < opens:
        raise DomainError("invalid_state",
                          f"The booking is {status}; a no-show can be reported from {after_minutes:g} minutes after the start.",
                          state=status, opens_at=iso_z(opens))
    absent, joined = ("client", booking.client_joined_at) if actor == PROVIDER else ("provider", booking.provider_joined_at)
    if joined is not None:
        raise DomainError("invalid_state", f"The booking is {status} and the {absent} joined the session.",
                          state=status)
    return CLIENT_NO_SHOW if actor == PROVIDER else PROVIDER_NO_SHOW


def join_window(booking: BookingView, opens_minutes: float = 10) -> tuple[datetime, datetime]:
    """`[start − opens_minutes, end)`: when participants may join."""
    return to_utc(booking.starts_at) - timedelta(minutes=opens_minutes), to_utc(booking.ends_at)


def check_join(booking: BookingView, now: datetime, opens_minutes: float = 10) -> None:
    """Joining needs a confirmed booking (`invalid_state`) inside the join window
    (`outside_join_window`, with the window in `details`)."""
    _require(booking, now, {CONFIRMED}, "joined")
    opens, closes = join_window(booking, opens_minutes)
    if not opens <= to_utc(now) < closes:
        when = "has ended" if to_utc(now) >= closes else f"opens {opens_minutes:g} minutes before the start"
        raise DomainError("outside_join_window", f"The session {when}.",
                          opens_at=iso_z(opens), closes_at=iso_z(closes))
