"""Booking transitions planned as data (ARCHITECTURE "How a change flows").

Every change to a live session — create, confirm, decline, cancel, reschedule, join, complete,
no-show, expiry, outcome, reminders — is first *planned* here by a pure function: the booking's
new state, the claims it adds, releases or moves, the credit it spends, returns or charges, the
timers it sets or settles, the links it makes or uses, and the notices it sends. A plan is a
`Change`: plain frozen dataclasses, no AWS, no clock (`now` and every random id are parameters).

The store turns a `Change` into ONE transaction (`store.bookings.write_change`) and the services
commit it in one place (`services.bookings.commit`), which turns a refused condition into the
domain error by re-reading and delivers the notices after the commit. So a new transition that
occupies time (a held proposal, an accepted request) is one more planner here, not one more
hand-written transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Mapping

from chalicelib.domain import bookings as rules
from chalicelib.domain import credits as policy
from chalicelib.domain.wallclock import to_utc


# --- the booking, as the rules see it -----------------------------------------------------------

@dataclass(frozen=True)
class Credit:
    """What a booking holds: one credit of a usage `bucket`, or a `purchased` one."""
    bucket: str | None = None
    purchased: bool = False


@dataclass(frozen=True)
class Booking:
    """A stored booking as a value (the store converts it once). Instants are aware UTC."""
    id: str
    client_id: str
    provider_id: str
    room_id: str
    modality: str
    status: str
    starts_at: datetime
    ends_at: datetime
    version: int
    series_id: str
    created_at: str
    created_by: str
    confirm_by: datetime | None = None
    sequence: int = 0
    credit: Credit = Credit()
    plan_kind: str | None = None
    price_cents: int = 0
    claims: tuple[str, ...] = ()
    client_tz: str = "UTC"
    provider_tz: str = "UTC"
    client_joined_at: datetime | None = None
    provider_joined_at: datetime | None = None
    rescheduled_to: str | None = None
    rescheduled_from: str | None = None
    client_email: str | None = None
    provider_email: str | None = None
    # the clinical record's marks on the booking (set by its own changes, never by a transition)
    questionnaire_submitted: bool = False
    risk_flag: bool = False
    rated: bool = False
    # the live session's current Chime meeting (video and audio): its id, Chime's `Meeting` object as
    # the client SDKs take it, and its generation (1 for the first; the next one after Chime ended it)
    meeting_id: str | None = None
    meeting: Mapping | None = None
    meeting_generation: int = 0
    # the keyed request (chalicelib.request_key digest) that made its last change: its retry after
    # a crash past the commit answers the booking as it is, not the conflict it made itself
    last_request: str | None = None

    def view(self) -> rules.BookingView:
        return rules.BookingView(status=self.status, starts_at=self.starts_at, ends_at=self.ends_at,
                                 confirm_by=self.confirm_by, client_joined_at=self.client_joined_at,
                                 provider_joined_at=self.provider_joined_at)


@dataclass(frozen=True)
class Numbers:
    """The settings (SPEC §2 defaults) that planning needs; the service passes them in."""
    session_minutes: int = 45
    confirm_before_start_hours: float = 24
    outcome_grace_hours: float = 24
    reminder_long_hours: float = 24
    reminder_short_minutes: float = 10
    late_change_hours: float = 24
    link_token_days: float = 7


# --- what a change writes -----------------------------------------------------------------------

@dataclass(frozen=True)
class NewBooking:
    booking: Booking


@dataclass(frozen=True)
class UpdateBooking:
    """Set fields under the optimistic lock: the stored version (and status) must be those read.
    `absent` names fields that must not be set yet (a no-show needs the other side not joined);
    `keep_first` sets a field only if it has no value; `earliest` sets a field only if it has no
    value or a later one (refused otherwise: the caller treats that as already done); `bump` moves
    the version on. `version` None: no version condition (attendance, which no status change voids)."""
    booking_id: str
    version: int | None
    status: str | None
    set: Mapping[str, object] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    keep_first: Mapping[str, object] = field(default_factory=dict)
    bump: bool = True
    earliest: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Claims:
    """Slot claims: `add` is created (the guard), `release` deleted while it still names
    `old_booking_id`; a claim both in `release` and `add` is handed over to `booking_id`."""
    booking_id: str
    ends_at: datetime
    add: tuple[str, ...] = ()
    release: tuple[str, ...] = ()
    old_booking_id: str | None = None


@dataclass(frozen=True)
class SpendCredit:
    client_id: str
    bucket: str
    limit: int


@dataclass(frozen=True)
class ReturnCredit:
    client_id: str
    bucket: str


@dataclass(frozen=True)
class Charge:
    """A ledger line for a booking: `session_purchase`, `session_refund` or `missed_session`."""
    client_id: str
    booking_id: str
    reason: str
    amount_cents: int


@dataclass(frozen=True)
class Timer:
    """A due item for a sweep: `purpose` is `confirm`, `outcome` or `reminder` (`which`: long|short)."""
    booking_id: str
    purpose: str
    due_at: datetime
    version: int | None = None
    which: str | None = None
    # a reminder carries the booking as it was confirmed, so its sweep need not read it again
    booking: Booking | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CheckBooking:
    """A condition only (nothing written): the booking is still at `version` and `status`. A sweep
    that acted on a due item's copy of the booking commits under it."""
    booking_id: str
    version: int
    status: str


