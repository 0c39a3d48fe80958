"""Live sessions: booking, confirmation, changes, joining, and the sweeps' booking steps.

Every change is one DynamoDB transaction that carries, together, the booking's new state
(conditioned on the version that was read), its slot claims (the one guard against double
booking: created with `attribute_not_exists` for create and reschedule, deleted on release),
the credit (a usage counter spent with `used < limit`, returned, or a charge on the ledger),
its timers (confirmation deadline, reminders, outcome check) and its emails (outbox records).
Nothing half-happens; a refused transaction is classified by reading again, never by the
order of PynamoDB's cancellation reasons.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib import wiring
from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.domain import bookings as rules
from chalicelib.domain import credits as policy
from chalicelib.domain import slots as slot_rules
from chalicelib.errors import HavenError, NotFound, ValidationError
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import booking_notices as notices
from chalicelib.services import notify
from chalicelib.store import bookings as store
from chalicelib.store import ledger
from chalicelib.store import rooms as room_store
from chalicelib.store.base import transact_write
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import BookingModel, LedgerModel, LinkModel, NotificationModel, RoomModel, UserModel


@wiring.provides("video")
def _video():
    from chalicelib.adapters.video import LocalVideo

    return LocalVideo(wiring.settings().public_base_url, lambda: wiring.get("signing_key"))


@wiring.provides("before_booking_commit")
def _no_hook():
    """Called between a booking's reads and its transaction; tests override it to force a
    competing write into exactly that gap."""
    return lambda stage, **info: None


# --- views -----------------------------------------------------------------------------------

def _at(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def domain_view(b: BookingModel) -> rules.BookingView:
    return rules.BookingView(status=b.status, starts_at=parse_iso(b.starts_at), ends_at=parse_iso(b.ends_at),
                             confirm_by=_at(b.confirm_by), client_joined_at=_at(b.client_joined_at),
                             provider_joined_at=_at(b.provider_joined_at))


def status_now(b: BookingModel, now: datetime) -> str:
    return rules.effective_status(domain_view(b), now, wiring.settings().outcome_grace_hours)


def render(b: BookingModel, now: datetime) -> dict:
    return {
        "id": b.id, "status": status_now(b, now), "client_id": b.client_id, "provider_id": b.provider_id,
        "room_id": b.room_id, "modality": b.modality, "starts_at": iso(parse_iso(b.starts_at)),
        "ends_at": iso(parse_iso(b.ends_at)), "confirm_by": iso(_at(b.confirm_by)),
        "rescheduled_to": b.rescheduled_to, "rescheduled_from": b.rescheduled_from,
        "created_at": b.created_at, "created_by": b.created_by,
        "purchased": bool((b.credit or {}).get("purchased")),
        "client_joined_at": b.client_joined_at, "provider_joined_at": b.provider_joined_at,
    }


def _member_booking(caller: Caller, booking_id: str) -> BookingModel:
    b = store.get(booking_id)
    if b is None or caller.id not in (b.client_id, b.provider_id):
        raise NotFound("booking")
    return b


def _actor(caller: Caller) -> str:
    return rules.PROVIDER if caller.is_provider else rules.CLIENT


def get_booking(caller: Caller, booking_id: str, now: datetime) -> dict:
    return render(_member_booking(caller, booking_id), now)


# --- reading the parties -----------------------------------------------------------------------

def _load_parties(client_id: str, provider_id: str) -> tuple[UserModel | None, UserModel | None, dict]:
    """Both profiles and the client's possible rooms (one per provider kind) in ONE BatchGetItem."""
    s = wiring.settings()
    rooms = [room_store.room_id_for(client_id, kind) for kind in rules.PROVIDER_MODALITIES]
    request = {
        s.table("users"): {"Keys": [{"id": {"S": i}} for i in dict.fromkeys((client_id, provider_id))]},
        s.table("rooms"): {"Keys": [{"id": {"S": r}} for r in rooms]},
    }
    client = UserModel._get_connection().connection.client
    users: dict[str, UserModel] = {}
    found_rooms: dict[str, RoomModel] = {}
    for _attempt in range(5):
        response = client.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(s.table("users"), []):
            user = UserModel.from_raw_data(item)
            users[user.id] = user
        for item in response.get("Responses", {}).get(s.table("rooms"), []):
            room = RoomModel.from_raw_data(item)
            found_rooms[room.id] = room
        request = response.get("UnprocessedKeys") or {}
        if not request:
            break
    return users.get(client_id), users.get(provider_id), found_rooms


def _parties(caller: Caller, client_id: str, provider_id: str):
    client, provider, rooms = _load_parties(client_id, provider_id)
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    if client is None or client.role != "client":
        if caller.is_provider:
            raise NotFound("client")
        raise HavenError("Register your profile (POST /clients/me) before booking.", "not_registered")
    room = rooms.get(room_store.room_id_for(client_id, provider.kind))
    if room is None or room.provider_id != provider.id or room.client_id != client.id:
        if caller.is_provider:
            raise NotFound("client")
        raise HavenError("You can book only with a provider you share a room with.", "not_your_provider")
    return client, provider, room


def _plan(client: UserModel) -> dict:
    if not client.plan:
        raise HavenError("You need a plan to book live sessions.", "no_plan")
    return client.plan


