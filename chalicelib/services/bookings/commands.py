"""Booking commands: create, provider decisions, cancel, reschedule, join, complete, no-show.

Each reads what it needs, asks `domain.booking_plans` for the change, and hands it to
`commit.commit`, the one place changes are written. A refused change is classified by reading
again: slot_taken (someone holds the time), no_credit (the counter filled meanwhile) or
invalid_state naming the current state.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chalicelib import request_key, wiring
from chalicelib.clock import iso
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.domain import credits as policy
from chalicelib.domain import questionnaires
from chalicelib.errors import HavenError, ValidationError
from chalicelib.identity import Caller
from chalicelib.observability import metrics
from chalicelib.services.bookings import meetings
from chalicelib.services.bookings import parties as reads
from chalicelib.services.bookings.commit import commit, numbers
from chalicelib.services.bookings.queries import member_booking, render, status_now
from chalicelib.services.pathways import programs
from chalicelib.domain import slots as slot_rules
from chalicelib.store import bookings as store


@dataclass(frozen=True)
class NewBookingCommand:
    """POST /bookings, validated: the caller books with `provider_id` (client) or `client_id` (provider)."""
    modality: str
    starts_at: datetime
    provider_id: str | None = None
    client_id: str | None = None
    purchase: bool = False


@dataclass(frozen=True)
class RescheduleCommand:
    starts_at: datetime
    purchase: bool = False


class _Retry(Exception):
    """A refused create or reschedule that may succeed with another credit choice, or after a
    lapsed request freed its time."""

    def __init__(self, spend=None):
        super().__init__("retry")
        self.spend = spend


def _new_id() -> str:
    """A new booking's id; a keyed request's is derived from its key, so the retry of a request
    that committed and died finds the booking it made (chalicelib.request_key)."""
    return request_key.derived("bk_", 20) or "bk_" + secrets.token_hex(10)


class _Made(Exception):
    """This keyed request's own first attempt committed the change (it died before answering)."""

    def __init__(self, booking: plans.Booking):
        super().__init__(booking.id)
        self.booking = booking


def _made_here(b: plans.Booking | None) -> bool:
    """The booking's last change was made by the keyed request being served (its retry)."""
    request = request_key.current()
    return bool(request and b is not None and b.last_request == request)


def _link_id() -> str:
    return secrets.token_urlsafe(32)


def _actor(caller: Caller) -> str:
    return rules.PROVIDER if caller.is_provider else rules.CLIENT


def refused_transition(booking_id: str, now: datetime, action: str) -> HavenError:
    fresh = store.find(booking_id)
    return rules.invalid_state(status_now(fresh, now) if fresh else "gone", action)


# --- creating --------------------------------------------------------------------------------------

def _parse_new(caller: Caller, command: NewBookingCommand) -> tuple[str, str]:
    if caller.is_client:
        if command.client_id is not None:
            raise ValidationError("Clients book with `provider_id`; `client_id` is for providers.",
                                  details={"field": "client_id"})
        if not command.provider_id:
            raise ValidationError("`provider_id` is required.", details={"field": "provider_id"})
        return caller.id, command.provider_id
    if command.provider_id is not None:
        raise ValidationError("Providers book with `client_id`; the provider is you.", details={"field": "provider_id"})
    if not command.client_id:
        raise ValidationError("`client_id` is required.", details={"field": "client_id"})
    if command.client_id == caller.id:
        raise ValidationError("You cannot book a session with yourself.", details={"field": "client_id"})
    if command.purchase:
        raise ValidationError("Only the client can buy a session credit.", details={"field": "purchase"})
    return command.client_id, caller.id


def _booking(booking_id: str, actor: str, p: reads.Parties, modality: str, starts_at: datetime, spend: reads.Spend,
             now: datetime, **more) -> plans.Booking:
    n = numbers()
    ends_at = starts_at + timedelta(minutes=n.session_minutes)
    granules = slot_rules.claim_keys(starts_at, ends_at)
    return plans.new_booking(
        booking_id=booking_id, actor=actor, client_id=p.client.id, provider_id=p.provider.id, room_id=p.room.id,
        modality=modality, starts_at=starts_at, now=now, n=n, credit=spend.credit, plan_kind=spend.plan_kind,
        price_cents=spend.price_cents, claims=tuple(store.claim_ids(p.client.id, p.provider.id, granules)),
        client_tz=p.client.timezone or "UTC", provider_tz=p.provider_tz, iso_now=iso(now), **more)