@dataclass(frozen=True)
class SettleTimer:
    """Take a due item out of its index, once (conditioned on it still being due, and on the
    version read when given)."""
    timer_id: str
    outcome: str
    version: int | None = None


@dataclass(frozen=True)
class DropTimer:
    """Take a booking's due item out of the index for good (deleted whether or not it exists):
    a booking that stops needing a reminder or a check must not hold a sweep's place in line."""
    booking_id: str
    purpose: str
    version: int | None = None
    which: str | None = None


@dataclass(frozen=True)
class SetMeeting:
    """Store the booking's meeting of `generation`, only while the stored generation is still
    `replaces` (0: none yet) and the booking is confirmed: of two concurrent joins one stores it,
    the other reads the winner's."""
    booking_id: str
    generation: int
    replaces: int
    meeting_id: str
    meeting: Mapping


@dataclass(frozen=True)
class ClearMeeting:
    """Forget the booking's meeting when it is still `meeting_id` (Chime ended it): the next join
    creates the next generation."""
    booking_id: str
    meeting_id: str


@dataclass(frozen=True)
class MeetingTimer:
    """The deadlines sweep's due item that ends one meeting (DeleteMeeting) after the session."""
    booking_id: str
    generation: int
    meeting_id: str
    due_at: datetime


@dataclass(frozen=True)
class NewLink:
    """The provider's emailed confirm/decline link (its random id, not the token)."""
    link_id: str
    booking_id: str
    actor_id: str
    expires_at: datetime


@dataclass(frozen=True)
class UseLink:
    link_hash: str
    action: str


@dataclass(frozen=True)
class Notice:
    """An email about `booking` to `roles` (`client`, `provider`, `ops`), keyed by the booking,
    the `event` and (when given) the version, so recording it again is a no-op."""
    booking: Booking
    event: str
    template: str
    roles: tuple[str, ...]
    version: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    ics_method: str | None = None
    sequence: int = 0
    key_booking_id: str | None = None  # the booking the key names, when not `booking` (a reschedule)
    moot_at: datetime | None = None  # from then on the email means nothing: dropped, never sent late
    guarded: bool = False  # dropped on retry if the booking moved past `version` meanwhile


@dataclass(frozen=True)
class RoomNote:
    """A system message in the booking's room, posted after the commit (at least once)."""
    booking: Booking
    event: str
    text: str  # a text id the notices module renders: expired | remind_long | remind_short
    version: int | None = None
    join_link: bool = False  # the message offers each member who reads it their own join link


@dataclass(frozen=True)
class Change:
    """One transition: what to write in one transaction, and the booking as it now is."""
    action: str
    result: Booking
    writes: tuple = ()
    notices: tuple[Notice | RoomNote, ...] = ()

    @property
    def claims_added(self) -> tuple[str, ...]:
        return tuple(c for w in self.writes if isinstance(w, Claims) for c in w.add)


# --- pieces every plan shares -------------------------------------------------------------------

def credit_release(b: Booking, outcome: policy.Outcome) -> tuple:
    """What happens to the credit a booking held, inside the change that ends it."""
    if outcome.credit == policy.RETURN:
        if b.credit.purchased:
            return (Charge(b.client_id, b.id, "session_refund", -b.price_cents),) if b.price_cents else ()
        if b.credit.bucket:
            return (ReturnCredit(b.client_id, b.credit.bucket),)
    elif outcome.credit == policy.FORFEIT and outcome.charge_price and b.price_cents:
        return (Charge(b.client_id, b.id, "missed_session", b.price_cents),)
    return ()