def _check_time(actor: str, provider: UserModel, starts_at: datetime, now: datetime) -> datetime:
    s = wiring.settings()
    if actor == rules.CLIENT:
        rules.check_client_booking_time(starts_at, now, s.client_booking_min_hours)
    else:
        rules.check_provider_booking_time(starts_at, now, s.provider_booking_min_hours)
    ends_at = starts_at + timedelta(minutes=s.session_minutes)
    availability = provider.availability or {}
    tz = availability.get("timezone") or provider.timezone or "UTC"
    slot_rules.check_slot(availability.get("windows") or [], tz, starts_at, ends_at)
    return ends_at


# --- credits -----------------------------------------------------------------------------------

class _Spend:
    """How a new booking gets its credit: a usage counter (`bucket`) or a purchase."""

    def __init__(self, client: UserModel, plan: dict, bucket: str | None, purchase: bool, may_purchase: bool = False):
        self.client, self.plan, self.bucket, self.purchase = client, plan, bucket, purchase
        self.may_purchase = may_purchase or purchase

    @property
    def credit(self) -> dict:
        return {"purchased": True} if self.purchase else {"bucket": self.bucket}

    def add(self, tx, booking_id: str, now: datetime) -> None:
        if self.purchase:
            tx.save(LedgerModel(self.client.id, f"{ledger.CHARGE}{booking_id}",
                                amount_cents=int(self.plan.get("session_price_cents") or 0),
                                reason="session_purchase", ref_id=booking_id, created_at=iso(now)),
                    condition=LedgerModel.key.does_not_exist())
        else:
            item, actions, condition = ledger.spend_action(self.client.id, self.bucket, policy.live_limit(self.plan))
            tx.update(item, actions=actions, condition=condition)


def _usage(client_id: str, bucket: str) -> int:
    try:
        item = LedgerModel.get(client_id, ledger.usage_key(bucket), consistent_read=True)
    except LedgerModel.DoesNotExist:
        return 0
    return int(item.used or 0)


def _choose_spend(client: UserModel, plan: dict, bucket: str, purchase: bool, known_empty: bool = False) -> _Spend:
    limit = policy.live_limit(plan)
    if limit <= 0 or known_empty:
        if purchase:
            return _Spend(client, plan, bucket, True)
        raise HavenError("You have no session credit left for that period. Book with \"purchase\": true to buy one.",
                         "no_credit")
    if purchase and _usage(client.id, bucket) >= limit:  # buy only when a credit is really lacking
        return _Spend(client, plan, bucket, True)
    return _Spend(client, plan, bucket, False, purchase)


def _credit_release(tx, b: BookingModel, outcome: policy.Outcome, now: datetime) -> None:
    """What happens to the credit a booking held, inside the transaction that ends it."""
    credit = b.credit or {}
    price = int(b.price_cents or 0)
    if outcome.credit == policy.RETURN:
        if credit.get("purchased"):
            if price:
                tx.save(LedgerModel(b.client_id, f"{ledger.CHARGE}{b.id}#refund", amount_cents=-price,
                                    reason="session_refund", ref_id=b.id, created_at=iso(now)),
                        condition=LedgerModel.key.does_not_exist())
        elif credit.get("bucket"):
            item, actions, condition = ledger.return_action(b.client_id, credit["bucket"])
            tx.update(item, actions=actions, condition=condition)
    elif outcome.credit == policy.FORFEIT and outcome.charge_price and price:
        tx.save(LedgerModel(b.client_id, f"{ledger.CHARGE}{b.id}#missed", amount_cents=price,
                            reason="missed_session", ref_id=b.id, created_at=iso(now)),
                condition=LedgerModel.key.does_not_exist())


def _outcome(actor: str, action: str, b: BookingModel, now: datetime) -> policy.Outcome:
    s = wiring.settings()
    return policy.on_outcome(actor, action, parse_iso(b.starts_at), now, s.late_change_hours,
                             b.plan_kind or policy.SUBSCRIPTION,
                             purchased=bool((b.credit or {}).get("purchased")))


# --- timers --------------------------------------------------------------------------------------

def _confirmed_timers(b: BookingModel, version: int, now: datetime) -> list:
    """Reminders (each only if its moment has not passed: a reminder whose moment passed before the
    booking was confirmed is skipped; one due at the very moment of confirmation is kept, so a
    provider booking made exactly 24 h ahead gets its 24 h reminder) and the outcome check 24 h
    after the end."""
    s = wiring.settings()
    starts, ends = parse_iso(b.starts_at), parse_iso(b.ends_at)
    out = [store.timer(f"{b.id}:outcome", "booking_outcome", store.OUTCOME_KIND,
                       ends + timedelta(hours=s.outcome_grace_hours), b.id, iso(now), {"booking_id": b.id})]
    for which, due in (("long", starts - timedelta(hours=s.reminder_long_hours)),
                       ("short", starts - timedelta(minutes=s.reminder_short_minutes))):
        if due >= now:
            out.append(store.timer(f"{b.id}:v{version}:{which}", f"booking_reminder_{which}", store.REMINDER_KIND,
                                   due, b.id, iso(now), {"booking_id": b.id, "version": version, "which": which}))
    return out


