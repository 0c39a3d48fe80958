"""Session-request transitions planned as data, like `booking_plans` (ARCHITECTURE "How a change flows").

A request's every change — asking, proposing (holding times), declining, withdrawing,
accepting (a booking transition), ending by the clock (expired, lapsed), ending because its
provider is gone, and the nudges — is planned here by a pure function into a
`booking_plans.Change`, and committed by the one booking commit (`services.bookings.commit`),
so a held proposal goes through exactly the guard bookings go through:

- proposed times are claim items (`<member id>#<granule>`, both members) named after the
  request, created with `attribute_not_exists` in the transaction that proposes (all or nothing);
- the request also holds one lock claim per client (`<client id>#open_request`) from the moment
  it is made, so a client has at most one open request under any concurrency;
- everything a request holds is released in the transaction that ends it; accepting hands the
  accepted time's claims over to the new booking (an update under the request's name) in the
  transaction that creates the booking and spends its credit, so the time is never free.

Timers (due items) are keyed by the request id, its version and their purpose; a timer that
fires for an older version, or a request no longer in the state it was set for, is settled
as skipped. Nothing here reads the clock: `now` is a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Mapping

from chalicelib.domain import booking_plans as plans
from chalicelib.domain import session_requests as sr
from chalicelib.domain.wallclock import to_utc

# Timer purposes: the deadlines sweep acts on `respond` (→ expired) and `accept` (→ lapsed);
# the reminders sweep on the two nudges.
RESPOND, ACCEPT, NUDGE_PROVIDER, NUDGE_CLIENT = "respond", "accept", "nudge_provider", "nudge_client"
DEADLINE_PURPOSES = (RESPOND, ACCEPT)
NUDGE_PURPOSES = (NUDGE_PROVIDER, NUDGE_CLIENT)
DECLINED_BY_PROVIDER = "declined"
Change = plans.Change  # `reason` code of a provider's decline (their words are sealed apart)


@dataclass(frozen=True)
class Request:
    """A stored session request as a value (the store converts it once). Instants are aware UTC."""
    id: str
    client_id: str
    provider_id: str
    modality: str
    status: str
    requested_at: datetime
    respond_by: datetime
    preferred: tuple[sr.Preferred, ...]
    client_tz: str = "UTC"
    provider_tz: str = "UTC"
    version: int = 1
    claims: tuple[str, ...] = ()
    proposals: tuple[datetime, ...] = ()
    proposed_at: datetime | None = None
    accept_by: datetime | None = None
    booking_id: str | None = None
    reason: str | None = None
    ended_at: datetime | None = None
    plan_kind: str | None = None
    program_ends_at: datetime | None = None

    def view(self) -> sr.RequestView:
        return sr.RequestView(status=self.status, requested_at=self.requested_at, respond_by=self.respond_by,
                              proposals=self.proposals, proposed_at=self.proposed_at, accept_by=self.accept_by)

    def status_at(self, now: datetime) -> str:
        return sr.effective_status(self.view(), now)


@dataclass(frozen=True)
class Numbers:
    """The settings (SPEC §2 defaults) that planning requests needs; the service passes them in."""
    session_minutes: int = sr.SESSION_MINUTES
    respond_hours: float = sr.RESPOND_HOURS
    accept_hours: float = sr.ACCEPT_HOURS
    accept_before_start_hours: float = sr.ACCEPT_BEFORE_START_HOURS
    provider_nudge_hours: float = sr.PROVIDER_NUDGE_HOURS
    client_nudge_hours: float = sr.CLIENT_NUDGE_HOURS


# --- what a change writes (besides booking_plans' claims, credits, bookings and timers) -----------

@dataclass(frozen=True)
class NewRequest:
    """Create the request (only if no item has its id). `sealed`: stored attributes the service
    sealed (the note and the request's data key), never part of the value."""
    request: Request
    sealed: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateRequest:
    """Set fields under the optimistic lock: the stored version and status must be those read;
    the version moves on."""
    request_id: str
    version: int
    status: str
    set: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestTimer:
    """A due item for a sweep, set for the request at `version` (the version after the change)."""
    request_id: str
    purpose: str
    due_at: datetime
    version: int


@dataclass(frozen=True)
class RequestNotice:
    """An email about a request to `roles` (`client`, `provider`), keyed by the request and the
    `event`, so recording it again is a no-op. Times only: never the note or a reason."""
    request: Request
    event: str
    template: str
    roles: tuple[str, ...]
    extra: Mapping[str, object] = field(default_factory=dict)


def timer_id(request_id: str, version: int, purpose: str) -> str:
    return f"{request_id}:v{version}:{purpose}"


# --- asking ---------------------------------------------------------------------------------------

def plan_create(req: Request, lock_ends_at: datetime, n: Numbers, sealed: Mapping | None = None) -> Change:
    """A new request (status `requested`, version 1) takes the client's lock claim (in
    `req.claims`), sets its deadline and the provider's nudge, and tells the provider."""
    writes = [plans.Claims(req.id, lock_ends_at, add=req.claims), NewRequest(req, dict(sealed or {})),
              RequestTimer(req.id, RESPOND, req.respond_by, req.version)]
    nudge = sr.provider_nudge_at(req.requested_at, req.respond_by, hours=n.provider_nudge_hours)
    if nudge is not None:
        writes.append(RequestTimer(req.id, NUDGE_PROVIDER, nudge, req.version))
    return Change("requested", req, tuple(writes), (RequestNotice(req, "received", "session_request_received",
                                                                  ("provider",)),))


# --- the provider's answer ------------------------------------------------------------------------

def plan_propose(req: Request, starts: tuple[datetime, ...], held: tuple[tuple[str, ...], ...], now: datetime,
                 n: Numbers) -> Change:
    """requested → proposed: the proposed `starts` (checked by `session_requests.check_proposals`)
    are held through the guard: `held[i]` are the claim ids of `starts[i]` (both members' granules),
    all created in this change or none. The client's accept deadline and nudge are set."""
    sr.can_propose(req.view(), now)
    starts = tuple(to_utc(s) for s in starts)
    accept_by = sr.accept_by(now, starts, hours=n.accept_hours, before_start_hours=n.accept_before_start_hours)
    version = req.version + 1
    claims = tuple(c for ids in held for c in ids)
    done = replace(req, status=sr.PROPOSED, version=version, proposals=starts, proposed_at=to_utc(now),
                   accept_by=accept_by, claims=(*req.claims, *claims))
    last_end = max(starts) + timedelta(minutes=n.session_minutes)
    writes = [UpdateRequest(req.id, req.version, sr.REQUESTED,
                            {"status": sr.PROPOSED, "proposals": starts, "proposed_at": now, "accept_by": accept_by,
                             "claims": done.claims, "updated_at": now}),
              plans.Claims(req.id, last_end, add=claims),
              RequestTimer(req.id, ACCEPT, accept_by, version)]
    nudge = sr.client_nudge_at(now, accept_by, hours=n.client_nudge_hours)
    if nudge is not None:
        writes.append(RequestTimer(req.id, NUDGE_CLIENT, nudge, version))
    return Change("proposed", done, tuple(writes),
                  (RequestNotice(done, "proposed", "session_request_proposed", ("client",)),))


def _end(req: Request, status: str, now: datetime, *, ended_at: datetime | None = None, **more) -> tuple:
    """The request ends: its new status (under the lock of the version read) and the release of
    everything it holds (its proposed times and the client's open-request lock)."""
    fields = {"status": status, "ended_at": ended_at or now, "updated_at": now, "claims": (), **more}
    writes = [UpdateRequest(req.id, req.version, req.status, fields)]
    if req.claims:
        writes.append(plans.Claims(req.id, req.ended_at or now, release=req.claims, old_booking_id=req.id))
    return tuple(writes)


def _ended(req: Request, status: str, now: datetime, ended_at: datetime | None = None, **more) -> Request:
    return replace(req, status=status, version=req.version + 1, claims=(), ended_at=ended_at or to_utc(now),
                   **more)


def plan_decline(req: Request, now: datetime, sealed_reason: bytes | None = None,
                 key_blob: bytes | None = None) -> Change:
    """The provider declines a request they have not answered (before `respond_by`). Their
    reason, if any, is stored sealed (`sealed_reason`, with the request's new data key when it
    had none); the client is told without it."""
    sr.can_decline(req.view(), now, actor=sr.PROVIDER)
    more = {"reason": DECLINED_BY_PROVIDER}
    sealed = {}
    if sealed_reason is not None:
        sealed["decline_reason"] = sealed_reason
    if key_blob is not None:
        sealed["key_blob"] = key_blob
    done = _ended(req, sr.DECLINED, now, reason=DECLINED_BY_PROVIDER)
    return Change("declined", done, _end(req, sr.DECLINED, now, **more, **sealed),
                  (RequestNotice(done, "declined", "session_request_declined", ("client",)),))


def plan_withdraw(req: Request, now: datetime) -> Change:
    """The client withdraws an open request; any held times are released."""
    sr.can_withdraw(req.view(), now)
    done = _ended(req, sr.WITHDRAWN, now)
    notices = ()
    if req.status == sr.PROPOSED:  # the provider held these times for the client: tell them they are free
        notices = (RequestNotice(done, "withdrawn", "session_request_withdrawn", ("provider",)),)
    return Change("withdrawn", done, _end(req, sr.WITHDRAWN, now), notices)


# --- the clock and the provider going --------------------------------------------------------------

def plan_by_clock(req: Request, now: datetime, timer: str | None = None, timer_version: int | None = None
                  ) -> Change | None:
    """Persist what the clock decided: a request past `respond_by` is `expired`, a proposal past
    `accept_by` is `lapsed`; held times are released and the client told. Its end is the
    deadline itself. None when the clock has decided nothing for it (yet, or any more)."""
    if req.status not in sr.OPEN:
        return None
    status = req.status_at(now)
    if status not in (sr.EXPIRED, sr.LAPSED):
        return None
    ended_at = sr.closes_at(req.view())
    done = _ended(req, status, now, ended_at=ended_at)
    writes = _end(req, status, now, ended_at=ended_at)
    if timer is not None:
        writes = (*writes, plans.SettleTimer(timer, status, timer_version))
    template = "session_request_expired" if status == sr.EXPIRED else "session_request_lapsed"
    return Change(status, done, writes, (RequestNotice(done, status, template, ("client",)),))


def plan_provider_gone(req: Request, now: datetime) -> Change | None:
    """Its provider was deactivated or changed: an open request ends `declined` with reason
    `provider_unavailable`, held times released, the client told. A request the clock already
    ended is persisted as such instead; an ended one is left alone (None)."""
    if req.status not in sr.OPEN:
        return None
    if req.status_at(now) not in sr.OPEN:
        return plan_by_clock(req, now)
    sr.can_decline(req.view(), now, actor=sr.SYSTEM)
    done = _ended(req, sr.DECLINED, now, reason=sr.PROVIDER_UNAVAILABLE)
    return Change("provider_unavailable", done, _end(req, sr.DECLINED, now, reason=sr.PROVIDER_UNAVAILABLE),
                  (RequestNotice(done, "provider_unavailable", "session_request_provider_unavailable",
                                 ("client",)),))


# --- acceptance: a booking transition --------------------------------------------------------------

def plan_accept(req: Request, booking: plans.Booking, credit_writes: tuple, now: datetime, n: Numbers,
                bn: plans.Numbers) -> Change:
    """proposed → accepted, and the booking (`confirmed`, at one of the proposed times) in ONE
    change: the accepted time's claims are handed over from the request to the booking (so the
    time is never free), the other held times and the client's lock are released, the credit is
    spent (`credit_writes`), the booking's timers are set and both get the confirmation with the
    calendar invitation."""
    sr.can_accept(req.view(), booking.starts_at, now, min_notice_hours=n.accept_before_start_hours)
    update = UpdateRequest(req.id, req.version, sr.PROPOSED,
                           {"status": sr.ACCEPTED, "booking_id": booking.id, "ended_at": now, "updated_at": now,
                            "claims": ()})
    writes = (update,
              plans.Claims(booking.id, booking.ends_at, add=booking.claims, release=req.claims,
                           old_booking_id=req.id),
              *credit_writes, plans.NewBooking(booking), *plans.confirmed_timers(booking, booking.version, now, bn))
    return Change("accepted", booking, writes,
                  (plans.Notice(booking, "confirmed", "booking_confirmed", ("client", "provider"),
                                version=booking.version, ics_method="REQUEST", sequence=booking.sequence),))


# --- nudges ---------------------------------------------------------------------------------------

def plan_nudge(req: Request | None, timer: str, purpose: str, version: int, now: datetime,
               timer_version: int | None = None) -> Change:
    """Once each: the provider while the request still waits for an answer, the client while the
    proposal still waits for acceptance, both at the version the nudge was set for. Either way
    the timer is settled in the change, so two runs never both act."""
    wanted = sr.REQUESTED if purpose == NUDGE_PROVIDER else sr.PROPOSED
    ok = req is not None and req.version == version and req.status == wanted and req.status_at(now) == wanted
    if not ok:
        return Change("skipped", req, (plans.SettleTimer(timer, "skipped", timer_version),))
    role, template = ("provider", "session_request_nudge_provider") if purpose == NUDGE_PROVIDER \
        else ("client", "session_request_nudge_client")
    return Change("nudged", req, (plans.SettleTimer(timer, "sent", timer_version),),
                  (RequestNotice(req, purpose, template, (role,)),))