def create(caller: Caller, command: NewBookingCommand, now: datetime) -> dict:
    client_id, provider_id = _parse_new(caller, command)
    actor = _actor(caller)
    p = reads.load(caller, client_id, provider_id)
    programs.check_session(p.client, command.modality, command.starts_at, now)  # referral programs, discharges
    rules.check_modality(command.modality, p.provider.kind or "therapist")
    reads.check_time(actor, p, command.starts_at, now)
    plan = reads.plan_of(p.client)
    bucket = policy.credit_bucket(plan, p.client.timezone or "UTC", command.starts_at, now)
    spend = reads.choose_spend(p.client.id, plan, bucket, command.purchase and programs.may_purchase(plan))
    for attempt in range(3):
        b = _booking(_new_id(), actor, p, command.modality, command.starts_at, spend, now)
        change = plans.plan_create(b, spend.writes(b), now, numbers(), _link_id())
        try:
            commit(change, now, lambda: _create_refused(b, spend, attempt, now))
        except _Retry as retry:
            spend = retry.spend
            continue
        except _Made as made:
            return render(made.booking, now)
        metrics.add_metric(name="BookingCreated", unit="Count", value=1)
        return render(b, now)
    raise HavenError("That time was just taken; choose another.", "slot_taken")


def _create_refused(b: plans.Booking, spend: reads.Spend, attempt: int, now: datetime) -> Exception:
    """Someone holds one of the granules (slot_taken, unless the holder is a request that has
    expired by the clock: it is expired now and the create is tried again), or the credit
    counter reached its limit meanwhile (no_credit, or buy one when the request allows it).
    A keyed retry whose first attempt made the booking gets that booking (`_Made`)."""
    if request_key.current():
        made = store.find(b.id)
        if _made_here(made):
            return _Made(made)
    others = {h for h in store.claims_holder(list(b.claims)).values() if h != b.id}
    if others:
        if attempt < 2 and free_lapsed(others, now):
            return _Retry(spend)
        metrics.add_metric(name="BookingSlotTaken", unit="Count", value=1)
        return HavenError("That time is already booked; choose another.", "slot_taken")
    if not spend.purchase and reads.usage(spend.client_id, spend.bucket) >= policy.live_limit(spend.plan):
        if attempt < 2 and free_lapsed_credits(spend.client_id, spend.bucket, now):
            return _Retry(spend)  # a credit held by a request that lapsed by the clock is back
        try:
            return _Retry(reads.choose_spend(spend.client_id, spend.plan, spend.bucket, spend.may_purchase,
                                             known_empty=True))
        except HavenError as error:
            return error
    if attempt:
        return HavenError("The booking could not be saved because something changed meanwhile; try again.",
                          "slot_taken")
    return _Retry(spend)


# --- provider decisions ------------------------------------------------------------------------

def _link_refusal(link, booking_id: str, now: datetime, action: str):
    def refusal() -> HavenError:
        if link is not None:
            fresh = store.link(link.id)
            if fresh is not None and fresh.used_at:
                return HavenError("This link has already been used.", "already_used")
        return refused_transition(booking_id, now, action)
    return refusal


def _provider_booking(caller: Caller, booking_id: str, what: str, read: plans.Booking | None = None) -> plans.Booking:
    """The booking, read (or as the caller just read it: an emailed link's page reads it to check
    the link, and the change is committed under its version either way)."""
    if read is None or read.id != booking_id or caller.id not in (read.client_id, read.provider_id):
        read = member_booking(caller, booking_id)
    b = read
    if caller.id != b.provider_id:
        raise HavenError(f"Only the provider can {what} a booking.", "forbidden")
    return b


def confirm(caller: Caller, booking_id: str, now: datetime, *, link=None, read: plans.Booking | None = None) -> dict:
    b = _provider_booking(caller, booking_id, "confirm", read)
    if _made_here(b):  # the retry of this request, whose first attempt confirmed it and died
        return render(b, now)
    change = plans.plan_confirm(b, now, numbers(), plans.UseLink(link.id, "confirm") if link else None)
    commit(change, now, _link_refusal(link, booking_id, now, "confirmed"))
    return render(change.result, now)


def decline(caller: Caller, booking_id: str, now: datetime, *, link=None, read: plans.Booking | None = None) -> dict:
    b = _provider_booking(caller, booking_id, "decline", read)
    if _made_here(b):
        return render(b, now)
    change = plans.plan_decline(b, now, numbers(), plans.UseLink(link.id, "decline") if link else None)
    commit(change, now, _link_refusal(link, booking_id, now, "declined"))
    return render(change.result, now)


# --- member changes -------------------------------------------------------------------------------