def _pending_timer(b: BookingModel, now: datetime):
    return store.timer(f"{b.id}:confirm", "booking_confirm", store.CONFIRM_KIND, parse_iso(b.confirm_by), b.id,
                       iso(now), {"booking_id": b.id})


def _request_link(b: BookingModel, now: datetime) -> tuple[LinkModel, str]:
    """A confirm/decline link for the provider; returns the item (token hash only) and its id."""
    s = wiring.settings()
    link_id = secrets.token_urlsafe(32)
    expires = min(parse_iso(b.confirm_by), now + timedelta(days=s.link_token_days))
    item = LinkModel(notices.token_hash(notices.link_token(link_id)), kind="booking_response", booking_id=b.id,
                     actor_id=b.provider_id, created_at=iso(now), expires_at=sortable(expires),
                     expires=expires + timedelta(days=30))
    return item, link_id


def _requested_notice(b: BookingModel, link_id: str, now: datetime) -> list:
    return notices.to_one(b, "provider", "booking_requested", f"booking:{b.id}:requested", now,
                          {"link_id": link_id, "confirm_by": iso(parse_iso(b.confirm_by))})


# --- committing --------------------------------------------------------------------------------

def _save_all(tx, items: list) -> None:
    for item in items:
        if isinstance(item, NotificationModel):
            tx.save(item, condition=NotificationModel.id.does_not_exist())
        elif isinstance(item, LinkModel):
            tx.save(item, condition=LinkModel.id.does_not_exist())
        else:
            tx.save(item)  # timers: their version attribute makes this a create-only put


def _after_commit(items: list, now: datetime) -> None:
    notices.deliver_all([i for i in items if isinstance(i, NotificationModel)], now)


def _refused_transition(booking_id: str, now: datetime, action: str) -> HavenError:
    fresh = store.get(booking_id)
    state = status_now(fresh, now) if fresh else "gone"
    return rules.invalid_state(state, action)


# --- creating --------------------------------------------------------------------------------------

def create(caller: Caller, body: dict, now: datetime) -> dict:
    if caller.is_client:
        if "client_id" in body:
            raise ValidationError("Clients book with `provider_id`; `client_id` is for providers.",
                                  details={"field": "client_id"})
        if not body.get("provider_id"):
            raise ValidationError("`provider_id` is required.", details={"field": "provider_id"})
        client_id, provider_id = caller.id, body["provider_id"]
    else:
        if "provider_id" in body:
            raise ValidationError("Providers book with `client_id`; the provider is you.",
                                  details={"field": "provider_id"})
        if not body.get("client_id"):
            raise ValidationError("`client_id` is required.", details={"field": "client_id"})
        if body["client_id"] == caller.id:
            raise ValidationError("You cannot book a session with yourself.", details={"field": "client_id"})
        if body.get("purchase"):
            raise ValidationError("Only the client can buy a session credit.", details={"field": "purchase"})
        client_id, provider_id = body["client_id"], caller.id
    actor = _actor(caller)
    client, provider, room = _parties(caller, client_id, provider_id)
    rules.check_modality(body["modality"], provider.kind or "therapist")
    starts_at = body["starts_at"]
    ends_at = _check_time(actor, provider, starts_at, now)
    plan = _plan(client)
    bucket = policy.credit_bucket(plan, client.timezone or "UTC", starts_at, now)
    spend = _choose_spend(client, plan, bucket, bool(body.get("purchase")))
    for attempt in range(3):
        booking_id = "bk_" + secrets.token_hex(10)
        b = _new_booking(booking_id, actor, client, provider, room, body["modality"], starts_at, ends_at, spend, now)
        b.series_id = booking_id
        try:
            items = _create_items(b, now)
            wiring.get("before_booking_commit")("create", booking_id=booking_id)
            with transact_write() as tx:
                store.add_claims(tx, b.claims, booking_id, ends_at)
                spend.add(tx, booking_id, now)
                tx.save(b, condition=BookingModel.id.does_not_exist())
                _save_all(tx, items)
        except TransactWriteError as error:
            if not condition_failed(error):
                raise
            spend = _classify_create_refusal(b, spend, attempt, now)
            continue
        _after_commit(items, now)
        metrics.add_metric(name="BookingCreated", unit="Count", value=1)
        logger.info("booking created", extra={"booking_id": booking_id, "status": b.status, "by": actor})
        return render(b, now)
    raise HavenError("That time was just taken; choose another.", "slot_taken")


def _new_booking(booking_id, actor, client, provider, room, modality, starts_at, ends_at, spend: _Spend,
                 now) -> BookingModel:
    s = wiring.settings()
    status = rules.initial_status(actor)
    granules = slot_rules.claim_keys(starts_at, ends_at)
    return BookingModel(
        booking_id, client_id=client.id, provider_id=provider.id, room_id=room.id, modality=modality,
        status=status, starts_at=sortable(starts_at), ends_at=sortable(ends_at),
        confirm_by=sortable(rules.confirm_by(starts_at, s.confirm_before_start_hours)) if status == rules.PENDING
        else None,
        created_at=iso(now), created_by=actor, version=1, series_id=booking_id, sequence=0,
        plan_kind=spend.plan.get("kind"), price_cents=int(spend.plan.get("session_price_cents") or 0),
        credit=spend.credit, claims=store.claim_ids(client.id, provider.id, granules),
        client_email=client.email, provider_email=provider.email, client_tz=client.timezone or "UTC",
        provider_tz=(provider.availability or {}).get("timezone") or provider.timezone or "UTC",
    )