def outcome_of(actor: str, action: str, b: Booking, now: datetime, n: Numbers) -> policy.Outcome:
    return policy.on_outcome(actor, action, b.starts_at, now, n.late_change_hours,
                             b.plan_kind or policy.SUBSCRIPTION, purchased=b.credit.purchased)


def confirmed_timers(b: Booking, version: int, now: datetime, n: Numbers) -> tuple[Timer, ...]:
    """The outcome check 24 h after the end, and each reminder whose moment has not passed: one
    whose moment passed before the booking was confirmed is skipped; one due at the very moment
    of confirmation is kept (so a provider booking made exactly 24 h ahead gets its reminder)."""
    out = [Timer(b.id, "outcome", to_utc(b.ends_at) + timedelta(hours=n.outcome_grace_hours))]
    for which, due in (("long", b.starts_at - timedelta(hours=n.reminder_long_hours)),
                       ("short", b.starts_at - timedelta(minutes=n.reminder_short_minutes))):
        if due >= now:
            out.append(Timer(b.id, "reminder", due, version=version, which=which, booking=b))
    return tuple(out)


def timers_held(b: Booking, keep: tuple[str, ...] = ()) -> tuple[DropTimer, ...]:
    """The due items a booking in its current state may have set (a pending one its confirmation
    deadline; a confirmed one its reminders at this version and its outcome check), except those
    whose purpose the change settles itself (`keep`)."""
    if b.status == rules.PENDING:
        held = (DropTimer(b.id, "confirm"),)
    elif b.status == rules.CONFIRMED:
        held = (DropTimer(b.id, "reminder", b.version, "long"), DropTimer(b.id, "reminder", b.version, "short"),
                DropTimer(b.id, "outcome"))
    else:
        held = ()
    return tuple(t for t in held if t.purpose not in keep)


def _ended(b: Booking, status: str, actor: str, now: datetime, **more) -> UpdateBooking:
    return UpdateBooking(b.id, b.version, b.status,
                         {"status": status, "ended_by": actor, "updated_at": now, **more})


# --- creating -----------------------------------------------------------------------------------

def new_booking(*, booking_id: str, actor: str, client_id: str, provider_id: str, room_id: str, modality: str,
                starts_at: datetime, now: datetime, n: Numbers, credit: Credit, plan_kind: str | None,
                price_cents: int, claims: tuple[str, ...], client_tz: str, provider_tz: str,
                iso_now: str, series_id: str | None = None, sequence: int = 0,
                rescheduled_from: str | None = None, client_email: str | None = None,
                provider_email: str | None = None) -> Booking:
    status = rules.initial_status(actor)
    return Booking(
        id=booking_id, client_id=client_id, provider_id=provider_id, room_id=room_id, modality=modality,
        status=status, starts_at=to_utc(starts_at), ends_at=to_utc(starts_at) + timedelta(minutes=n.session_minutes),
        confirm_by=rules.confirm_by(starts_at, n.confirm_before_start_hours) if status == rules.PENDING else None,
        version=1, series_id=series_id or booking_id, sequence=sequence, created_at=iso_now, created_by=actor,
        credit=credit, plan_kind=plan_kind, price_cents=price_cents, claims=claims, client_tz=client_tz,
        provider_tz=provider_tz, rescheduled_from=rescheduled_from, client_email=client_email,
        provider_email=provider_email)


def spend(client_id: str, b: Booking, limit: int) -> tuple:
    """The credit a new booking takes: a usage counter under its limit, or a purchase charge."""
    if b.credit.purchased:
        return (Charge(client_id, b.id, "session_purchase", b.price_cents),)
    return (SpendCredit(client_id, b.credit.bucket, limit),)


def _arrival(b: Booking, now: datetime, n: Numbers, link_id: str) -> tuple[tuple, tuple]:
    """Writes and notices a new booking brings: a pending one asks the provider (confirmation
    timer, emailed link); a confirmed one sets its timers and sends the invitation to both."""
    if b.status == rules.PENDING:
        expires = min(b.confirm_by, now + timedelta(days=n.link_token_days))
        writes = (Timer(b.id, "confirm", b.confirm_by), NewLink(link_id, b.id, b.provider_id, expires))
        notices = (Notice(b, "requested", "booking_requested", ("provider",),
                          extra={"link_id": link_id, "confirm_by": b.confirm_by}, moot_at=b.confirm_by),)
        return writes, notices
    return confirmed_timers(b, b.version, now, n), (
        Notice(b, "confirmed", "booking_confirmed", ("client", "provider"), version=b.version,
               ics_method="REQUEST", sequence=b.sequence),)


