"""Session requests, "share your availability" (SPEC §2 "Session requests"): commands and the
handlers other use cases reach through `wiring` events.

Every change is planned by `domain.request_plans` and written by the one booking commit
(`services.bookings.commit`), so proposed times are held by the same claim items, in the same
transaction shape, as bookings; accepting is a booking transition. A refused change is read
again: `slot_taken` with `details.taken` (someone holds a proposed time), `already_active` (the
client's lock claim is held by an open request), `no_credit`, or `invalid_state` naming the
request's state now. A holder whose time the clock has already freed (a lapsed or expired request,
an expired booking) is ended there and then, as the sweep would, and the change tried again.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.domain import credits as policy
from chalicelib.domain import matching
from chalicelib.domain import periods
from chalicelib.domain import referrals as rules_r
from chalicelib.domain import request_plans as rp
from chalicelib.domain import session_requests as sr
from chalicelib.domain import slots as slot_rules
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services.bookings import commands as booking_commands
from chalicelib.services.bookings import parties
from chalicelib.services.bookings.commit import commit
from chalicelib.services.bookings.commit import numbers as booking_numbers
from chalicelib.services.bookings.queries import render as render_booking
from chalicelib.services.pathways import notices, programs
from chalicelib.store import bookings as booking_store
from chalicelib.store import ledger
from chalicelib.store import rooms as room_store
from chalicelib.store import session_requests as store
from chalicelib.store.base import batch_get
from chalicelib.store.models import RoomModel, UserModel

DEFAULT_CAPACITY = 25  # as `services.providers` gives a provider created without one


@dataclass(frozen=True)
class NewRequestCommand:
    """POST /session-requests, validated by the route's model (`preferred` is parsed here)."""
    provider_id: str
    modality: str
    preferred: list
    note: str | None = None


@dataclass(frozen=True)
class AcceptCommand:
    starts_at: datetime
    purchase: bool = False


class _Retry(Exception):
    def __init__(self, spend=None):
        super().__init__("retry")
        self.spend = spend


def numbers() -> rp.Numbers:
    s = wiring.settings()
    return rp.Numbers(session_minutes=s.session_minutes, respond_hours=s.request_respond_hours,
                      accept_hours=s.proposal_accept_hours,
                      accept_before_start_hours=s.proposal_accept_before_start_hours,
                      provider_nudge_hours=s.request_provider_nudge_hours,
                      client_nudge_hours=s.request_client_nudge_hours)


# --- reads ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parties:
    client: UserModel
    provider: UserModel
    room: RoomModel | None  # the client's room with this provider, if they share one

    @property
    def people(self) -> dict:
        return {"client": self.client, "provider": self.provider}

    @property
    def provider_tz(self) -> str:
        return (self.provider.availability or {}).get("timezone") or self.provider.timezone or "UTC"


def load(client_id: str, provider_id: str, *, caller: Caller | None = None) -> Parties:
    """Both profiles and the client's possible rooms, in ONE BatchGetItem."""
    rooms = [room_store.room_id_for(client_id, kind) for kind in rules.PROVIDER_MODALITIES]
    found = batch_get({UserModel: [client_id, provider_id], RoomModel: rooms})
    client, provider = found[UserModel].get(client_id), found[UserModel].get(provider_id)
    if client is None or client.role != "client":
        if caller is not None and caller.is_client:
            raise HavenError("Register your profile (POST /clients/me) first.", "not_registered")
        raise NotFound("client")
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    room = found[RoomModel].get(room_store.room_id_for(client_id, provider.kind or "therapist"))
    if room is not None and (room.provider_id != provider.id or room.client_id != client.id):
        room = None
    return Parties(client, provider, room)


def people(client_id: str, provider_id: str) -> dict:
    found = batch_get({UserModel: [client_id, provider_id]})[UserModel]
    return {"client": found.get(client_id), "provider": found.get(provider_id)}


def _commit(change: plans.Change, now: datetime, who: dict, refusal=None) -> bool:
    done = commit(change, now, refusal, extra_records=notices.request_records(change, who, now))
    if done and isinstance(change.result, rp.Request) and change.result.plan_kind == programs.REFERRAL:
        client = who.get("client")  # a request changed: the discharge deadline may move (bookings: a handler)
        programs.touch(change.result.client_id, client.plan if client is not None else None, now)
    return done