def _create_items(b: BookingModel, now: datetime) -> list:
    if b.status == rules.PENDING:
        link, link_id = _request_link(b, now)
        return [_pending_timer(b, now), link, *_requested_notice(b, link_id, now)]
    return [*_confirmed_timers(b, int(b.version), now),
            *notices.to_both(b, "booking_confirmed", f"booking:{b.id}:v{b.version}:confirmed", now,
                             ics_method="REQUEST", sequence=int(b.sequence))]


def _classify_create_refusal(b: BookingModel, spend: _Spend, attempt: int, now: datetime) -> _Spend:
    """A refused create: someone holds one of the granules (slot_taken, unless the holder is a
    request that has expired by the clock: it is expired now and the create is tried again), or the
    credit counter reached its limit meanwhile (no_credit, or buy one when the request allows it)."""
    holders = store.claims_holder(list(b.claims))
    others = {holder for holder in holders.values() if holder != b.id}
    if others:
        if attempt < 2 and _free_lapsed(others, now):
            return spend
        metrics.add_metric(name="BookingSlotTaken", unit="Count", value=1)
        raise HavenError("That time is already booked; choose another.", "slot_taken")
    if not spend.purchase and _usage(spend.client.id, spend.bucket) >= policy.live_limit(spend.plan):
        if attempt < 2 and _free_lapsed_credits(spend.client.id, spend.bucket, now):
            return spend  # a credit held by a request that lapsed by the clock is back: try again
        return _choose_spend(spend.client, spend.plan, spend.bucket, spend.may_purchase,
                             known_empty=True)
    if attempt:
        raise HavenError("The booking could not be saved because something changed meanwhile; try again.",
                         "slot_taken")
    return spend


# --- listing -------------------------------------------------------------------------------------

def list_bookings(caller: Caller, query: dict, now: datetime) -> dict:
    cursors = wiring.get("cursors")
    start, end = query.get("from"), query.get("to")
    if start is not None and end is not None and end <= start:
        raise ValidationError("`to` must be after `from`.", details={"field": "to"})
    status = query.get("status")
    scope = f"bookings:{caller.id}:{status or ''}:{iso(start) or ''}:{iso(end) or ''}"
    last_key = None
    if query.get("next"):
        position = cursors.decode(scope, query["next"])
        if not isinstance(position, list) or len(position) != 2 or not all(isinstance(p, str) for p in position):
            raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
        member = "client_id" if caller.is_client else "provider_id"
        last_key = {member: {"S": caller.id}, "starts_at": {"S": position[0]}, "id": {"S": position[1]}}
    limit = query["limit"]
    items: list[BookingModel] = []
    more = False
    results = store.page("client" if caller.is_client else "provider", caller.id, start, end,
                         page_size=max(limit + 1, 25), last_key=last_key)
    for b in results:
        if status and status_now(b, now) != status:
            continue
        if len(items) == limit:
            more = True
            break
        items.append(b)
    next_cursor = cursors.encode(scope, [items[-1].starts_at, items[-1].id]) if more and items else None
    return {"items": [render(b, now) for b in items], "next": next_cursor}


def next_session(room: RoomModel, now: datetime) -> dict | None:
    """The room's next (or current) session that still holds its time, for GET /rooms/{id}."""
    s = wiring.settings()
    since = now - timedelta(minutes=s.session_minutes)
    for b in BookingModel.by_client.query(room.client_id, BookingModel.starts_at >= sortable(since),
                                          page_size=20):
        if b.room_id != room.id or b.provider_id != room.provider_id:
            continue
        if parse_iso(b.ends_at) > now and status_now(b, now) in rules.HOLDS_TIME:
            return {"id": b.id, "status": status_now(b, now), "modality": b.modality,
                    "starts_at": iso(parse_iso(b.starts_at)), "ends_at": iso(parse_iso(b.ends_at))}
    return None


def free_slots(caller: Caller, provider_id: str, query: dict, now: datetime) -> dict:
    s = wiring.settings()
    start = query.get("from") or now
    end = query.get("to") or (start + timedelta(days=7))
    if end <= start:
        raise ValidationError("`to` must be after `from`.", details={"field": "to"})
    if end - start > timedelta(days=s.slots_max_range_days):
        raise HavenError(f"Ask for at most {s.slots_max_range_days} days of slots at a time.", "range_too_large")
    provider = _user(provider_id)
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    availability = provider.availability or {}
    tz = availability.get("timezone") or provider.timezone or "UTC"
    earliest = max(start, now + timedelta(hours=s.client_booking_min_hours))
    if earliest >= end:
        return {"items": []}
    since = earliest - timedelta(minutes=s.session_minutes)
    busy = []
    for index, member in (("provider", provider_id), ("client", caller.id)):
        for b in store.page(index, member, since, end, page_size=100, last_key=None):
            if status_now(b, now) in rules.HOLDS_TIME:
                busy.append((parse_iso(b.starts_at), parse_iso(b.ends_at)))
    found = slot_rules.free_slots(availability.get("windows") or [], tz, earliest, end, busy,
                                  length_minutes=s.session_minutes)
    return {"items": [{"starts_at": iso(a), "ends_at": iso(b)} for a, b in found]}


