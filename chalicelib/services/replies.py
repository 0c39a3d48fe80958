"""The reply promise (SPEC §2): a client message that arrives while no reply is owed opens a
deadline one working day (of the provider's working hours) later; any provider message settles
it; the deadlines sweep tells the provider once when it passes and ops once a working day later.

A deadline is a timer item in the sparse `due` index plus `reply_due_at` on the room, written
together in one transaction so a room never owes two replies.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import budget, wiring
from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.domain import credits as credit_policy
from chalicelib.domain.working_time import WorkingCalendar, add_working_time, is_working
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.store import users as user_store
from chalicelib.store.unit_of_work import Refused, UnitOfWork
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import MessageModel, RoomModel, TimerModel, UserModel

KIND = "reply_deadline"


def calendar_for(provider: UserModel | None) -> WorkingCalendar:
    s = wiring.settings()
    hours = (provider.working_hours if provider else None) or [
        {"weekday": d, "start": a, "end": b} for d, a, b in s.default_working_hours]
    return WorkingCalendar((provider.timezone if provider else None) or s.default_provider_timezone, hours,
                           provider.country if provider else None)


def session_active(room: RoomModel, now: datetime) -> bool:
    return bool(room.session_ends) and room.session_ends > sortable(now)


def on_member_message(room: RoomModel, caller: Caller, message: MessageModel, now: datetime,
                      other=None) -> None:
    """`other()` gives the other member's profile (for a client's message: the provider)."""
    if caller.is_provider:
        settle(room, now)
        return
    if not room.provider_id:  # the client waits for a new provider: nobody owes a reply yet
        return
    applies = credit_policy.reply_promise_applies(room.plan_kind, room.provider_kind == "psychiatrist",
                                                  session_active(room, now))
    if not applies or room.reply_timer_id:
        return
    provider = other() if other is not None else user_store.get(room.provider_id)
    calendar = calendar_for(provider)
    due = add_working_time(calendar, now, wiring.settings().reply_working_day_hours)
    timer_id = f"reply#{room.id}#{int(message.seq)}"
    # Outside working hours the client is told, once per deadline, when to expect a reply: the
    # notice is recorded with the deadline and posted after it, so it is never lost.
    uow = UnitOfWork()
    uow.create(TimerModel(timer_id, kind=KIND, ref_id=room.id, created_at=iso(now), stage=0,
                          data={"provider_id": room.provider_id, "due_at": iso(due)}, due_kind=KIND,
                          due_at=sortable(due)))
    uow.update(RoomModel(room.id), [RoomModel.reply_due_at.set(iso(due)), RoomModel.reply_timer_id.set(timer_id)],
               RoomModel.reply_timer_id.does_not_exist())
    if not is_working(calendar, now):
        uow.record(outbox.room_message(f"{timer_id}:out_of_hours", room.id, _out_of_hours_text(room, due), now,
                                       to="client"))
    try:
        uow.commit()
    except Refused:
        return  # a concurrent client message opened it first
    room.reply_due_at, room.reply_timer_id = iso(due), timer_id
    metrics.add_metric(name="ReplyDeadlineOpened", unit="Count", value=1)
    outbox.deliver_all(uow.records, now)


def _out_of_hours_text(room: RoomModel, due: datetime) -> str:
    from zoneinfo import ZoneInfo

    from chalicelib.domain import crisis

    client = user_store.get(room.client_id)
    zone = ZoneInfo(client.timezone) if client and client.timezone else ZoneInfo("UTC")
    local = due.astimezone(zone)
    help_line = crisis.summary_line(client.region if client else None)
    return (f"Thanks for your message. Your provider is outside their working hours right now; "
            f"you can expect a reply by {local:%A %d %B, %H:%M} ({zone.key}). "
            f"Haven is not a crisis service: if you need help now, {help_line}")


def settle(room: RoomModel, now: datetime) -> bool:
    """A provider message settles the open deadline, if any."""
    timer_id = room.reply_timer_id
    if not timer_id:
        return False
    uow = UnitOfWork()
    uow.update(TimerModel(timer_id), [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                                      TimerModel.settled_at.set(iso(now))],
               TimerModel.id.exists(), add_version_condition=False)
    uow.update(RoomModel(room.id), [RoomModel.reply_due_at.remove(), RoomModel.reply_timer_id.remove()],
               RoomModel.reply_timer_id == timer_id)
    try:
        uow.commit()
    except Refused:
        return False
    room.reply_due_at = room.reply_timer_id = None
    return True


def sweep_overdue(now: datetime) -> int:
    """Tell the provider once when a reply is overdue; ops once a further working day later."""
    s = wiring.settings()
    acted = 0
    for timer in TimerModel.due.query(KIND, TimerModel.due_at <= sortable(now), page_size=s.sweep_batch):
        if budget.exhausted():
            break
        room_id = timer.ref_id
        data = dict(timer.data or {})
        provider = user_store.get(data.get("provider_id", ""))
        stage = int(timer.stage or 0)
        if stage == 0:
            if provider is not None:
                outbox.send(f"reply_overdue#{timer.id}#provider", "reply_overdue_provider",
                            outbox.user_address(provider.id),
                            {"room_id": room_id, "due_at": data.get("due_at")}, now)
            escalate_at = add_working_time(calendar_for(provider), parse_iso(data["due_at"]),
                                           s.reply_working_day_hours)
            actions = [TimerModel.stage.set(1), TimerModel.due_at.set(sortable(escalate_at))]
        else:
            outbox.send(f"reply_overdue#{timer.id}#ops", "reply_overdue_ops", s.ops_email,
                        {"room_id": room_id, "due_at": data.get("due_at"), "provider_id": data.get("provider_id")},
                        now)
            actions = [TimerModel.stage.set(2), TimerModel.due_kind.remove(), TimerModel.due_at.remove()]
        try:  # the version condition makes a concurrent or repeated run a no-op
            timer.update(actions=actions, condition=TimerModel.due_kind.exists())
        except UpdateError as error:
            if not condition_failed(error):
                raise
            continue
        acted += 1
        logger.info("reply overdue", extra={"room_id": room_id, "timer_id": timer.id, "stage": stage})
    return acted