def _member_request(caller: Caller, request_id: str) -> rp.Request:
    found = store.find(request_id)
    mine = found is not None and (caller.id == found.client_id if caller.is_client else caller.id == found.provider_id)
    if not mine:
        raise NotFound("session request")
    return found


def _refused_state(request_id: str, now: datetime, action: str) -> HavenError:
    fresh = store.find(request_id)
    return rules.invalid_state(fresh.status_at(now) if fresh else "gone", action, what="session request")


# --- asking ---------------------------------------------------------------------------------------

def _candidate(provider: UserModel) -> matching.Candidate:
    accepting = getattr(provider, "accepting", None)
    return matching.Candidate(
        id=provider.id, name=provider.name, kind=provider.kind or "therapist",
        licensed_regions=tuple(provider.licensed_regions or ()), languages=tuple(provider.languages or ()),
        focus_areas=tuple(provider.focus_areas or ()), timezone=provider.timezone,
        gender=getattr(provider, "gender", None), accepting=accepting is not False, active=bool(provider.active),
        capacity=int(provider.capacity if provider.capacity is not None else DEFAULT_CAPACITY),
        active_clients=int(getattr(provider, "active_clients", None) or 0))


def check_whom(p: Parties) -> None:
    """A client asks a provider they share a room with (403 `not_your_provider` otherwise); a
    referral client may also ask any active, accepting provider licensed in their region, sharing
    a language, offering one of their modalities, of their referral's kind (checked now)."""
    if not p.provider.active:
        raise NotFound("provider")
    if p.room is not None:
        return
    prog = programs.program(p.client)
    if prog is None:
        raise HavenError("You can ask only a provider you share a room with.", "not_your_provider")
    needs = matching.Needs(region=p.client.region or "", languages=tuple(p.client.languages or ()),
                           kind=prog.get("provider_kind") or "therapist")
    matching.check_request_provider(_candidate(p.provider), needs, prog.get("modalities") or ())


def _horizon(plan: dict, tz: str, now: datetime) -> datetime | None:
    """A subscription books up to the end of the next billing period; counted plans have no horizon."""
    if plan.get("kind") != policy.SUBSCRIPTION or not plan.get("period_anchor"):
        return None
    return periods.next_period(date.fromisoformat(plan["period_anchor"]), tz, now).end


def _check_credit(client: UserModel, plan: dict, intervals, now: datetime) -> None:
    """At least one preferred part must fall in a period with a credit left (none is held yet)."""
    usage = ledger.usage(client.id)
    for start, _end in intervals:
        try:
            bucket = policy.credit_bucket(plan, client.timezone or "UTC", start, now)
        except HavenError:
            continue
        if policy.has_credit(plan, usage, bucket):
            return
    raise HavenError("You have no session credit left for any of those times.", "no_credit")