def _user(user_id: str) -> UserModel | None:
    try:
        return UserModel.get(user_id)
    except UserModel.DoesNotExist:
        return None


# --- provider decisions ------------------------------------------------------------------------

def confirm(caller: Caller, booking_id: str, now: datetime, *, link: LinkModel | None = None) -> dict:
    b = _member_booking(caller, booking_id)
    if caller.id != b.provider_id:
        raise HavenError("Only the provider can confirm a booking.", "forbidden")
    rules.can_confirm(domain_view(b), now)
    version = int(b.version) + 1
    sequence = int(b.sequence or 0) + 1
    confirmed = _copy(b, status=rules.CONFIRMED, version=version, sequence=sequence)
    items = [*_confirmed_timers(confirmed, version, now),
             *notices.to_both(confirmed, "booking_confirmed", f"booking:{b.id}:v{version}:confirmed", now,
                              ics_method="REQUEST", sequence=sequence)]
    try:
        with transact_write() as tx:
            store.transition(tx, b, [BookingModel.status.set(rules.CONFIRMED), BookingModel.sequence.set(sequence),
                                     BookingModel.updated_at.set(iso(now))], expect_status=rules.PENDING)
            _use_link(tx, link, "confirm", now)
            _save_all(tx, items)
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        raise _link_or_state_refusal(link, booking_id, now, "confirmed")
    _after_commit(items, now)
    logger.info("booking confirmed", extra={"booking_id": b.id})
    return render(confirmed, now)


def decline(caller: Caller, booking_id: str, now: datetime, *, link: LinkModel | None = None) -> dict:
    b = _member_booking(caller, booking_id)
    if caller.id != b.provider_id:
        raise HavenError("Only the provider can decline a booking.", "forbidden")
    rules.can_decline(domain_view(b), now)
    outcome = _outcome("provider", "decline", b, now)
    version = int(b.version) + 1
    declined = _copy(b, status=rules.DECLINED, version=version)
    items = notices.to_one(declined, "client", "booking_declined", f"booking:{b.id}:v{version}:declined", now)
    try:
        with transact_write() as tx:
            store.transition(tx, b, [BookingModel.status.set(rules.DECLINED), BookingModel.ended_by.set("provider"),
                                     BookingModel.updated_at.set(iso(now))], expect_status=rules.PENDING)
            store.release_claims(tx, list(b.claims), b.id)
            _credit_release(tx, b, outcome, now)
            _use_link(tx, link, "decline", now)
            _save_all(tx, items)
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        raise _link_or_state_refusal(link, booking_id, now, "declined")
    _after_commit(items, now)
    logger.info("booking declined", extra={"booking_id": b.id})
    return render(declined, now)


def _use_link(tx, link: LinkModel | None, action: str, now: datetime) -> None:
    if link is not None:
        tx.update(LinkModel(link.id), actions=[LinkModel.used_at.set(iso(now)), LinkModel.used_action.set(action)],
                  condition=LinkModel.used_at.does_not_exist())


def _link_or_state_refusal(link, booking_id, now, action) -> HavenError:
    if link is not None:
        fresh = store.link(link.id)
        if fresh is not None and fresh.used_at:
            return HavenError("This link has already been used.", "already_used")
    return _refused_transition(booking_id, now, action)


def _copy(b: BookingModel, **changes) -> BookingModel:
    fresh = BookingModel.from_raw_data(b.serialize())
    for name, value in changes.items():
        setattr(fresh, name, value)
    return fresh


# --- member changes -------------------------------------------------------------------------------

def cancel(caller: Caller, booking_id: str, reason: str | None, now: datetime) -> dict:
    b = _member_booking(caller, booking_id)
    return render(_cancel(b, _actor(caller), reason, now), now)


_CANCELLED_BY = {rules.PROVIDER: "by the provider", rules.CLIENT: "by the client", "system": "by Haven"}


def _cancel(b: BookingModel, actor: str, reason: str | None, now: datetime) -> BookingModel:
    new_status = rules.can_cancel(domain_view(b), now, actor, wiring.settings().late_change_hours)
    outcome = _outcome(actor, "cancel", b, now)
    version, sequence = int(b.version) + 1, int(b.sequence or 0) + 1
    was_confirmed = b.status == rules.CONFIRMED
    done = _copy(b, status=new_status, version=version, sequence=sequence)
    items = notices.to_both(done, "booking_cancelled", f"booking:{b.id}:v{version}:cancelled", now,
                            extra={"by": _CANCELLED_BY[actor]},
                            ics_method="CANCEL" if was_confirmed else None, sequence=sequence)
    actions = [BookingModel.status.set(new_status), BookingModel.sequence.set(sequence),
               BookingModel.ended_by.set(actor), BookingModel.updated_at.set(iso(now))]
    if reason:
        actions.append(BookingModel.cancel_reason.set(reason))
    try:
        with transact_write() as tx:
            store.transition(tx, b, actions, expect_status=b.status)
            store.release_claims(tx, list(b.claims), b.id)
            _credit_release(tx, b, outcome, now)
            _save_all(tx, items)
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        raise _refused_transition(b.id, now, "cancelled")
    _after_commit(items, now)
    logger.info("booking cancelled", extra={"booking_id": b.id, "status": new_status, "by": actor})
    return done