def plan_create(b: Booking, credit_writes: tuple, now: datetime, n: Numbers, link_id: str) -> Change:
    writes, notices = _arrival(b, now, n, link_id)
    return Change("created", b, (Claims(b.id, b.ends_at, add=b.claims), *credit_writes, NewBooking(b), *writes),
                  notices)


# --- provider decisions -------------------------------------------------------------------------

def plan_confirm(b: Booking, now: datetime, n: Numbers, link: UseLink | None = None) -> Change:
    rules.can_confirm(b.view(), now)
    version, sequence = b.version + 1, b.sequence + 1
    done = replace(b, status=rules.CONFIRMED, version=version, sequence=sequence)
    writes = (UpdateBooking(b.id, b.version, rules.PENDING,
                            {"status": rules.CONFIRMED, "sequence": sequence, "updated_at": now}),
              *([link] if link else []), *confirmed_timers(done, version, now, n), *timers_held(b))
    return Change("confirmed", done, writes,
                  (Notice(done, "confirmed", "booking_confirmed", ("client", "provider"), version=version,
                          ics_method="REQUEST", sequence=sequence),))


def plan_decline(b: Booking, now: datetime, n: Numbers, link: UseLink | None = None) -> Change:
    rules.can_decline(b.view(), now)
    done = replace(b, status=rules.DECLINED, version=b.version + 1)
    writes = (_ended(b, rules.DECLINED, rules.PROVIDER, now),
              Claims(b.id, b.ends_at, release=b.claims, old_booking_id=b.id),
              *credit_release(b, outcome_of(rules.PROVIDER, "decline", b, now, n)), *([link] if link else []),
              *timers_held(b))
    return Change("declined", done, writes,
                  (Notice(done, "declined", "booking_declined", ("client",), version=done.version),))


# --- member changes -----------------------------------------------------------------------------

CANCELLED_BY = {rules.PROVIDER: "by the provider", rules.CLIENT: "by the client", rules.SYSTEM: "by Haven"}


def plan_cancel(b: Booking, actor: str, now: datetime, n: Numbers, reason=None) -> Change:
    """`reason` is stored on the booking as given (the service seals it); it never reaches a notice."""
    new_status = rules.can_cancel(b.view(), now, actor, n.late_change_hours)
    version, sequence = b.version + 1, b.sequence + 1
    done = replace(b, status=new_status, version=version, sequence=sequence)
    update = _ended(b, new_status, actor, now, sequence=sequence)
    if reason:
        update = replace(update, set={**update.set, "cancel_reason": reason})
    writes = (update, Claims(b.id, b.ends_at, release=b.claims, old_booking_id=b.id),
              *credit_release(b, outcome_of(actor, "cancel", b, now, n)), *timers_held(b))
    return Change("cancelled", done, writes,
                  (Notice(done, "cancelled", "booking_cancelled", ("client", "provider"), version=version,
                          extra={"by": CANCELLED_BY[actor]},
                          ics_method="CANCEL" if b.status == rules.CONFIRMED else None, sequence=sequence),))


@dataclass(frozen=True)
class CreditChoice:
    """How the new booking of a reschedule holds its credit (decided by the service, which reads
    usage): `writes` spend or return counters; `credit` is what the new booking holds."""
    credit: Credit
    writes: tuple = ()
    plan_kind: str | None = None
    price_cents: int | None = None


def reschedule_credit(old: Booking, outcome: policy.Outcome, new_bucket: str) -> str:
    """`keep` (the credit moves as it is), `spend_new` (a move across periods: spend the new
    period's, return the old), or `own` (a late change: the new booking needs its own)."""
    if outcome.credit == policy.MOVE:
        if old.credit.purchased or old.credit.bucket == new_bucket:
            return "keep"
        return "spend_new"
    return "own"