def create(caller: Caller, command: NewRequestCommand, now: datetime) -> dict:
    s = wiring.settings()
    preferred = sr.parse_preferred(command.preferred, count=s.request_preferred_count)
    p = load(caller.id, command.provider_id, caller=caller)
    programs.require_not_discharged(p.client, now)
    check_whom(p)
    plan = parties.plan_of(p.client)
    rules.check_modality(command.modality, p.provider.kind or "therapist")
    prog = programs.program(p.client)
    if prog is not None:
        rules_r.check_modality(command.modality, prog.get("modalities") or ())
    if any(r.status_at(now) in sr.OPEN for r in store.recent("client", caller.id, now)):
        raise HavenError("You already have an open session request; withdraw it to ask again.", "already_active")
    client_tz = p.client.timezone or "UTC"
    program_ends_at = programs.program_end(p.client)
    intervals = sr.check_preferred(preferred, client_tz, now, min_notice_hours=s.request_min_notice_hours,
                                   max_days=s.request_max_days, horizon=_horizon(plan, client_tz, now),
                                   program_ends_at=program_ends_at)
    _check_credit(p.client, plan, intervals, now)
    request_id = "sr_" + secrets.token_hex(10)
    sealed = {}
    if command.note:
        cipher = wiring.get("note_cipher")
        key_blob = cipher.new_room_key(request_id)
        sealed = {"key_blob": key_blob, "note": cipher.encrypt(request_id, command.note, key_blob)}
    req = rp.Request(id=request_id, client_id=p.client.id, provider_id=p.provider.id, modality=command.modality,
                     status=sr.REQUESTED, requested_at=now, respond_by=sr.respond_by(now, hours=s.request_respond_hours),
                     preferred=preferred, client_tz=client_tz, provider_tz=p.provider_tz, version=1,
                     claims=(store.lock_claim(p.client.id),), plan_kind=plan.get("kind"),
                     program_ends_at=program_ends_at)
    lock_until = max(end for _start, end in intervals)
    for attempt in range(3):
        change = rp.plan_create(req, lock_until, numbers(), sealed)
        try:
            _commit(change, now, p.people, lambda: _create_refused(req, attempt, now))
        except _Retry:
            continue
        metrics.add_metric(name="SessionRequestCreated", unit="Count", value=1)
        logger.info("session request created", extra={"request_id": req.id, "provider_id": req.provider_id})
        from chalicelib.services.pathways.request_views import render

        return render(req, caller, now, note=command.note)
    raise HavenError("You already have an open session request.", "already_active")


def _create_refused(req: rp.Request, attempt: int, now: datetime) -> Exception:
    """The client's lock is held: by an open request (already_active), or by one the clock has
    ended, which is ended now (as the sweep would) and the request tried again."""
    holder = booking_store.claims_holder(list(req.claims)).get(req.claims[0])
    if holder and holder != req.id:
        other = store.find(holder)
        if other is not None and other.status_at(now) not in sr.OPEN and attempt < 2:
            end_by_clock(other, now)
            return _Retry()
        return HavenError("You already have an open session request; withdraw it to ask again.", "already_active")
    return _Retry() if attempt < 2 else HavenError("The request could not be saved; try again.", "invalid_state")


# --- the provider's answer ------------------------------------------------------------------------

def _provider_request(caller: Caller, request_id: str) -> rp.Request:
    req = _member_request(caller, request_id)
    if caller.id != req.provider_id:
        raise HavenError("Only the provider answers a session request.", "forbidden")
    return req


def propose(caller: Caller, request_id: str, starts: list[datetime], now: datetime) -> dict:
    s = wiring.settings()
    req = _provider_request(caller, request_id)
    sr.can_propose(req.view(), now)
    who = people(req.client_id, req.provider_id)
    provider = who.get("provider")
    provider_tz = ((provider.availability or {}).get("timezone") or provider.timezone) if provider else None
    req = replace(req, provider_tz=provider_tz or req.provider_tz)
    ordered = sr.check_proposals(starts, preferred=req.preferred, client_tz=req.client_tz,
                                 provider_tz=req.provider_tz, now=now, session_minutes=s.session_minutes,
                                 min_notice_hours=s.proposal_min_notice_hours, max_proposals=s.request_max_proposals,
                                 program_ends_at=req.program_ends_at)
    length = timedelta(minutes=s.session_minutes)
    held = tuple(tuple(booking_store.claim_ids(req.client_id, req.provider_id,
                                               slot_rules.claim_keys(start, start + length))) for start in ordered)
    for attempt in range(3):
        change = rp.plan_propose(req, ordered, held, now, numbers())
        try:
            _commit(change, now, who, lambda: _propose_refused(req, ordered, held, attempt, now))
        except _Retry:
            continue
        metrics.add_metric(name="SessionRequestProposed", unit="Count", value=1)
        from chalicelib.services.pathways.request_views import render

        return render(change.result, caller, now, client=who.get("client"))
    raise HavenError("Those times were just taken; propose others.", "slot_taken")