def cancel_with_previous_provider(client_id: str, previous_provider_id: str, now: datetime) -> int:
    """SPEC §2 (change of provider): the client's future bookings with the provider who lost the
    room are cancelled by Haven, credits returned, both told. Returns how many."""
    cancelled = 0
    for b in store.page("client", client_id, now, None, page_size=50, last_key=None):
        if b.provider_id != previous_provider_id or status_now(b, now) not in (rules.PENDING, rules.CONFIRMED):
            continue
        try:
            _cancel(b, "system", "provider changed", now)
            cancelled += 1
        except HavenError:  # changed meanwhile (e.g. cancelled by a member): nothing left to do
            continue
    return cancelled


def reschedule(caller: Caller, booking_id: str, body: dict, now: datetime) -> dict:
    old = _member_booking(caller, booking_id)
    actor = _actor(caller)
    rules.can_reschedule(domain_view(old), now, actor)
    client, provider, room = _parties(caller, old.client_id, old.provider_id)
    starts_at = body["starts_at"]
    if sortable(starts_at) == old.starts_at:
        raise ValidationError("The new time is the booking's current time.", details={"field": "starts_at"})
    ends_at = _check_time(actor, provider, starts_at, now)
    outcome = _outcome(actor, "reschedule", old, now)
    plan = _plan(client)
    new_bucket = policy.credit_bucket(plan, client.timezone or "UTC", starts_at, now)
    old_credit = old.credit or {}
    spend: _Spend | None = None
    return_old = False
    if outcome.credit == policy.MOVE:
        if old_credit.get("purchased") or old_credit.get("bucket") == new_bucket:
            new_credit = dict(old_credit)
        else:
            spend, return_old = _choose_spend(client, plan, new_bucket, False), bool(old_credit.get("bucket"))
            new_credit = spend.credit
    else:  # a late change by the client: the old credit is forfeited, the new booking needs its own
        spend = _choose_spend(client, plan, new_bucket, bool(body.get("purchase")))
        new_credit = spend.credit
    for attempt in range(3):
        new_id = "bk_" + secrets.token_hex(10)
        holder = spend or _Spend(client, plan, new_bucket, False)
        new = _new_booking(new_id, actor, client, provider, room, old.modality, starts_at, ends_at, holder, now)
        new.credit, new.series_id = new_credit, old.series_id
        new.sequence, new.rescheduled_from = int(old.sequence or 0) + 1, old.id
        if not spend:
            new.plan_kind, new.price_cents = old.plan_kind, old.price_cents
        items = _create_items(new, now)
        if new.status == rules.PENDING and old.status == rules.CONFIRMED:
            method = "CANCEL"  # the agreed time is withdrawn until the provider confirms the new one
        else:
            method = "REQUEST" if new.status == rules.CONFIRMED else None
        if new.status == rules.CONFIRMED:  # the rescheduled email carries the invitation; no separate one
            items = [i for i in items if not (isinstance(i, NotificationModel) and i.template == "booking_confirmed")]
        items += notices.to_both(new, "booking_rescheduled", f"booking:{old.id}:rescheduled", now,
                                 extra={"old_starts_at": iso(parse_iso(old.starts_at)),
                                        "next": "The provider will confirm the new time."
                                        if new.status == rules.PENDING else "It is confirmed."},
                                 ics_method=method, sequence=int(new.sequence))
        try:
            wiring.get("before_booking_commit")("reschedule", booking_id=new_id)
            with transact_write() as tx:
                store.transition(tx, old, [BookingModel.status.set(rules.RESCHEDULED),
                                           BookingModel.rescheduled_to.set(new_id), BookingModel.ended_by.set(actor),
                                           BookingModel.updated_at.set(iso(now))], expect_status=old.status)
                store.move_claims(tx, list(old.claims), old.id, list(new.claims), new_id, ends_at)
                if return_old:
                    item, actions, condition = ledger.return_action(old.client_id, old_credit["bucket"])
                    tx.update(item, actions=actions, condition=condition)
                if outcome.credit == policy.FORFEIT:
                    _credit_release(tx, old, outcome, now)
                if spend is not None:
                    spend.add(tx, new_id, now)
                tx.save(new, condition=BookingModel.id.does_not_exist())
                _save_all(tx, items)
        except TransactWriteError as error:
            if not condition_failed(error):
                raise
            fresh = store.get(old.id)
            if fresh is None or int(fresh.version) != int(old.version):
                raise _refused_transition(old.id, now, "rescheduled")
            holders = store.claims_holder(list(new.claims))
            others = {h for h in holders.values() if h not in (old.id, new_id)}
            if others:
                if attempt < 2 and _free_lapsed(others, now):
                    continue
                raise HavenError("That time is already booked; choose another.", "slot_taken")
            if spend is not None and not spend.purchase:
                spend = _choose_spend(client, plan, new_bucket, bool(body.get("purchase")), known_empty=True)
                new_credit = spend.credit
                continue
            raise HavenError("The booking changed meanwhile; try again.", "invalid_state")
        _after_commit(items, now)
        logger.info("booking rescheduled", extra={"booking_id": old.id, "new_booking_id": new_id, "by": actor})
        return render(new, now)
    raise HavenError("The booking changed meanwhile; try again.", "invalid_state")


