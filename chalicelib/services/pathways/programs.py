"""A referral client's program as it stands now (SPEC §2 "Care pathways", "Discharges").

A leaf among the services: it reads the store and applies `domain.referrals` and
`domain.discharges`, and imports no other service, so bookings, rooms, messaging sessions and
profiles can all ask it whether a client may act.

- `program(user)`: the referral program on the client's plan (None for other plans).
- `facts(user, now)`: what decides the discharge (`domain.discharges.DischargeFacts`), read
  from the client's bookings and requests in this program and the notices sent.
- `status(user, now)`: `status` and `discharge` by the clock, before any sweep persists them.
- `require_not_discharged`, `check_session`, `may_purchase`: the checks of the other use cases.
- `touch(user_or_id, now)`: facts changed; the discharges sweep looks at the client again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso, parse_iso
from chalicelib.domain import bookings as rules
from chalicelib.domain import discharges as rules_d
from chalicelib.domain import referrals as rules_r
from chalicelib.domain import session_requests as sr
from chalicelib.observability import logger
from chalicelib.store import bookings as booking_store
from chalicelib.store import discharges as discharge_store
from chalicelib.store import session_requests as request_store
from chalicelib.store import users as user_store
from chalicelib.store.models import UserModel

REFERRAL = "referral"
# Booking changes that change no discharge fact (reminders, joins, confirmation of a pending one).
_FACTS_UNCHANGED = frozenset({"reminded", "skipped", "joined", "confirmed", "meeting", "meeting_ended"})
# A booking that ended before its start: the client stopped having it as a future booking then.
_ENDED_BEFORE_START = frozenset({rules.CANCELLED, rules.LATE_CANCELLED, rules.DECLINED, rules.EXPIRED,
                                 rules.RESCHEDULED})


def program(user: UserModel | None) -> dict | None:
    plan = (user.plan if user is not None else None) or {}
    return plan if plan.get("kind") == REFERRAL and plan.get("referral_id") else None


def days() -> dict:
    s = wiring.settings()
    return {"first_booking_days": s.discharge_first_booking_days, "follow_up_days": s.discharge_follow_up_days,
            "notice_days": s.discharge_notice_days}


def facts(user: UserModel, now: datetime, timer=None) -> rules_d.DischargeFacts:
    """The facts of the client's current program as of `now` (one Query of bookings, one of
    requests, and the discharge timer's notices unless the caller has the timer already)."""
    prog = program(user)
    first, ends = parse_iso(prog["first_access"]), parse_iso(prog["program_ends_at"])
    grace = wiring.settings().outcome_grace_hours
    ever = upcoming = False
    last_end = booked_until = None
    for model in booking_store.page("client", user.id, first, None, page_size=100, last_key=None):
        if parse_iso(model.created_at) < first:
            continue  # made before this program (under an earlier plan)
        b = booking_store.to_domain(model)
        ever = True
        status = rules.effective_status(b.view(), now, grace)
        if status == rules.COMPLETED:
            last_end = max(last_end or b.ends_at, b.ends_at)
        if status in rules.HOLDS_TIME and b.starts_at > now:
            upcoming = True
            continue
        if status in _ENDED_BEFORE_START:
            gone = parse_iso(model.updated_at) if model.updated_at else (b.confirm_by or b.starts_at)
            moment = min(gone, b.starts_at)
        else:
            moment = b.starts_at
        booked_until = max(booked_until or moment, moment)
    spans = []
    for r in request_store.for_client_since(user.id, first):
        if r.status in sr.OPEN:
            spans.append((r.requested_at, sr.closes_at(r.view())))
        else:
            spans.append((r.requested_at, r.ended_at or r.requested_at))
    if timer is None:
        timer = discharge_store.get(user.id, prog["referral_id"])
    return rules_d.DischargeFacts(first_access=first, program_ends_at=ends, ever_booked=ever,
                                  last_completed_end=last_end, upcoming_booking=upcoming,
                                  booked_until=booked_until, requests=tuple(spans),
                                  notices_sent=discharge_store.notices_sent(timer))


def status(user: UserModel, now: datetime) -> tuple[str, dict | None]:
    """(`status`, `discharge`) as `GET /clients/me` shows them, by the clock. Reads nothing more
    for a client without a referral program."""
    stored = user.status or rules_d.ACTIVE
    if stored not in rules_d.CLIENT_STATUSES:
        return stored, None
    if stored == rules_d.DISCHARGED:
        return stored, dict(user.discharge) if user.discharge else None
    prog = program(user)
    if prog is None:
        return stored, None
    # No deadline can fall before the first `min(first booking, follow-up)` days of a program (a
    # session of the program ends after its first access, and requests only postpone): a client
    # that new is active, with nothing to read.
    n = days()
    if now < parse_iso(prog["first_access"]) + timedelta(days=min(n["first_booking_days"], n["follow_up_days"])):
        return stored, None
    state, discharge = rules_d.client_status(stored, now, facts(user, now), **n)
    if discharge is not None:
        discharge = {"reason": discharge["reason"], "at": iso(discharge["at"])}
    return state, discharge


def is_discharged(user: UserModel, now: datetime) -> bool:
    if user.status != rules_d.DISCHARGED and program(user) is None:
        return False
    return status(user, now)[0] == rules_d.DISCHARGED


def require_not_discharged(user: UserModel | None, now: datetime) -> None:
    """403 `discharged` for booking, requesting, messaging sessions and posting in the room."""
    if user is not None and is_discharged(user, now):
        rules_d.require_not_discharged(rules_d.DISCHARGED)


def require_may_post(client_id: str, now: datetime) -> None:
    require_not_discharged(user_store.get(client_id), now)


def program_end(user: UserModel | None) -> datetime | None:
    prog = program(user)
    return parse_iso(prog["program_ends_at"]) if prog else None


def check_session(user: UserModel, modality: str, starts_at: datetime, now: datetime) -> None:
    """What a live session of a referral client must meet (bookings, reschedules): not discharged
    (403), one of the referral's modalities, starting before the program ends (400)."""
    require_not_discharged(user, now)
    prog = program(user)
    if prog is not None:
        rules_r.check_modality(modality, prog.get("modalities") or ())
        rules_r.check_before_program_end(starts_at, parse_iso(prog["program_ends_at"]))


def may_purchase(plan: dict | None) -> bool:
    """Referral programs have no purchases (price 0): a lacking credit is simply `no_credit`."""
    return (plan or {}).get("kind") != REFERRAL


def touch(client_id: str, plan: dict | None, now: datetime) -> None:
    """The client's bookings or requests changed: the discharges sweep looks at them again on its
    next run (the deadline may have come nearer). Nothing for clients without a program."""
    referral_id = (plan or {}).get("referral_id") if (plan or {}).get("kind") == REFERRAL else None
    if referral_id:
        discharge_store.touch(client_id, referral_id, now)


def on_booking_changed(change, now: datetime, **_) -> None:
    """`booking_changed` handler: a referral booking changed (made, ended, completed...)."""
    b = getattr(change, "result", None)
    if b is None or getattr(b, "plan_kind", None) != REFERRAL or not hasattr(b, "series_id"):
        return  # not a referral booking (a session request's service touches the timer itself)
    if change.action in _FACTS_UNCHANGED:
        return
    try:
        user = user_store.get(b.client_id)
        touch(b.client_id, user.plan if user else None, now)
    except Exception:  # the booking is committed; a missed touch only delays a notice until a later look
        logger.exception("discharge timer not touched", extra={"booking_id": b.id})