def plan_reschedule(old: Booking, new: Booking, actor: str, choice: CreditChoice, now: datetime, n: Numbers,
                    link_id: str) -> Change:
    """The new booking takes the time through the guard (a granule both occupy is handed over),
    the old one becomes `rescheduled`; the credit moves, or is forfeited on a late change."""
    rules.can_reschedule(old.view(), now, actor)
    outcome = outcome_of(actor, "reschedule", old, now, n)
    forfeit = credit_release(old, outcome) if outcome.credit == policy.FORFEIT else ()
    writes, notices = _arrival(new, now, n, link_id)
    if new.status == rules.PENDING and old.status == rules.CONFIRMED:
        method = "CANCEL"  # the agreed time is withdrawn until the provider confirms the new one
    else:
        method = "REQUEST" if new.status == rules.CONFIRMED else None
    if new.status == rules.CONFIRMED:  # the rescheduled email carries the invitation; no separate one
        notices = ()
    moved = Notice(new, "rescheduled", "booking_rescheduled", ("client", "provider"), key_booking_id=old.id,
                   extra={"old_starts_at": old.starts_at,
                          "next": "The provider will confirm the new time." if new.status == rules.PENDING
                          else "It is confirmed."},
                   ics_method=method, sequence=new.sequence)
    update = UpdateBooking(old.id, old.version, old.status,
                           {"status": rules.RESCHEDULED, "rescheduled_to": new.id, "ended_by": actor,
                            "updated_at": now})
    return Change("rescheduled", new,
                  (update, Claims(new.id, new.ends_at, add=new.claims, release=old.claims, old_booking_id=old.id),
                   *choice.writes, *forfeit, NewBooking(new), *writes, *timers_held(old)),
                  (*notices, moved))


def with_timer_version(change: Change, version: int) -> Change:
    """Condition the settling of the change's due item on the version the sweep read."""
    return replace(change, writes=tuple(replace(w, version=version) if isinstance(w, SettleTimer) else w
                                        for w in change.writes))


def plan_join(b: Booking, role: str, now: datetime, n_opens_minutes: float) -> Change:
    """The first join time of each side is kept; the booking must still be confirmed at the
    version read (a join does not move the version)."""
    rules.check_join(b.view(), now, n_opens_minutes)
    field_name = f"{role}_joined_at"
    done = b if getattr(b, field_name) else replace(b, **{field_name: now})
    return Change("joined", done, (UpdateBooking(b.id, b.version, rules.CONFIRMED, keep_first={field_name: now},
                                                 bump=False),))


# --- the meeting of a video or audio session (SPEC §2 "Live sessions on real media") --------------

def plan_meeting(b: Booking, meeting_id: str, meeting: Mapping, generation: int, end_after_minutes: float) -> Change:
    """Store the meeting of `generation` in place of the one read (its generation), with the due
    item that ends it after the session, in one transaction."""
    done = replace(b, meeting_id=meeting_id, meeting=meeting, meeting_generation=generation)
    return Change("meeting", done, (
        SetMeeting(b.id, generation, b.meeting_generation, meeting_id, meeting),
        MeetingTimer(b.id, generation, meeting_id, b.ends_at + timedelta(minutes=end_after_minutes))))


def plan_attended(b: Booking, role: str, at: datetime) -> Change | None:
    """Chime says `role` was in the meeting at `at`: keep the EARLIEST such moment (events repeat
    and arrive out of order; none erases one). None when an earlier moment is already known."""
    field_name = f"{role}_joined_at"
    known = getattr(b, field_name)
    if known is not None and known <= at:
        return None
    return Change("joined", replace(b, **{field_name: at}),
                  (UpdateBooking(b.id, None, None, earliest={field_name: at}, bump=False),))


def plan_meeting_ended(b: Booking, meeting_id: str) -> Change | None:
    """Chime ended `meeting_id`: forget it if it is still the booking's (an older one's end says
    nothing about the current meeting)."""
    if b.meeting_id != meeting_id:
        return None
    return Change("meeting", replace(b, meeting_id=None, meeting=None), (ClearMeeting(b.id, meeting_id),))


def plan_complete(b: Booking, now: datetime, n: Numbers) -> Change:
    rules.can_complete(b.view(), now, n.outcome_grace_hours)
    return _close(b, rules.COMPLETED, rules.PROVIDER, None, now)


def plan_no_show(b: Booking, actor: str, now: datetime, n: Numbers, after_minutes: float) -> Change:
    new_status = rules.can_no_show(b.view(), now, actor, after_minutes, n.outcome_grace_hours)
    action = "no_show_client" if actor == rules.PROVIDER else "no_show_provider"
    return _close(b, new_status, actor, outcome_of(actor, action, b, now, n), now)