def join(caller: Caller, booking_id: str, now: datetime) -> dict:
    b = _member_booking(caller, booking_id)
    s = wiring.settings()
    rules.check_join(domain_view(b), now, s.join_opens_minutes)
    field = BookingModel.client_joined_at if caller.id == b.client_id else BookingModel.provider_joined_at
    try:
        BookingModel(b.id).update(actions=[field.set(field | iso(now))],  # keeps the first join time
                                  condition=(BookingModel.status == rules.CONFIRMED)
                                  & (BookingModel.version == int(b.version)))
    except Exception as error:
        if not condition_failed(error):
            raise
        raise _refused_transition(b.id, now, "joined")
    role = "client" if caller.id == b.client_id else "provider"
    url = wiring.get("video").join_url(booking_id=b.id, room_id=b.room_id, modality=b.modality,
                                       participant_id=caller.id, role=role)
    return {"join_url": url}


def complete(caller: Caller, booking_id: str, now: datetime) -> dict:
    b = _member_booking(caller, booking_id)
    if caller.id != b.provider_id:
        raise HavenError("Only the provider marks a session completed.", "forbidden")
    rules.can_complete(domain_view(b), now, wiring.settings().outcome_grace_hours)
    return _close(b, rules.COMPLETED, "provider", None, now, "completed")


def no_show(caller: Caller, booking_id: str, now: datetime) -> dict:
    b = _member_booking(caller, booking_id)
    s = wiring.settings()
    actor = _actor(caller)
    new_status = rules.can_no_show(domain_view(b), now, actor, s.no_show_after_minutes, s.outcome_grace_hours)
    action = "no_show_client" if actor == rules.PROVIDER else "no_show_provider"
    return _close(b, new_status, actor, _outcome(actor, action, b, now), now, "marked a no-show")


def _close(b: BookingModel, new_status: str, actor: str, outcome, now: datetime, action: str) -> dict:
    version = int(b.version) + 1
    done = _copy(b, status=new_status, version=version)
    items = []
    if new_status == rules.PROVIDER_NO_SHOW:
        items = notices.to_ops(done, "booking_provider_no_show_ops", f"booking:{b.id}:provider_no_show", now)
    try:
        with transact_write() as tx:
            extra = None
            if new_status == rules.CLIENT_NO_SHOW:
                extra = BookingModel.client_joined_at.does_not_exist()
            elif new_status == rules.PROVIDER_NO_SHOW:
                extra = BookingModel.provider_joined_at.does_not_exist()
            condition = (BookingModel.version == int(b.version)) & (BookingModel.status == rules.CONFIRMED)
            if extra is not None:
                condition &= extra
            tx.update(BookingModel(b.id), actions=[BookingModel.status.set(new_status), BookingModel.version.add(1),
                                                   BookingModel.ended_by.set(actor),
                                                   BookingModel.updated_at.set(iso(now))], condition=condition)
            if outcome is not None:
                _credit_release(tx, b, outcome, now)
            _save_all(tx, items)
    except TransactWriteError as error:
        if not condition_failed(error):
            raise
        raise _refused_transition(b.id, now, action)
    _after_commit(items, now)
    logger.info("booking closed", extra={"booking_id": b.id, "status": new_status, "by": actor})
    return render(done, now)


# --- sweeps --------------------------------------------------------------------------------------

def expire_due(now: datetime) -> int:
    """Pending bookings whose confirmation deadline passed: expired, credit returned, client told
    by email and a room message. Each timer is settled in the same transaction as the change."""
    done = 0
    for t in list(store.due_timers(store.CONFIRM_KIND, now, wiring.settings().sweep_batch)):
        b = store.get(t.ref_id)
        if b is None or b.status != rules.PENDING or status_now(b, now) != rules.EXPIRED:
            store.settle_timer(None, t, iso(now), "skipped")
            continue
        done += _expire(b, t, now)
    return done


def _expire(b: BookingModel, t, now: datetime) -> bool:
    """Persist the expiry of one pending booking past its deadline, once: the change is conditioned
    on the version read, so of two runs (or a run and a request) only one commits, tells the client
    and posts the room message. `t` is its confirm timer, settled in the same transaction (None
    when a request does this before the sweep; the sweep then finds the booking no longer pending)."""
    version = int(b.version) + 1
    expired = _copy(b, status=rules.EXPIRED, version=version)
    starts = notices.ics.local_text(parse_iso(b.starts_at), b.client_tz)
    items = [*notices.to_one(expired, "client", "booking_expired", f"booking:{b.id}:v{version}:expired", now),
             notify.room_message(f"booking:{b.id}:v{version}:expired:room", b.room_id,
                                 f"The session request for {starts} was not confirmed in time and has expired. "
                                 f"The credit has been returned.", now)]
    try:
        with transact_write() as tx:
            store.transition(tx, b, [BookingModel.status.set(rules.EXPIRED), BookingModel.ended_by.set("system"),
                                     BookingModel.updated_at.set(iso(now))], expect_status=rules.PENDING)
            store.release_claims(tx, list(b.claims), b.id)
            _credit_release(tx, b, _outcome("system", "expire", b, now), now)
            if t is not None:
                store.settle_timer(tx, t, iso(now), "expired")
            _save_all(tx, items)
    except TransactWriteError as error:
        if condition_failed(error):
            return False  # another run (or a change) got there first; the next run re-reads
        raise
    _after_commit(items, now)
    return True


