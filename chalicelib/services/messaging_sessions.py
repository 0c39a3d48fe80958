"""Messaging sessions (SPEC §2): insurance and eap clients start one in a room; it lasts 7 days,
spends one messaging credit, shows a banner, cannot be cancelled, one at a time.

Starting is one transaction: the credit spend (conditional on the plan's limit), the room's
banner (conditional on no active session) and the end timer, so concurrent starts never spend
two credits or open two sessions.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib import budget, wiring
from chalicelib.clock import iso, sortable
from chalicelib.domain import credits as credit_policy
from chalicelib.errors import HavenError
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services.rooms import banner, member_room
from chalicelib.store import ledger
from chalicelib.store import users as user_store
from chalicelib.store.unit_of_work import Refused, UnitOfWork
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import LedgerModel, RoomModel, TimerModel

END_KIND = "messaging_session_end"


def start(caller: Caller, room_id: str, now: datetime) -> dict:
    room = member_room(caller, room_id)
    if room.provider_kind == "psychiatrist":
        raise HavenError("Psychiatry is live video only; messaging sessions are not available in this room.",
                         "psychiatry_video_only")
    client = user_store.get(caller.id)
    from chalicelib.services.pathways import programs

    programs.require_not_discharged(client, now)
    plan = client.plan if client else None
    if not plan:
        raise HavenError("You need a plan before you can start a messaging session.", "no_plan")
    if credit_policy.messaging_limit(plan) is None:
        raise HavenError("Your plan includes unlimited messaging: you don't need to start a session.",
                         "not_needed")
    if banner(room, now) is not None:
        raise HavenError("A messaging session is already active in this room.", "already_active")
    bucket = credit_policy.messaging_bucket(plan)
    limit = credit_policy.messaging_limit(plan)
    if not limit:
        raise HavenError("Your plan has no messaging sessions left.", "no_credit")
    s = wiring.settings()
    session_id = "ms_" + secrets.token_hex(10)
    ends = now + timedelta(days=s.messaging_session_days)
    session = {"id": session_id, "started_at": iso(now), "ends_at": iso(ends)}
    item, actions, condition = ledger.spend_action(caller.id, bucket, limit)
    uow = UnitOfWork()
    uow.update(item, actions, condition)
    uow.put(LedgerModel(caller.id, f"msession#{session_id}", ref_id=room_id, created_at=iso(now),
                        reason=f"messaging session until {iso(ends)}"))
    uow.update(RoomModel(room_id), [RoomModel.messaging_session.set(session), RoomModel.session_ends.set(sortable(ends))],
               RoomModel.session_ends.does_not_exist() | (RoomModel.session_ends <= sortable(now)))
    uow.put(TimerModel(f"msend#{session_id}", kind=END_KIND, ref_id=room_id, created_at=iso(now),
                       data={"session_id": session_id}, due_kind=END_KIND, due_at=sortable(ends)))
    try:
        uow.commit()
    except Refused:
        # Which condition refused? Read again rather than trusting the order of cancellation reasons.
        fresh = RoomModel.get(room_id, consistent_read=True)
        if banner(fresh, now) is not None:
            raise HavenError("A messaging session is already active in this room.", "already_active")
        raise HavenError("Your plan has no messaging sessions left.", "no_credit")
    metrics.add_metric(name="MessagingSessionStarted", unit="Count", value=1)
    logger.info("messaging session started", extra={"room_id": room_id, "session_id": session_id})
    return session


def refuse_cancel() -> None:
    raise HavenError("Messaging sessions can't be cancelled or turned into live sessions; "
                     "this one ends by itself after 7 days.", "cannot_cancel")


def sweep_ended(now: datetime) -> int:
    """Take down banners of sessions that have ended (the ledger record stays for counting)."""
    acted = 0
    for timer in TimerModel.due.query(END_KIND, TimerModel.due_at <= sortable(now),
                                      page_size=wiring.settings().sweep_batch):
        if budget.exhausted():
            break
        session_id = (timer.data or {}).get("session_id")
        try:
            RoomModel(timer.ref_id).update(
                actions=[RoomModel.messaging_session.remove(), RoomModel.session_ends.remove()],
                condition=RoomModel.session_ends <= sortable(now))
        except UpdateError as error:
            if not condition_failed(error):
                raise
        try:
            timer.update(actions=[TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                                  TimerModel.settled_at.set(iso(now))], condition=TimerModel.due_kind.exists())
        except UpdateError as error:
            if not condition_failed(error):
                raise
            continue
        acted += 1
        logger.info("messaging session ended", extra={"room_id": timer.ref_id, "session_id": session_id})
    return acted