def _close(b: Booking, new_status: str, actor: str, outcome, now: datetime) -> Change:
    done = replace(b, status=new_status, version=b.version + 1)
    absent = {rules.CLIENT_NO_SHOW: ("client_joined_at",), rules.PROVIDER_NO_SHOW: ("provider_joined_at",)}
    update = replace(_ended(b, new_status, actor, now), status=rules.CONFIRMED, absent=absent.get(new_status, ()))
    notices = ()
    if new_status == rules.PROVIDER_NO_SHOW:
        notices = (Notice(done, "provider_no_show", "booking_provider_no_show_ops", ("ops",)),)
    return Change(new_status, done, (update, *(credit_release(b, outcome) if outcome else ()), *timers_held(b)),
                  notices)


# --- the sweeps' transitions --------------------------------------------------------------------

def plan_expire(b: Booking, timer_id: str | None, now: datetime, n: Numbers) -> Change | None:
    """A pending booking past its deadline: expired, its time and credit freed, the client told
    by email and in the room. None when it is not (or no longer) due."""
    if b.status != rules.PENDING or rules.effective_status(b.view(), now, n.outcome_grace_hours) != rules.EXPIRED:
        return None
    done = replace(b, status=rules.EXPIRED, version=b.version + 1)
    writes = (_ended(b, rules.EXPIRED, rules.SYSTEM, now), Claims(b.id, b.ends_at, release=b.claims,
                                                                   old_booking_id=b.id),
              *credit_release(b, outcome_of(rules.SYSTEM, "expire", b, now, n)),
              *([SettleTimer(timer_id, "expired")] if timer_id else []))
    return Change("expired", done, writes,
                  (Notice(done, "expired", "booking_expired", ("client",), version=done.version),
                   RoomNote(done, "expired", "expired", version=done.version)))


def plan_outcome(b: Booking, timer_id: str, now: datetime, n: Numbers) -> Change | None:
    """24 h after the end with no outcome: completed if both joined, else unresolved (ops told)."""
    if b.status != rules.CONFIRMED:
        return None
    new_status = rules.outcome_after_grace(b.view(), now, n.outcome_grace_hours)
    if new_status is None:
        return None
    done = replace(b, status=new_status, version=b.version + 1)
    notices = (Notice(done, "unresolved", "booking_unresolved_ops", ("ops",)),) \
        if new_status == rules.UNRESOLVED else ()
    return Change(new_status, done, (_ended(b, new_status, rules.SYSTEM, now), SettleTimer(timer_id, new_status),
                                     *timers_held(b, keep=("outcome",))), notices)


def plan_reminder(b: Booking | None, timer_id: str, which: str, version: int, now: datetime, n: Numbers,
                  skip_within_hours: float) -> Change:
    """A reminder goes only to a confirmed booking at the version it was set for; a 24 h reminder
    not sent by `skip_within_hours` before start and a 10 min one after the end are skipped.
    Either way the timer is settled in the change, so two runs never both act. The 10 min
    email and both room messages carry the join link, each recipient's own (`join_link`: the
    notices module renders it per recipient, per reader in the room; it is never stored)."""
    ok = (b is not None and b.status == rules.CONFIRMED and b.version == version
          and rules.effective_status(b.view(), now, n.outcome_grace_hours) == rules.CONFIRMED)
    if ok and which == "long":
        ok = now < b.starts_at - timedelta(hours=skip_within_hours)
    elif ok:
        ok = now < b.ends_at
    if not ok:
        return Change("skipped", b, (SettleTimer(timer_id, "skipped"),))
    extra = {"join_link": True} if which == "short" else {}
    return Change("reminded", b, (SettleTimer(timer_id, "sent"), CheckBooking(b.id, b.version, rules.CONFIRMED)),
                  (Notice(b, f"remind_{which}", f"booking_reminder_{which}", ("client", "provider"),
                          version=b.version, extra=extra, guarded=True,
                          # SPEC: a 24 h reminder not sent by 1 h before start is skipped (a retry too)
                          moot_at=b.starts_at - timedelta(hours=skip_within_hours) if which == "long" else b.ends_at),
                   RoomNote(b, f"remind_{which}", f"remind_{which}", version=b.version, join_link=True)))