def _free_lapsed(holder_ids, now: datetime) -> bool:
    """States follow the clock: a request past its confirmation deadline is `expired` even before the
    deadlines sweep has run, so it must not keep its time. When such a booking holds a claim a new
    booking needs, expire it now, exactly as the sweep would. True when any time was freed."""
    freed = False
    for booking_id in sorted(set(holder_ids)):
        b = store.get(booking_id)
        if b is not None and b.status == rules.PENDING and status_now(b, now) == rules.EXPIRED:
            freed = _expire(b, None, now) or freed
    return freed


def _free_lapsed_credits(client_id: str, bucket: str, now: datetime) -> bool:
    """The same rule for credits: a client's request past its confirmation deadline still holds its
    credit until the sweep expires it. Before refusing `no_credit`, expire the client's lapsed
    requests that hold a credit of this bucket. A lapsed request starts within `confirm_before_start_hours`
    from now (or earlier), so one bounded Query finds them. True when a credit came back."""
    s = wiring.settings()
    window = store.page("client", client_id, now - timedelta(days=31),
                        now + timedelta(hours=s.confirm_before_start_hours), page_size=100, last_key=None)
    lapsed = [b.id for b in window if b.status == rules.PENDING and (b.credit or {}).get("bucket") == bucket
              and status_now(b, now) == rules.EXPIRED]
    return bool(lapsed) and _free_lapsed(lapsed, now)


def close_due(now: datetime) -> int:
    """Confirmed sessions with no outcome 24 h after the end: completed if both joined, else
    unresolved (ops told)."""
    done = 0
    for t in list(store.due_timers(store.OUTCOME_KIND, now, wiring.settings().sweep_batch)):
        b = store.get(t.ref_id)
        new_status = None
        if b is not None and b.status == rules.CONFIRMED:
            new_status = rules.outcome_after_grace(domain_view(b), now, wiring.settings().outcome_grace_hours)
        if new_status is None:
            store.settle_timer(None, t, iso(now), "skipped")
            continue
        version = int(b.version) + 1
        closed = _copy(b, status=new_status, version=version)
        items = notices.to_ops(closed, "booking_unresolved_ops", f"booking:{b.id}:unresolved", now) \
            if new_status == rules.UNRESOLVED else []
        try:
            with transact_write() as tx:
                store.transition(tx, b, [BookingModel.status.set(new_status), BookingModel.ended_by.set("system"),
                                         BookingModel.updated_at.set(iso(now))], expect_status=rules.CONFIRMED)
                store.settle_timer(tx, t, iso(now), new_status)
                _save_all(tx, items)
        except TransactWriteError as error:
            if condition_failed(error):
                continue
            raise
        _after_commit(items, now)
        done += 1
    return done


def remind_due(now: datetime) -> dict:
    """24 h and 10 min reminders for confirmed bookings, each at most once per booking version.
    Reads: the due timers (index) and each one's booking; nothing else. A reminder is taken and
    its two emails recorded in one transaction (so a run that dies afterwards loses nothing: the
    deadlines sweep sends what was recorded), then the emails are sent and the room message posted."""
    s = wiring.settings()
    sent = skipped = 0
    for t in list(store.due_timers(store.REMINDER_KIND, now, s.sweep_batch)):
        data = t.data or {}
        b = store.get(t.ref_id)
        which = data.get("which")
        ok = (b is not None and b.status == rules.CONFIRMED and int(b.version) == int(data.get("version", -1))
              and status_now(b, now) == rules.CONFIRMED)
        if ok and which == "long":
            ok = now < parse_iso(b.starts_at) - timedelta(hours=s.reminder_long_skip_within_hours)
        elif ok:
            ok = now < parse_iso(b.ends_at)
        if not ok:
            if store.settle_timer(None, t, iso(now), "skipped"):
                skipped += 1
            continue
        key = f"booking:{b.id}:v{b.version}:remind_{which}"
        extra = {"action_url": wiring.get("video").join_page(b.id)} if which == "short" else None
        starts = notices.ics.local_text(parse_iso(b.starts_at), b.client_tz)
        text = (f"Your {b.modality} session at {starts} is open to join now." if which == "short"
                else f"Reminder: your {b.modality} session is on {starts}.")
        items = [*notices.to_both(b, f"booking_reminder_{which}", key, now, extra=extra),
                 notify.room_message(f"{key}:room", b.room_id, text, now)]
        try:
            with transact_write() as tx:
                store.settle_timer(tx, t, iso(now), "sent")
                _save_all(tx, items)
        except TransactWriteError as error:
            if condition_failed(error):
                continue  # another run took it
            raise
        _after_commit(items, now)
        sent += 1
    return {"reminders_sent": sent, "reminders_skipped": skipped}