def cancel(caller: Caller, booking_id: str, reason: str | None, now: datetime) -> dict:
    b = member_booking(caller, booking_id)
    if _made_here(b):
        return render(b, now)
    return render(_cancel(b, _actor(caller), reason, now), now)


def _cancel(b: plans.Booking, actor: str, reason: str | None, now: datetime) -> plans.Booking:
    # A reason is free text a member wrote: sealed with the room's key before it is stored.
    sealed = wiring.get("cipher").encrypt(b.room_id, reason) if reason else None
    change = plans.plan_cancel(b, actor, now, numbers(), reason=sealed)
    commit(change, now, lambda: refused_transition(b.id, now, "cancelled"))
    return change.result


def cancel_with_previous_provider(client_id: str, previous_provider_id: str, now: datetime) -> int:
    """SPEC §2 (change of provider): the client's future bookings with the provider who lost the
    room are cancelled by Haven, credits returned, both told. Returns how many."""
    cancelled = 0
    for model in store.page("client", client_id, now, None, page_size=50, last_key=None):
        b = store.to_domain(model)
        if b.provider_id != previous_provider_id or status_now(b, now) not in (rules.PENDING, rules.CONFIRMED):
            continue
        try:
            _cancel(b, rules.SYSTEM, "provider changed", now)
            cancelled += 1
        except HavenError:  # changed meanwhile (e.g. cancelled by a member): nothing left to do
            continue
    return cancelled


def reschedule(caller: Caller, booking_id: str, command: RescheduleCommand, now: datetime) -> dict:
    old = member_booking(caller, booking_id)
    if _made_here(old) and old.rescheduled_to:  # the new booking this request made before it died
        made = store.find(old.rescheduled_to)
        if made is not None:
            return render(made, now)
    actor = _actor(caller)
    rules.can_reschedule(old.view(), now, actor)
    p = reads.load(caller, old.client_id, old.provider_id)
    starts_at = command.starts_at
    if starts_at == old.starts_at:
        raise ValidationError("The new time is the booking's current time.", details={"field": "starts_at"})
    programs.check_session(p.client, old.modality, starts_at, now)
    reads.check_time(actor, p, starts_at, now)
    outcome = plans.outcome_of(actor, "reschedule", old, now, numbers())
    plan = reads.plan_of(p.client)
    new_bucket = policy.credit_bucket(plan, p.client.timezone or "UTC", starts_at, now)
    way = plans.reschedule_credit(old, outcome, new_bucket)
    spend: reads.Spend | None = None
    if way == "spend_new":
        spend = reads.choose_spend(p.client.id, plan, new_bucket, False)
    elif way == "own":  # a late change by the client: the old credit is forfeited, the new booking needs its own
        spend = reads.choose_spend(p.client.id, plan, new_bucket, command.purchase and programs.may_purchase(plan))
    for attempt in range(3):
        holder = spend or reads.Spend(p.client.id, plan, new_bucket, False)
        new = _booking(_new_id(), actor, p, old.modality, starts_at, holder, now, series_id=old.series_id,
                       sequence=old.sequence + 1, rescheduled_from=old.id)
        if spend is None:  # the credit moves as it is
            new = replace(new, credit=old.credit, plan_kind=old.plan_kind, price_cents=old.price_cents)
        writes = ()
        if spend is not None:
            writes = spend.writes(new)
            if way == "spend_new" and old.credit.bucket:
                writes = (plans.ReturnCredit(old.client_id, old.credit.bucket), *writes)
        change = plans.plan_reschedule(old, new, actor, plans.CreditChoice(new.credit, writes), now, numbers(),
                                       _link_id())
        try:
            commit(change, now, lambda: _reschedule_refused(old, new, spend, p, plan, new_bucket, command, attempt,
                                                            now))
        except _Retry as retry:
            spend = retry.spend
            continue
        return render(new, now)
    raise HavenError("The booking changed meanwhile; try again.", "invalid_state")


def _reschedule_refused(old, new, spend, p, plan, new_bucket, command, attempt, now) -> Exception:
    fresh = store.find(old.id)
    if fresh is None or fresh.version != old.version:
        return refused_transition(old.id, now, "rescheduled")
    others = {h for h in store.claims_holder(list(new.claims)).values() if h not in (old.id, new.id)}
    if others:
        if attempt < 2 and free_lapsed(others, now):
            return _Retry(spend)
        return HavenError("That time is already booked; choose another.", "slot_taken")
    if spend is not None and not spend.purchase:
        try:
            return _Retry(reads.choose_spend(p.client.id, plan, new_bucket, command.purchase, known_empty=True))
        except HavenError as error:
            return error
    return HavenError("The booking changed meanwhile; try again.", "invalid_state")


