"""A referral client's discharge timer: one due item per client and program in the sparse `due`
index (kind `referral_discharge`), due at the next moment the discharges sweep must look at the
client (a notice, a deadline, or "facts changed: look again"). Its `data.notices` records the
notices sent (notice key → when), written in the transaction that records the notice itself."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.store import ledger
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import LedgerModel, TimerModel, UserModel
from chalicelib.store.unit_of_work import UnitOfWork

KIND = "referral_discharge"


def timer_id(client_id: str, referral_id: str) -> str:
    return f"discharge#{client_id}#{referral_id}"


def get(client_id: str, referral_id: str) -> TimerModel | None:
    try:
        return TimerModel.get(timer_id(client_id, referral_id), consistent_read=True)
    except DoesNotExist:
        return None


def new_timer(client_id: str, referral_id: str, due_at: datetime, now: datetime) -> TimerModel:
    """A program's timer (create-only: its version attribute makes a put conditional)."""
    return TimerModel(timer_id(client_id, referral_id), kind=KIND, ref_id=client_id, created_at=iso(now),
                      data={"referral_id": referral_id, "notices": {}}, due_kind=KIND, due_at=sortable(due_at))


def notices_sent(timer: TimerModel | None) -> dict[str, datetime]:
    return {key: parse_iso(at) for key, at in ((timer.data or {}).get("notices") or {}).items()} if timer else {}


def due(now: datetime, limit: int):
    return TimerModel.due.query(KIND, TimerModel.due_at <= sortable(now), limit=limit)


def touch(client_id: str, referral_id: str, now: datetime) -> bool:
    """Facts changed (a booking or a request of the client): make the timer due now, so the next
    run looks again. Only ever moves it earlier in effect (a run that finds nothing due pushes it
    back); the version moves on, so a run that read the old facts cannot push it back."""
    item = TimerModel(timer_id(client_id, referral_id))
    item.version = 0  # with no version condition, this only makes the update add 1
    try:
        item.update(actions=[TimerModel.due_kind.set(KIND), TimerModel.due_at.set(sortable(now))],
                    condition=TimerModel.id.exists() & TimerModel.settled_at.does_not_exist(),
                    add_version_condition=False)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _locked(timer: TimerModel) -> TimerModel:
    item = TimerModel(timer.id)
    item.version = int(timer.version)
    return item


def stage_reschedule(uow: UnitOfWork, timer: TimerModel, due_at: datetime) -> None:
    uow.update(_locked(timer), [TimerModel.due_kind.set(KIND), TimerModel.due_at.set(sortable(due_at))])


def stage_notice(uow: UnitOfWork, timer: TimerModel, key: str, now: datetime, next_due: datetime) -> None:
    data = dict(timer.data or {})
    data["notices"] = {**(data.get("notices") or {}), key: iso(now)}
    uow.update(_locked(timer), [TimerModel.data.set(data), TimerModel.due_kind.set(KIND),
                                TimerModel.due_at.set(sortable(next_due))])


def stage_settle(uow: UnitOfWork, timer: TimerModel, outcome: str, now: datetime) -> None:
    uow.update(_locked(timer), [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                                TimerModel.settled_at.set(iso(now)), TimerModel.outcome.set(outcome)])


def stage_discharge(uow: UnitOfWork, user: UserModel, reason: str, at: datetime, now: datetime,
                    bucket: str, limit: int) -> None:
    """The client's discharge, persisted: status and `{"reason","at"}`, and the program's remaining
    credits lapse (its counter is set to its limit). The user's version moves on (so a profile
    save that read the old item cannot undo it) but is not a condition: the discharge stands."""
    item = UserModel(user.id)
    item.version = int(user.version or 0)
    uow.update(item, [UserModel.status.set("discharged"),
                      UserModel.discharge.set({"reason": reason, "at": iso(at)}),
                      UserModel.updated_at.set(iso(now))],
               UserModel.id.exists(), add_version_condition=False)
    uow.update(LedgerModel(user.id, ledger.usage_key(bucket)), [LedgerModel.used.set(limit)])