def _propose_refused(req: rp.Request, ordered, held, attempt: int, now: datetime) -> Exception:
    fresh = store.find(req.id)
    if fresh is None or fresh.version != req.version:
        return _refused_state(req.id, now, "answered with proposals")
    holders = booking_store.claims_holder([c for ids in held for c in ids])
    others = {h for h in holders.values() if h != req.id}
    if others:
        if attempt < 2 and booking_commands.free_lapsed(others, now):
            return _Retry()
        taken = [iso(start) for start, ids in zip(ordered, held) if any(holders.get(c) not in (None, req.id)
                                                                       for c in ids)]
        metrics.add_metric(name="ProposalSlotTaken", unit="Count", value=1)
        return HavenError("Some of those times are already taken; nothing was held. Propose others.", "slot_taken",
                          details={"taken": taken})
    return _Retry() if attempt < 2 else HavenError("Those times could not be held; try again.", "slot_taken")


def decline(caller: Caller, request_id: str, reason: str | None, now: datetime) -> dict:
    stored = store.get(request_id)
    if stored is None or stored.provider_id != caller.id:
        raise NotFound("session request")
    req = store.to_domain(stored)
    sr.can_decline(req.view(), now, actor=sr.PROVIDER)
    sealed_reason = new_key = None
    if reason:
        cipher = wiring.get("note_cipher")
        key_blob = stored.key_blob
        if key_blob is None:
            key_blob = new_key = cipher.new_room_key(req.id)
        sealed_reason = cipher.encrypt(req.id, reason, key_blob)
    change = rp.plan_decline(req, now, sealed_reason, new_key)
    who = people(req.client_id, req.provider_id)
    _commit(change, now, who, lambda: _refused_state(req.id, now, "declined"))
    from chalicelib.services.pathways.request_views import render

    return render(change.result, caller, now, client=who.get("client"), reason_text=reason)


# --- the client's moves ---------------------------------------------------------------------------

def _client_request(caller: Caller, request_id: str) -> rp.Request:
    req = _member_request(caller, request_id)
    if caller.id != req.client_id:
        raise HavenError("Only the client can do this.", "forbidden")
    return req


def withdraw(caller: Caller, request_id: str, now: datetime) -> dict:
    req = _client_request(caller, request_id)
    change = rp.plan_withdraw(req, now)
    _commit(change, now, people(req.client_id, req.provider_id), lambda: _refused_state(req.id, now, "withdrawn"))
    from chalicelib.services.pathways.request_views import render

    return render(change.result, caller, now)


def _ensure_room(p: Parties, now: datetime) -> str:
    """Acceptance with a provider the client shares no room with opens one; the client's room of
    that kind with another provider is handed over (change of provider: the old provider's future
    sessions with the client are cancelled, their open requests end). No capacity re-check."""
    if p.room is not None:
        return p.room.id
    from chalicelib.services import assignments  # rooms change hands through matching's one transaction

    room_id = assignments.open_or_hand_over(p.client.id, p.provider.id, p.client.id, now)
    logger.info("room opened by an accepted request", extra={"room_id": room_id})
    return room_id


def accept(caller: Caller, request_id: str, command: AcceptCommand, now: datetime) -> dict:
    s = wiring.settings()
    req = _client_request(caller, request_id)
    p = load(req.client_id, req.provider_id)
    programs.require_not_discharged(p.client, now)
    n = numbers()
    sr.can_accept(req.view(), command.starts_at, now, min_notice_hours=n.accept_before_start_hours)
    if not p.provider.active:
        end_with_provider_gone(req, p.people, now)
        raise rules.invalid_state(sr.DECLINED, "accepted", what="session request")
    plan = parties.plan_of(p.client)
    starts_at = command.starts_at
    bucket = policy.credit_bucket(plan, p.client.timezone or "UTC", starts_at, now)
    spend = parties.choose_spend(p.client.id, plan, bucket, command.purchase and programs.may_purchase(plan))
    room_id = _ensure_room(p, now)
    bn = booking_numbers()
    length = timedelta(minutes=s.session_minutes)
    claims = tuple(booking_store.claim_ids(p.client.id, p.provider.id, slot_rules.claim_keys(starts_at, starts_at + length)))
    for attempt in range(3):
        b = plans.new_booking(
            booking_id="bk_" + secrets.token_hex(10), actor=rules.PROVIDER, client_id=p.client.id,
            provider_id=p.provider.id, room_id=room_id, modality=req.modality, starts_at=starts_at, now=now, n=bn,
            credit=spend.credit, plan_kind=spend.plan_kind, price_cents=spend.price_cents, claims=claims,
            client_tz=p.client.timezone or "UTC", provider_tz=p.provider_tz, iso_now=iso(now),
            client_email=p.client.email, provider_email=p.provider.email)
        b = replace(b, created_by=rules.CLIENT)
        change = rp.plan_accept(req, b, spend.writes(b), now, n, bn)
        try:
            _commit(change, now, p.people, lambda: _accept_refused(req, b, spend, attempt, now))
        except _Retry as retry:
            spend = retry.spend or spend
            continue
        metrics.add_metric(name="SessionRequestAccepted", unit="Count", value=1)
        logger.info("session request accepted", extra={"request_id": req.id, "booking_id": b.id})
        return render_booking(b, now)
    raise HavenError("The request changed meanwhile; try again.", "invalid_state")