# --- the session itself ---------------------------------------------------------------------------

def join(caller: Caller, booking_id: str, now: datetime) -> dict:
    """A participant joins, in the window: `{"join_url"}`, and for video and audio the Chime
    `meeting` and `attendee` (SPEC §2). `caller` is the signed-in member, or the participant a
    verified join link names. A chat join records the participant as joined; for video and audio
    Chime's attendee-joined event does (services.bookings.meetings.on_event)."""
    b = member_booking(caller, booking_id)
    role = "client" if caller.id == b.client_id else "provider"
    change = plans.plan_join(b, role, now, wiring.settings().join_opens_minutes)
    if role == "client":  # SPEC §2: referral clients answer the questionnaire before joining
        questionnaires.check_questionnaire_before_join(_plan_kind(b), b.questionnaire_submitted)
    media: dict = {}
    if b.modality == "chat":
        commit(change, now, lambda: refused_transition(b.id, now, "joined"))
    else:
        media = meetings.join_meeting(b, caller.id, now, lambda: refused_transition(b.id, now, "joined"))
    url = wiring.get("video").join_url(booking_id=b.id, room_id=b.room_id, modality=b.modality,
                                       participant_id=caller.id, role=role)
    return {"join_url": url, **media}


def _plan_kind(b: plans.Booking) -> str | None:
    """The kind of plan that governs the session: the booking's, or else the client's plan now."""
    if b.plan_kind == questionnaires.REFERRAL or b.questionnaire_submitted:
        return b.plan_kind
    from chalicelib.store import users as user_store

    client = user_store.get(b.client_id)
    return ((client.plan if client is not None else None) or {}).get("kind") or b.plan_kind


def complete(caller: Caller, booking_id: str, now: datetime) -> dict:
    b = member_booking(caller, booking_id)
    if caller.id != b.provider_id:
        raise HavenError("Only the provider marks a session completed.", "forbidden")
    change = plans.plan_complete(b, now, numbers())
    commit(change, now, lambda: refused_transition(b.id, now, "completed"))
    return render(change.result, now)


def no_show(caller: Caller, booking_id: str, now: datetime) -> dict:
    b = member_booking(caller, booking_id)
    change = plans.plan_no_show(b, _actor(caller), now, numbers(), wiring.settings().no_show_after_minutes)
    commit(change, now, lambda: refused_transition(b.id, now, "marked a no-show"))
    return render(change.result, now)


# --- states that follow the clock -----------------------------------------------------------------

def expire(b: plans.Booking, timer, now: datetime) -> bool:
    """Persist the expiry of one pending booking past its deadline, once: the change is
    conditioned on the version read, so of two runs (or a run and a request) only one commits,
    tells the client and posts the room message. `timer` is its confirm due item, settled in the
    same change (None when a request does this before the sweep)."""
    change = plans.plan_expire(b, timer.id if timer is not None else None, now, numbers())
    if change is None:
        return False
    if timer is not None:
        change = plans.with_timer_version(change, int(timer.version))
    return commit(change, now)


def free_lapsed(holder_ids, now: datetime) -> bool:
    """A request past its confirmation deadline is `expired` even before the deadlines sweep has
    run, so it must not keep its time: expire it now, exactly as the sweep would. True when any
    time was freed."""
    freed = False
    for booking_id in sorted(set(holder_ids)):
        b = store.find(booking_id)
        if b is not None and b.status == rules.PENDING and status_now(b, now) == rules.EXPIRED:
            freed = expire(b, None, now) or freed
    # Other holders (a session request whose proposal lapsed by the clock) free their time through
    # their own service, subscribed by `bootstrap`.
    others: list = []
    wiring.publish("held_time_wanted", holder_ids=set(holder_ids), now=now, freed=others)
    return freed or bool(others)


def free_lapsed_credits(client_id: str, bucket: str, now: datetime) -> bool:
    """The same rule for credits: before refusing `no_credit`, expire the client's lapsed
    requests that hold a credit of this bucket. A lapsed request starts within
    `confirm_before_start_hours` from now (or earlier), so one bounded Query finds them."""
    s = wiring.settings()
    window = store.page("client", client_id, now - timedelta(days=31),
                        now + timedelta(hours=s.confirm_before_start_hours), page_size=100, last_key=None)
    lapsed = [m.id for m in window if m.status == rules.PENDING and (m.credit or {}).get("bucket") == bucket
              and status_now(store.to_domain(m), now) == rules.EXPIRED]
    return bool(lapsed) and free_lapsed(lapsed, now)
