"""The due items of matching and continuity of care, read by the deadlines sweep through the sparse
`due` index (never a Scan):

    match_waiting        `waiting#<client>#<kind>`: a client waiting for a provider of a kind (after
                         intake, a change of mind, or a deactivation); tried again each run,
                         ops told once after 48 h. One per client and kind, kept (settled) after.
    provider_deactivated `deactivated#<provider>`: a deactivated provider whose clients are
                         re-matched, found through the rooms' `by_provider` index.
    handover_followup    `handover#<room>#<n>`: what follows the n-th handover of a room (the old
                         provider's future sessions cancelled, `provider_changed` published);
                         done by the request itself, by the sweep if the request died first.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.clock import iso, sortable
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import TimerModel
from chalicelib.store.unit_of_work import UnitOfWork

WAITING = "match_waiting"
DEACTIVATED = "provider_deactivated"
FOLLOWUP = "handover_followup"


def waiting_id(client_id: str, kind: str) -> str:
    return f"waiting#{client_id}#{kind}"


def deactivated_id(provider_id: str) -> str:
    return f"deactivated#{provider_id}"


def followup_id(room_id: str, n: int) -> str:
    return f"handover#{room_id}#{n}"


def is_due(timer: TimerModel | None) -> bool:
    return timer is not None and timer.due_kind is not None


def stage_waiting(uow: UnitOfWork, client_id: str, kind: str, data: dict, due_at: datetime, now: datetime,
                  *, expect_due_at: str | None = None) -> None:
    """(Re)open the client's waiting item for `kind` (an upsert: one item per client and kind).
    `expect_due_at`: only if it is still due at that time (a sweep run moving it on)."""
    timer_id = waiting_id(client_id, kind)
    condition = (TimerModel.due_at == expect_due_at) if expect_due_at else None
    uow.update(TimerModel(timer_id), [
        TimerModel.kind.set(WAITING), TimerModel.ref_id.set(client_id), TimerModel.data.set(data),
        TimerModel.created_at.set(TimerModel.created_at | iso(now)), TimerModel.stage.set(0),
        TimerModel.due_kind.set(WAITING), TimerModel.due_at.set(sortable(due_at)),
        TimerModel.settled_at.remove(), TimerModel.outcome.remove(),
    ], condition, add_version_condition=False)


def stage_settle(uow: UnitOfWork, timer: TimerModel, outcome: str, now: datetime, *,
                 expect_due_at: str | None = None) -> None:
    """Take a due item out of the index with what settling it did (`expect_due_at`: only if it is
    still due at that time, so two runs never both act on it)."""
    condition = (TimerModel.due_at == expect_due_at) if expect_due_at else TimerModel.id.exists()
    uow.update(TimerModel(timer.id), [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                                      TimerModel.settled_at.set(iso(now)), TimerModel.outcome.set(outcome)],
               condition, add_version_condition=False)


def stage_deactivated(uow: UnitOfWork, provider_id: str, now: datetime) -> None:
    uow.create(TimerModel(deactivated_id(provider_id), kind=DEACTIVATED, ref_id=provider_id, created_at=iso(now),
                          data={"provider_id": provider_id}, due_kind=DEACTIVATED, due_at=sortable(now)),
               condition=TimerModel.id.does_not_exist())


def stage_followup(uow: UnitOfWork, room_id: str, n: int, data: dict, due_at: datetime, now: datetime) -> str:
    timer_id = followup_id(room_id, n)
    uow.create(TimerModel(timer_id, kind=FOLLOWUP, ref_id=room_id, created_at=iso(now), data=data,
                          due_kind=FOLLOWUP, due_at=sortable(due_at)),
               condition=TimerModel.id.does_not_exist())
    return timer_id


def settle(timer_id: str, outcome: str, now: datetime, *, expect_due_at: str | None = None) -> bool:
    """Settle one due item on its own (False: it was settled already, or moved on)."""
    condition = (TimerModel.due_at == expect_due_at) if expect_due_at else TimerModel.due_at.exists()
    try:
        TimerModel(timer_id).update(actions=[TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                                             TimerModel.settled_at.set(iso(now)), TimerModel.outcome.set(outcome)],
                                    condition=condition, add_version_condition=False)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def move_on(timer: TimerModel, due_at: datetime, data: dict | None = None) -> bool:
    """Push a due item to a later time (and replace its data), only if no other run moved it first."""
    actions = [TimerModel.due_at.set(sortable(due_at))]
    if data is not None:
        actions.append(TimerModel.data.set(data))
    try:
        TimerModel(timer.id).update(actions=actions, condition=TimerModel.due_at == timer.due_at,
                                    add_version_condition=False)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def due(kind: str, now: datetime, limit: int):
    return TimerModel.due.query(kind, TimerModel.due_at <= sortable(now), limit=limit)


def get(timer_id: str) -> TimerModel | None:
    try:
        return TimerModel.get(timer_id, consistent_read=True)
    except TimerModel.DoesNotExist:
        return None