def _accept_refused(req: rp.Request, b: plans.Booking, spend: parties.Spend, attempt: int, now: datetime):
    fresh = store.find(req.id)
    if fresh is None or fresh.version != req.version:
        return _refused_state(req.id, now, "accepted")
    if not spend.purchase and parties.usage(spend.client_id, spend.bucket) >= policy.live_limit(spend.plan):
        if attempt < 2 and booking_commands.free_lapsed_credits(spend.client_id, spend.bucket, now):
            return _Retry(spend)
        try:
            return _Retry(parties.choose_spend(spend.client_id, spend.plan, spend.bucket, spend.may_purchase,
                                               known_empty=True))
        except HavenError as error:
            return error
    holders = booking_store.claims_holder(list(b.claims))
    if any(h not in (req.id, b.id) for h in holders.values()):  # cannot happen while the request holds the time
        return HavenError("That time is no longer held for you.", "slot_taken")
    return _Retry(spend) if attempt < 2 else HavenError("The request changed meanwhile; try again.", "invalid_state")


# --- the clock, and the provider going --------------------------------------------------------------

def end_by_clock(req: rp.Request, now: datetime, timer=None) -> bool:
    """Persist an expiry or lapse the clock has decided (held times released, client told), once."""
    change = rp.plan_by_clock(req, now, timer.id if timer is not None else None,
                              int(timer.version) if timer is not None else None)
    if change is None:
        return False
    return _commit(change, now, people(req.client_id, req.provider_id))


def end_with_provider_gone(req: rp.Request, who: dict | None, now: datetime) -> bool:
    change = rp.plan_provider_gone(req, now)
    if change is None:
        return False
    return _commit(change, now, who or people(req.client_id, req.provider_id))


def end_open_requests_with(client_id: str, provider_id: str, now: datetime) -> int:
    """SPEC §2: a request still open when its provider is changed ends `declined` with reason
    `provider_unavailable`, its times released, the client told. Returns how many ended."""
    ended = 0
    for req in store.recent("client", client_id, now):
        if req.provider_id == provider_id and req.status in sr.OPEN:
            ended += end_with_provider_gone(req, None, now)
    return ended


def end_open_requests_for_provider(provider_id: str, now: datetime) -> int:
    """The same for every client's open request to a provider who was deactivated."""
    ended = 0
    for req in store.recent("provider", provider_id, now):
        if req.status in sr.OPEN:
            ended += end_with_provider_gone(req, None, now)
    return ended


def on_provider_changed(client_id: str, old_provider_id: str, now: datetime, **_) -> None:
    """`provider_changed` handler (ops assignment, matching, an accepted request's hand-over)."""
    end_open_requests_with(client_id, old_provider_id, now)


def on_provider_deactivated(provider_id: str, now: datetime, **_) -> None:
    """`provider_deactivated` handler."""
    end_open_requests_for_provider(provider_id, now)


def on_held_time_wanted(holder_ids, now: datetime, freed: list, **_) -> None:
    """`held_time_wanted` handler: a booking or a proposal found time held by these claim holders;
    requests among them that the clock has ended give it back now."""
    for holder in sorted(set(holder_ids)):
        if not str(holder).startswith("sr_"):
            continue
        req = store.find(holder)
        if req is not None and req.status in sr.OPEN and req.status_at(now) not in sr.OPEN:
            if end_by_clock(req, now):
                freed.append(holder)
