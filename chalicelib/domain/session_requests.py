"""Session requests, "share your availability" (SPEC §2 "Session requests").

    requested ──propose──▶ proposed ──accept──▶ accepted
        │  ╲──decline──▶ declined       │ ╲──(accept_by passes)──▶ lapsed
        │ (respond_by passes) ──▶ expired │
        └───────withdraw (client)────────┴──▶ withdrawn;  provider gone ──▶ declined (provider_unavailable)

A client names exactly 3 distinct preferred times, each a date and a part of the day in the
client's own time zone: `morning` 08:00–12:00, `afternoon` 12:00–17:00, `evening` 17:00–21:00.
Parts are turned into real UTC intervals through `wallclock`, so a part on a DST night has its
true length and start. Each part must begin at least 24 h after the request, within 60 days and
the plan's booking horizon, and before the referral program's end.

The provider answers by `respond_by` (request + 48 h) with 1–3 proposed start times on their
own :00/:30 grid, inside a preferred part, at least 12 h ahead, not overlapping each other.
The client accepts one by `accept_by` = min(proposal + 48 h, latest proposed start − 1 h), and
never one starting in less than 1 h.

Deadlines are half-open, like every deadline in Haven: at `respond_by` itself a request is
`expired`, at `accept_by` a proposal is `lapsed` (`effective_status` decides by the clock, before
any sweep persists it). Rules are checked rule by rule in SPEC order across all the items, so
the first broken rule is reported with `details.index` naming the item that broke it.

Every number is a keyword parameter with the SPEC default; the service passes settings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

from chalicelib.domain.errors import DomainError, invalid_state
from chalicelib.domain.slots import is_on_slot
from chalicelib.domain.wallclock import iso_z, to_utc, wall_to_utc, zone

Interval = tuple[datetime, datetime]

# --- statuses ----------------------------------------------------------------------------------

REQUESTED, PROPOSED, ACCEPTED, DECLINED = "requested", "proposed", "accepted", "declined"
EXPIRED, LAPSED, WITHDRAWN = "expired", "lapsed", "withdrawn"
STATUSES = (REQUESTED, PROPOSED, ACCEPTED, DECLINED, EXPIRED, LAPSED, WITHDRAWN)
OPEN = frozenset({REQUESTED, PROPOSED})
FINAL = frozenset(STATUSES) - OPEN
# `reason` of a request that ended because its provider was deactivated or changed.
PROVIDER_UNAVAILABLE = "provider_unavailable"

PROVIDER, CLIENT, SYSTEM = "provider", "client", "system"

# --- parts of the day --------------------------------------------------------------------------

MORNING, AFTERNOON, EVENING = "morning", "afternoon", "evening"
PART_NAMES = (MORNING, AFTERNOON, EVENING)
# Wall-clock minutes after local midnight: start inclusive, end exclusive.
PARTS: dict[str, tuple[int, int]] = {MORNING: (8 * 60, 12 * 60), AFTERNOON: (12 * 60, 17 * 60),
                                     EVENING: (17 * 60, 21 * 60)}

# SPEC defaults; the service passes settings.
PREFERRED_COUNT = 3
REQUEST_MIN_NOTICE_HOURS = 24
REQUEST_MAX_DAYS = 60
RESPOND_HOURS = 48
MAX_PROPOSALS = 3
PROPOSAL_MIN_NOTICE_HOURS = 12
ACCEPT_HOURS = 48
ACCEPT_BEFORE_START_HOURS = 1
PROVIDER_NUDGE_HOURS = 24
CLIENT_NUDGE_HOURS = 12
SESSION_MINUTES = 45
STEP_MINUTES = 30

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, order=True)
class Preferred:
    """One preferred time: a local date and a part of that day (client's time zone)."""
    date: date
    part: str

    def as_dict(self) -> dict:
        return {"date": self.date.isoformat(), "part": self.part}


def _invalid(message: str, **details) -> DomainError:
    return DomainError("validation_error", message, **details)


def _parse_one(item, index: int) -> Preferred:
    if isinstance(item, Preferred):
        day, part = item.date, item.part
    elif isinstance(item, dict):
        day, part = item.get("date"), item.get("part")
    else:
        raise _invalid("Each preferred time is an object with a date and a part of the day.",
                       field="preferred", index=index)
    if isinstance(day, str) and _DATE.fullmatch(day):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            day = None
    if isinstance(day, datetime) or not isinstance(day, date):
        raise _invalid("A preferred date is written YYYY-MM-DD.", field="preferred", index=index)
    if part not in PARTS:
        raise _invalid(f"A part of the day is one of {', '.join(PART_NAMES)}.", field="preferred", index=index)
    return Preferred(day, part)


def parse_preferred(items, *, count: int = PREFERRED_COUNT) -> tuple[Preferred, ...]:
    """Exactly `count` distinct `{date, part}` (objects, or `Preferred`), in the order given.
    `validation_error` with `details.field = "preferred"` (and `index` where one item is at fault)."""
    if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
        raise _invalid(f"preferred must be a list of {count} times.", field="preferred")
    items = list(items)
    if len(items) != count:
        raise _invalid(f"Give exactly {count} preferred times.", field="preferred")
    parsed = tuple(_parse_one(item, index) for index, item in enumerate(items))
    for index, item in enumerate(parsed):
        if item in parsed[:index]:
            raise _invalid(f"The {count} preferred times must differ.", field="preferred", index=index)
    return parsed


def part_interval(day: date, part: str, tz: str) -> Interval:
    """The part of `day` in zone `tz` as a real UTC interval `[start, end)`. DST-correct: a
    wall time in a spring-forward gap resolves to the jump (see `wallclock`)."""
    if part not in PARTS:
        raise ValueError(f"unknown part of the day {part!r}")
    tzinfo = zone(tz)
    start, end = PARTS[part]
    return wall_to_utc(day, start, tzinfo), wall_to_utc(day, end, tzinfo)


def preferred_intervals(preferred: Iterable[Preferred], tz: str) -> list[Interval]:
    """Each preferred time as a UTC interval, in the order given."""
    return [part_interval(item.date, item.part, tz) for item in preferred]


def _where(index: int, item: Preferred) -> dict:
    return {"index": index, "date": item.date.isoformat(), "part": item.part}


def check_preferred(preferred: Sequence[Preferred], client_tz: str, requested_at: datetime, *,
                    min_notice_hours: float = REQUEST_MIN_NOTICE_HOURS, max_days: float = REQUEST_MAX_DAYS,
                    horizon: datetime | None = None, program_ends_at: datetime | None = None) -> list[Interval]:
    """The timing rules of a new request, each on every part's *start*, in SPEC order:

    - `too_soon`: a part begins less than `min_notice_hours` after the request (exactly is fine);
    - `too_far`: a part begins more than `max_days` after the request (exactly is fine), or at
      or after `horizon` (the plan's booking horizon, exclusive like a period's end; None: none);
    - `after_program_end`: a part begins at or after `program_ends_at` (None: no program).

    Answers the parts' UTC intervals, in order (the service checks credits against them).
    """
    requested_at = to_utc(requested_at)
    intervals = preferred_intervals(preferred, client_tz)
    earliest = requested_at + timedelta(hours=min_notice_hours)
    latest = requested_at + timedelta(days=max_days)
    for index, (start, _) in enumerate(intervals):
        if start < earliest:
            raise DomainError("too_soon",
                              f"Each preferred time must begin at least {min_notice_hours:g} hours from now.",
                              earliest=iso_z(earliest), **_where(index, preferred[index]))
    for index, (start, _) in enumerate(intervals):
        if start > latest:
            raise DomainError("too_far", f"Each preferred time must begin within {max_days:g} days.",
                              latest=iso_z(latest), **_where(index, preferred[index]))
        if horizon is not None and start >= to_utc(horizon):
            raise DomainError("too_far", "Each preferred time must begin before the end of your next billing period.",
                              latest=iso_z(horizon), **_where(index, preferred[index]))
    if program_ends_at is not None:
        for index, (start, _) in enumerate(intervals):
            if start >= to_utc(program_ends_at):
                raise DomainError("after_program_end", "Each preferred time must begin before your program ends.",
                                  program_ends_at=iso_z(program_ends_at), **_where(index, preferred[index]))
    return intervals


def respond_by(requested_at: datetime, *, hours: float = RESPOND_HOURS) -> datetime:
    """The provider answers while `now < respond_by`."""
    return to_utc(requested_at) + timedelta(hours=hours)


# --- proposals ---------------------------------------------------------------------------------

def check_proposals(starts: Sequence[datetime], *, preferred: Sequence[Preferred], client_tz: str,
                    provider_tz: str, now: datetime, session_minutes: int = SESSION_MINUTES,
                    min_notice_hours: float = PROPOSAL_MIN_NOTICE_HOURS, max_proposals: int = MAX_PROPOSALS,
                    step_minutes: int = STEP_MINUTES, program_ends_at: datetime | None = None) -> tuple[datetime, ...]:
    """Validate a provider's proposed start times; answer them in UTC, ascending.

    In SPEC order: 1..`max_proposals` times, no two overlapping as sessions of
    `session_minutes` (a duplicate overlaps; back to back is fine) → `validation_error`;
    each on the provider's local :00/:30 grid → `not_on_slot`; each inside a preferred part
    (part start ≤ start < part end, parts in the client's zone) → `not_preferred`; each at
    least `min_notice_hours` after `now` (exactly is fine) → `too_soon`. Then, as for any
    session of a referral program, none at or after `program_ends_at` → `after_program_end`.
    Published availability does not matter.
    """
    now = to_utc(now)
    if isinstance(starts, (str, bytes)) or not 1 <= len(starts) <= max_proposals:
        raise _invalid(f"Propose 1 to {max_proposals} start times.", field="starts_at")
    given = [to_utc(start) for start in starts]
    length = timedelta(minutes=session_minutes)
    ordered = sorted(given)
    for earlier, later in zip(ordered, ordered[1:]):
        if later - earlier < length:
            raise _invalid("Proposed times must not overlap each other.", field="starts_at",
                           starts_at=[iso_z(earlier), iso_z(later)])
    for index, start in enumerate(given):
        if not is_on_slot(start, provider_tz, step_minutes):
            raise DomainError("not_on_slot", f"Sessions start on the hour or half hour of your time ({provider_tz}).",
                              index=index, starts_at=iso_z(start))
    parts = preferred_intervals(preferred, client_tz)
    for index, start in enumerate(given):
        if not any(part_start <= start < part_end for part_start, part_end in parts):
            raise DomainError("not_preferred",
                              "Each proposed time must start inside one of the client's preferred times.",
                              index=index, starts_at=iso_z(start))
    earliest = now + timedelta(hours=min_notice_hours)
    for index, start in enumerate(given):
        if start < earliest:
            raise DomainError("too_soon", f"Proposed times must be at least {min_notice_hours:g} hours ahead.",
                              index=index, starts_at=iso_z(start), earliest=iso_z(earliest))
    if program_ends_at is not None:
        for index, start in enumerate(given):
            if start >= to_utc(program_ends_at):
                raise DomainError("after_program_end", "Proposed times must start before the client's program ends.",
                                  index=index, starts_at=iso_z(start), program_ends_at=iso_z(program_ends_at))
    return tuple(ordered)


def accept_by(proposed_at: datetime, proposals: Iterable[datetime], *, hours: float = ACCEPT_HOURS,
              before_start_hours: float = ACCEPT_BEFORE_START_HOURS) -> datetime:
    """min(proposed_at + `hours`, latest proposed start − `before_start_hours`). The client
    accepts while `now < accept_by`."""
    latest = max(to_utc(start) for start in proposals)
    return min(to_utc(proposed_at) + timedelta(hours=hours), latest - timedelta(hours=before_start_hours))


# --- the clock and the transitions -------------------------------------------------------------

@dataclass(frozen=True)
class RequestView:
    """What the rules need to know about a request; instants are aware (UTC)."""
    status: str
    requested_at: datetime
    respond_by: datetime
    proposals: tuple[datetime, ...] = ()
    proposed_at: datetime | None = None
    accept_by: datetime | None = None

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown session-request status {self.status!r}")
        if self.status == PROPOSED and (not self.proposals or self.accept_by is None):
            raise ValueError("a proposed request needs its proposals and accept_by")


def effective_status(request: RequestView, now: datetime) -> str:
    """The status as of `now`: `requested` at or after `respond_by` is `expired`; `proposed`
    at or after `accept_by` is `lapsed`."""
    now = to_utc(now)
    if request.status == REQUESTED and now >= to_utc(request.respond_by):
        return EXPIRED
    if request.status == PROPOSED and now >= to_utc(request.accept_by):
        return LAPSED
    return request.status


def is_open(request: RequestView, now: datetime) -> bool:
    """Still `requested` or `proposed` by the clock (one open request per client)."""
    return effective_status(request, now) in OPEN


def closes_at(request: RequestView) -> datetime | None:
    """When an open request ends by the clock if nobody acts: `respond_by` while requested,
    `accept_by` once proposed; None once it has ended."""
    if request.status == REQUESTED:
        return to_utc(request.respond_by)
    if request.status == PROPOSED:
        return to_utc(request.accept_by)
    return None


def held_intervals(request: RequestView, now: datetime, *, session_minutes: int = SESSION_MINUTES) -> list[Interval]:
    """The times a request holds (for the provider and the client) as of `now`: its proposals
    while it is `proposed` by the clock, nothing otherwise (a lapsed request frees them)."""
    if effective_status(request, now) != PROPOSED:
        return []
    length = timedelta(minutes=session_minutes)
    return [(to_utc(start), to_utc(start) + length) for start in sorted(request.proposals)]


def _require(request: RequestView, now: datetime, allowed: Iterable[str], action: str) -> str:
    status = effective_status(request, now)
    if status not in allowed:
        raise invalid_state(status, action, what="session request")
    return status


def can_propose(request: RequestView, now: datetime) -> str:
    """requested → proposed, before `respond_by`. Proposing is once: no second set of times."""
    _require(request, now, {REQUESTED}, "answered with proposals")
    return PROPOSED


def can_decline(request: RequestView, now: datetime, *, actor: str = PROVIDER) -> str:
    """→ declined. The provider declines a request they have not answered yet (before
    `respond_by`); Haven (`actor="system"`, reason `provider_unavailable`) ends any open one
    when its provider is deactivated or changed."""
    if actor == PROVIDER:
        _require(request, now, {REQUESTED}, "declined")
    elif actor == SYSTEM:
        _require(request, now, OPEN, "declined")
    else:
        raise ValueError(f"{actor} cannot decline a session request")
    return DECLINED


def can_withdraw(request: RequestView, now: datetime) -> str:
    """open (requested or proposed) → withdrawn, by the client; held times are released."""
    _require(request, now, OPEN, "withdrawn")
    return WITHDRAWN


def can_accept(request: RequestView, starts_at: datetime, now: datetime, *,
               min_notice_hours: float = ACCEPT_BEFORE_START_HOURS) -> str:
    """proposed → accepted, before `accept_by`, for one of the proposed times
    (`validation_error` otherwise) starting at least `min_notice_hours` from now (less:
    `too_soon`; exactly is fine)."""
    _require(request, now, {PROPOSED}, "accepted")
    starts_at, now = to_utc(starts_at), to_utc(now)
    proposals = sorted(to_utc(start) for start in request.proposals)
    if starts_at not in proposals:
        raise _invalid("Accept one of the proposed times.", field="starts_at",
                       proposals=[iso_z(start) for start in proposals])
    if starts_at - now < timedelta(hours=min_notice_hours):
        raise DomainError("too_soon", f"A proposed time starting in less than {min_notice_hours:g} hour(s) "
                          "can no longer be accepted.", starts_at=iso_z(starts_at))
    return ACCEPTED


# --- nudges ------------------------------------------------------------------------------------

def _nudge(began_at: datetime, deadline: datetime, hours: float) -> datetime | None:
    # A nudge due no later than the message it follows up would repeat it: skipped.
    moment = to_utc(deadline) - timedelta(hours=hours)
    return moment if moment > to_utc(began_at) else None


def provider_nudge_at(requested_at: datetime, respond_by: datetime, *,
                      hours: float = PROVIDER_NUDGE_HOURS) -> datetime | None:
    """When to remind the provider (once): `hours` before `respond_by`; None when that is not
    after the request itself."""
    return _nudge(requested_at, respond_by, hours)


def client_nudge_at(proposed_at: datetime, accept_by: datetime, *,
                    hours: float = CLIENT_NUDGE_HOURS) -> datetime | None:
    """When to remind the client (once): `hours` before `accept_by`; None when that is not
    after the proposal itself (a short proposal window: the proposal email says it all)."""
    return _nudge(proposed_at, accept_by, hours)
