"""Bookings, slot claims, emailed links and booking timers: keys, reads and transaction items.

The store owns every key and shape here: a booking is read as a `domain.booking_plans.Booking`
value (`to_domain`, once), and a planned `Change` is turned into the writes of one unit of work
(`stage`): claims, credit counters and ledger lines, timers, links, the booking itself.

The one guard against double booking is here: `claim_items` turns a booking's granules into
claim items (`<member id>#<granule>`) that a transaction creates with `attribute_not_exists`.
Two bookings that overlap for one member share a granule, so at most one of them commits.
Releasing a claim deletes it only while it still names the booking that holds it.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.domain import request_plans
from chalicelib.store import ledger
from chalicelib.store.models import BookingModel, ClaimModel, LedgerModel, LinkModel, SessionRequestModel, TimerModel
from chalicelib.store.unit_of_work import UnitOfWork

CONFIRM_KIND = "booking_confirm"    # deadlines sweep: pending past confirm_by → expired
OUTCOME_KIND = "booking_outcome"    # deadlines sweep: confirmed, no outcome 24 h after the end
REMINDER_KIND = "booking_reminder"  # reminders sweep: 24 h and 10 min before start
MEETING_KIND = "booking_meeting_end"  # deadlines sweep: a session's Chime meeting ended after it
REQUEST_DEADLINE_KIND = "request_deadline"  # deadlines sweep: respond_by → expired, accept_by → lapsed
REQUEST_NUDGE_KIND = "request_nudge"        # reminders sweep: the provider's and the client's nudges
CLAIM_TTL = timedelta(days=7)       # a claim is cleaned up a week after its session ended


def get(booking_id: str, consistent: bool = True) -> BookingModel | None:
    try:
        return BookingModel.get(booking_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def claim_id(member_id: str, granule: str) -> str:
    return f"{member_id}#{granule}"


def claim_ids(client_id: str, provider_id: str, granules: list[str]) -> list[str]:
    return [claim_id(member, g) for member in (provider_id, client_id) for g in granules]


def claims_holder(ids: list[str]) -> dict[str, str]:
    """claim id -> booking id, for those claims that exist (strongly consistent)."""
    if not ids:
        return {}
    return {c.id: c.booking_id for c in ClaimModel.batch_get(ids, consistent_read=True)}


def _claim(claim: str, booking_id: str, ends_at: datetime) -> ClaimModel:
    return ClaimModel(claim, booking_id=booking_id, expires=ends_at + CLAIM_TTL)


def timer(timer_id: str, kind: str, due_kind: str, due_at: datetime, booking_id: str, created_at: str,
          data: dict | None = None) -> TimerModel:
    return TimerModel(timer_id, kind=kind, ref_id=booking_id, created_at=created_at, data=data or {},
                      due_kind=due_kind, due_at=sortable(due_at))


def due_timers(due_kind: str, now: datetime, page_size: int):
    """Every due item of a kind, oldest first, read lazily page by page: the caller stops when its
    time budget is spent (`chalicelib.budget`), so a backlog drains in one run."""
    return TimerModel.due.query(due_kind, TimerModel.due_at <= sortable(now), page_size=page_size)


def page(index_name: str, member_id: str, start: datetime | None, end: datetime | None, page_size: int,
         last_key: dict | None):
    """Bookings of one member by `starts_at` ascending, `[start, end)`."""
    index = BookingModel.by_client if index_name == "client" else BookingModel.by_provider
    condition = None
    if start is not None and end is not None:
        condition = BookingModel.starts_at.between(sortable(start), sortable(end - timedelta(milliseconds=1)))
    elif start is not None:
        condition = BookingModel.starts_at >= sortable(start)
    elif end is not None:
        condition = BookingModel.starts_at < sortable(end)
    return index.query(member_id, condition, last_evaluated_key=last_key, page_size=page_size)


def page_key(index_name: str, member_id: str, starts_at: str, booking_id: str) -> dict:
    """Where a page of `page` continues (the last item's index key)."""
    member = "client_id" if index_name == "client" else "provider_id"
    return {member: {"S": member_id}, "starts_at": {"S": starts_at}, "id": {"S": booking_id}}


def upcoming_for_client(client_id: str, since: datetime, page_size: int = 20):
    """A client's bookings starting at or after `since`, soonest first (lazily paged)."""
    return BookingModel.by_client.query(client_id, BookingModel.starts_at >= sortable(since), page_size=page_size)


def link(link_hash: str) -> LinkModel | None:
    try:
        return LinkModel.get(link_hash, consistent_read=True)
    except DoesNotExist:
        return None


def instant(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


# --- values and keys ----------------------------------------------------------------------------

def to_domain(b: BookingModel) -> plans.Booking:
    credit = b.credit or {}
    return plans.Booking(
        id=b.id, client_id=b.client_id, provider_id=b.provider_id, room_id=b.room_id, modality=b.modality,
        status=b.status, starts_at=parse_iso(b.starts_at), ends_at=parse_iso(b.ends_at),
        confirm_by=instant(b.confirm_by), version=int(b.version), series_id=b.series_id,
        sequence=int(b.sequence or 0), created_at=b.created_at, created_by=b.created_by,
        credit=plans.Credit(bucket=credit.get("bucket"), purchased=bool(credit.get("purchased"))),
        plan_kind=b.plan_kind, price_cents=int(b.price_cents or 0), claims=tuple(b.claims or ()),
        client_tz=b.client_tz or "UTC", provider_tz=b.provider_tz or "UTC",
        client_joined_at=instant(b.client_joined_at), provider_joined_at=instant(b.provider_joined_at),
        rescheduled_to=b.rescheduled_to, rescheduled_from=b.rescheduled_from,
        client_email=b.client_email, provider_email=b.provider_email,
        questionnaire_submitted=bool(b.questionnaire_at), risk_flag=bool(b.risk_flag), rated=bool(b.rated),
        meeting_id=b.meeting_id, meeting=b.meeting if b.meeting_id else None,
        meeting_generation=int(b.meeting_generation or 0), last_request=b.last_request)


def find(booking_id: str) -> plans.Booking | None:
    found = get(booking_id)
    return to_domain(found) if found is not None else None


def _model(b: plans.Booking) -> BookingModel:
    credit = {"purchased": True} if b.credit.purchased else {"bucket": b.credit.bucket}
    return BookingModel(
        b.id, client_id=b.client_id, provider_id=b.provider_id, room_id=b.room_id, modality=b.modality,
        status=b.status, starts_at=sortable(b.starts_at), ends_at=sortable(b.ends_at),
        confirm_by=sortable(b.confirm_by) if b.confirm_by else None, created_at=b.created_at,
        created_by=b.created_by, version=b.version, series_id=b.series_id, sequence=b.sequence,
        rescheduled_from=b.rescheduled_from, plan_kind=b.plan_kind, price_cents=b.price_cents, credit=credit,
        claims=list(b.claims), client_email=b.client_email, provider_email=b.provider_email,
        client_tz=b.client_tz, provider_tz=b.provider_tz)


def notice_key(booking_id: str, event: str, version: int | None, recipient: str) -> str:
    """The outbox id of a booking notice: deterministic, so recording it twice is a no-op, and
    made of ids only (never an address)."""
    stem = f"booking:{booking_id}:v{version}:{event}" if version is not None else f"booking:{booking_id}:{event}"
    return f"{stem}:{recipient}"


_TIMER_KINDS = {"confirm": CONFIRM_KIND, "outcome": OUTCOME_KIND, "reminder": REMINDER_KIND}


def timer_id(booking_id: str, purpose: str, version: int | None = None, which: str | None = None) -> str:
    """A booking's due item id: it names the booking (and, for reminders, the version and which)."""
    if purpose == "reminder":
        return f"{booking_id}:v{version}:{which}"
    return f"{booking_id}:{purpose}"


# What a reminder needs of its booking, copied onto its due item when the booking is confirmed
# (ids, times, zones: never an address), so the reminders sweep reads nothing else per reminder.
_COPIED = ("client_id", "provider_id", "room_id", "modality", "series_id", "created_at", "created_by", "sequence",
           "plan_kind", "client_tz", "provider_tz")


def _copy(b: plans.Booking) -> dict:
    return {**{name: getattr(b, name) for name in _COPIED}, "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at)}


def reminder_booking(t: TimerModel) -> plans.Booking | None:
    """The booking as its reminder was set for (confirmed, at the timer's version), from the
    copy on the due item; None for a due item set before copies were made (read the booking).
    Acting on it is guarded by `plans.CheckBooking` in the same transaction."""
    data = t.data or {}
    copy = data.get("booking")
    if not copy:
        return None
    fields = {name: copy.get(name) for name in _COPIED}
    return plans.Booking(id=t.ref_id, status=rules.CONFIRMED, version=int(data["version"]),
                         starts_at=parse_iso(copy["starts_at"]), ends_at=parse_iso(copy["ends_at"]),
                         **{**fields, "sequence": int(fields["sequence"] or 0),
                            "client_tz": fields["client_tz"] or "UTC", "provider_tz": fields["provider_tz"] or "UTC"})


def meeting_timer_id(booking_id: str, generation: int) -> str:
    return f"{booking_id}:meeting:g{int(generation)}"


def meeting_timer_item(t: plans.MeetingTimer, created_at: str) -> TimerModel:
    return timer(meeting_timer_id(t.booking_id, t.generation), MEETING_KIND, MEETING_KIND, t.due_at, t.booking_id,
                 created_at, {"booking_id": t.booking_id, "meeting_id": t.meeting_id, "generation": t.generation})


def timer_item(t: plans.Timer, created_at: str) -> TimerModel:
    if t.purpose == "reminder":
        data = {"booking_id": t.booking_id, "version": t.version, "which": t.which}
        if t.booking is not None:
            data["booking"] = _copy(t.booking)
        return timer(timer_id(t.booking_id, "reminder", t.version, t.which), f"booking_reminder_{t.which}", REMINDER_KIND,
                     t.due_at, t.booking_id, created_at, data)
    return timer(f"{t.booking_id}:{t.purpose}", _TIMER_KINDS[t.purpose], _TIMER_KINDS[t.purpose], t.due_at,
                 t.booking_id, created_at, {"booking_id": t.booking_id})


_CHARGE_SUFFIX = {"session_purchase": "", "session_refund": "#refund", "missed_session": "#missed"}


def charge_item(c: plans.Charge, created_at: str) -> LedgerModel:
    return LedgerModel(c.client_id, f"{ledger.CHARGE}{c.booking_id}{_CHARGE_SUFFIX[c.reason]}",
                       amount_cents=c.amount_cents, reason=c.reason, ref_id=c.booking_id, created_at=created_at)


_SORTABLE_FIELDS = {"starts_at", "ends_at", "confirm_by"}


def _attr_value(name: str, value):
    if isinstance(value, datetime):
        return sortable(value) if name in _SORTABLE_FIELDS else iso(value)
    return value


def stage(uow: UnitOfWork, change: plans.Change, now: datetime, link_hash, request: str | None = None) -> None:
    """Add the writes of a planned change to a unit of work. `link_hash(link_id)` gives the stored
    id of an emailed link (the token is made with the signing key, which the store never sees)."""
    created = iso(now)
    for w in change.writes:
        if isinstance(w, plans.NewBooking):
            model = _model(w.booking)
            model.last_request = request
            uow.create(model)
        elif isinstance(w, plans.UpdateBooking):
            _stage_update(uow, w, request)
        elif isinstance(w, plans.Claims):
            _stage_claims(uow, w)
        elif isinstance(w, plans.SpendCredit):
            item, actions, condition = ledger.spend_action(w.client_id, w.bucket, w.limit)
            uow.update(item, actions, condition)
        elif isinstance(w, plans.ReturnCredit):
            item, actions, condition = ledger.return_action(w.client_id, w.bucket)
            uow.update(item, actions, condition)
        elif isinstance(w, plans.Charge):
            uow.create(charge_item(w, created), LedgerModel.key.does_not_exist())
        elif isinstance(w, plans.Timer):
            uow.put(timer_item(w, created))  # its version attribute makes this a create-only put
        elif isinstance(w, plans.CheckBooking):
            uow.check(BookingModel, w.booking_id, (BookingModel.version == int(w.version))
                      & (BookingModel.status == w.status))
        elif isinstance(w, plans.MeetingTimer):
            uow.put(meeting_timer_item(w, created))
        elif isinstance(w, plans.SetMeeting):
            _stage_set_meeting(uow, w)
        elif isinstance(w, plans.ClearMeeting):
            uow.update(BookingModel(w.booking_id), [BookingModel.meeting_id.remove(), BookingModel.meeting.remove()],
                       BookingModel.meeting_id == w.meeting_id)
        elif isinstance(w, plans.SettleTimer):
            item = TimerModel(w.timer_id)
            item.version = w.version  # the version read: of two runs only one settles it
            uow.update(item, _settle_actions(w.outcome, created), TimerModel.due_at.exists(),
                       add_version_condition=w.version is not None)
        elif isinstance(w, plans.DropTimer):
            uow.delete(TimerModel(timer_id(w.booking_id, w.purpose, w.version, w.which)), add_version_condition=False)
        elif isinstance(w, plans.NewLink):
            expires = w.expires_at
            uow.create(LinkModel(link_hash(w.link_id), kind="booking_response", booking_id=w.booking_id,
                                 actor_id=w.actor_id, created_at=created, expires_at=sortable(expires),
                                 expires=expires + timedelta(days=30)))
        elif isinstance(w, plans.UseLink):
            uow.update(LinkModel(w.link_hash), [LinkModel.used_at.set(created), LinkModel.used_action.set(w.action)],
                       LinkModel.used_at.does_not_exist())
        elif isinstance(w, (request_plans.NewRequest, request_plans.UpdateRequest, request_plans.RequestTimer)):
            _stage_request(uow, w, created)
        else:  # pragma: no cover - a new kind of write must be taught to the store
            raise TypeError(type(w).__name__)


def _stage_update(uow: UnitOfWork, w: plans.UpdateBooking, request: str | None = None) -> None:
    condition = BookingModel.id.exists()
    if w.version is not None:
        condition &= BookingModel.version == int(w.version)
    if w.status is not None:
        condition &= BookingModel.status == w.status
    for name in w.absent:
        condition &= getattr(BookingModel, name).does_not_exist()
    actions = [getattr(BookingModel, name).set(_attr_value(name, value)) for name, value in w.set.items()]
    actions += [getattr(BookingModel, name).set(getattr(BookingModel, name) | _attr_value(name, value))
                for name, value in w.keep_first.items()]
    for name, value in w.earliest.items():
        attribute = getattr(BookingModel, name)
        condition &= attribute.does_not_exist() | (attribute > _attr_value(name, value))
        actions.append(attribute.set(_attr_value(name, value)))
    if w.bump:
        actions.append(BookingModel.version.add(1))
        # which keyed request made this change (none: a sweep, an unkeyed request)
        actions.append(BookingModel.last_request.set(request) if request else BookingModel.last_request.remove())
    uow.update(BookingModel(w.booking_id), actions, condition)


def _stage_set_meeting(uow: UnitOfWork, w: plans.SetMeeting) -> None:
    """The one meeting of a booking: written only over the generation read, while confirmed."""
    condition = BookingModel.status == "confirmed"
    if w.replaces:
        condition &= BookingModel.meeting_generation == int(w.replaces)
    else:
        condition &= BookingModel.meeting_generation.does_not_exist()
    uow.update(BookingModel(w.booking_id), [BookingModel.meeting_id.set(w.meeting_id),
                                            BookingModel.meeting.set(dict(w.meeting)),
                                            BookingModel.meeting_generation.set(int(w.generation))], condition)


def _stage_claims(uow: UnitOfWork, w: plans.Claims) -> None:
    """A granule both the old and the new booking occupy is handed over (one transaction may
    touch an item once); the others are created under the guard or released."""
    old, new = set(w.release), set(w.add)
    for claim in w.add:
        if claim in old:
            uow.update(ClaimModel(claim), [ClaimModel.booking_id.set(w.booking_id),
                                           ClaimModel.expires.set(w.ends_at + CLAIM_TTL)],
                       ClaimModel.booking_id == w.old_booking_id)
        else:
            uow.create(_claim(claim, w.booking_id, w.ends_at))
    for claim in w.release:
        if claim not in new:
            uow.delete(ClaimModel(claim), ClaimModel.booking_id == w.old_booking_id)


def _settle_actions(outcome: str, settled_at: str) -> list:
    return [TimerModel.due_kind.remove(), TimerModel.due_at.remove(), TimerModel.settled_at.set(settled_at),
            TimerModel.stage.set(1), TimerModel.outcome.set(outcome)]


# --- session requests: the same unit of work, the same claims -------------------------------------

def _request_value(value):
    if isinstance(value, datetime):
        return sortable(value)
    if isinstance(value, (tuple, list)):
        return [_request_value(v) for v in value]
    return value


def request_timer_item(t: request_plans.RequestTimer, created_at: str) -> TimerModel:
    """A request's due item: its id names the request, the version it was set for and its purpose."""
    kind = REQUEST_DEADLINE_KIND if t.purpose in request_plans.DEADLINE_PURPOSES else REQUEST_NUDGE_KIND
    return timer(request_plans.timer_id(t.request_id, t.version, t.purpose), f"request_{t.purpose}", kind, t.due_at,
                 t.request_id, created_at, {"request_id": t.request_id, "version": t.version, "purpose": t.purpose})


def request_model(r: request_plans.Request, sealed: dict | None = None) -> SessionRequestModel:
    return SessionRequestModel(
        r.id, client_id=r.client_id, provider_id=r.provider_id, modality=r.modality, status=r.status,
        created_at=sortable(r.requested_at), respond_by=sortable(r.respond_by),
        preferred=[p.as_dict() for p in r.preferred], client_tz=r.client_tz, provider_tz=r.provider_tz,
        proposals=[sortable(p) for p in r.proposals], plan_kind=r.plan_kind,
        program_ends_at=sortable(r.program_ends_at) if r.program_ends_at else None, claims=list(r.claims),
        version=r.version, **(sealed or {}))


def _stage_request(uow: UnitOfWork, w, created: str) -> None:
    if isinstance(w, request_plans.NewRequest):
        uow.create(request_model(w.request, dict(w.sealed)))
    elif isinstance(w, request_plans.UpdateRequest):
        condition = (SessionRequestModel.version == int(w.version)) & (SessionRequestModel.status == w.status)
        actions = [getattr(SessionRequestModel, name).set(_request_value(value)) for name, value in w.set.items()
                   if value is not None]
        actions += [getattr(SessionRequestModel, name).remove() for name, value in w.set.items() if value is None]
        actions.append(SessionRequestModel.version.add(1))
        uow.update(SessionRequestModel(w.request_id), actions, condition)
    else:
        uow.put(request_timer_item(w, created))
