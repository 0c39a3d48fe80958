"""The reply promise (SPEC §2): a client message that arrives while no reply is owed opens a
deadline one working day (of the provider's working hours) later; any provider message settles
it; the deadlines sweep tells the provider once when it passes and ops once a working day later.

A deadline is a timer item in the sparse `due` index plus `reply_due_at` on the room, written in
the posting message's own transaction (`services.rooms.post_member`), so a room never owes two
replies and a message never exists without the deadline it opened or settled.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import budget, wiring
from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.domain import credits as credit_policy
from chalicelib.domain.working_time import WorkingCalendar, add_working_time, is_working
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.store import users as user_store
from chalicelib.store.models import RoomModel, TimerModel, UserModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork

KIND = "reply_deadline"


def calendar_for(provider: UserModel | None) -> WorkingCalendar:
    s = wiring.settings()
    hours = (provider.working_hours if provider else None) or [
        {"weekday": d, "start": a, "end": b} for d, a, b in s.default_working_hours]
    return WorkingCalendar((provider.timezone if provider else None) or s.default_provider_timezone, hours,
                           provider.country if provider else None)


def session_active(room: RoomModel, now: datetime) -> bool:
    return bool(room.session_ends) and room.session_ends > sortable(now)


def on_message_staged(post) -> None:
    """A `message_staged` handler (`services.rooms.Post`): a provider message settles the open
    deadline; a client message that arrives while no reply is owed opens one. Staged in the
    message's own transaction, from the room as read (the room update is conditioned on it)."""
    room, now = post.room, post.now
    if post.caller.is_provider:
        if room.reply_timer_id:
            stage_settle(post.uow, post.room_actions, room.reply_timer_id, now)
        return
    if not room.provider_id:  # the client waits for a new provider: nobody owes a reply yet
        return
    applies = credit_policy.reply_promise_applies(room.plan_kind, room.provider_kind == "psychiatrist",
                                                  session_active(room, now))
    if not applies or room.reply_timer_id:
        return
    profiles = post.profiles()
    calendar = calendar_for(profiles.get(room.provider_id))
    hours = wiring.settings().reply_working_day_hours
    due = add_working_time(calendar, now, hours)
    # ops are told a further working day later: computed now, so the sweep reads nothing but the item
    escalate_at = add_working_time(calendar, due, hours)
    timer_id = f"reply#{room.id}#{int(post.seq)}"
    # Outside working hours the client is told, once per deadline, when to expect a reply: the
    # notice is recorded with the deadline and posted after it, so it is never lost.
    post.uow.create(TimerModel(timer_id, kind=KIND, ref_id=room.id, created_at=iso(now), stage=0,
                               data={"provider_id": room.provider_id, "due_at": iso(due),
                                     "escalate_at": iso(escalate_at)}, due_kind=KIND,
                               due_at=sortable(due)))
    post.room_actions += [RoomModel.reply_due_at.set(iso(due)), RoomModel.reply_timer_id.set(timer_id)]
    if not is_working(calendar, now):
        post.uow.record(outbox.room_message(f"{timer_id}:out_of_hours", room.id,
                                            _out_of_hours_text(room, due, profiles.get(room.client_id)), now,
                                            to="client"))
    metrics.add_metric(name="ReplyDeadlineOpened", unit="Count", value=1)


def _out_of_hours_text(room: RoomModel, due: datetime, client: UserModel | None = None) -> str:
    from zoneinfo import ZoneInfo

    from chalicelib.domain import crisis

    client = client or user_store.get(room.client_id)
    zone = ZoneInfo(client.timezone) if client and client.timezone else ZoneInfo("UTC")
    local = due.astimezone(zone)
    help_line = crisis.summary_line(client.region if client else None)
    return (f"Thanks for your message. Your provider is outside their working hours right now; "
            f"you can expect a reply by {local:%A %d %B, %H:%M} ({zone.key}). "
            f"Haven is not a crisis service: if you need help now, {help_line}")


def stage_settle(uow, room_actions: list, timer_id: str, now: datetime) -> None:
    """A provider message settles the open deadline: the timer leaves the due index, the room
    forgets it (its update is the message's, `room_actions`)."""
    uow.update(TimerModel(timer_id), [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                                      TimerModel.settled_at.set(iso(now))],
               TimerModel.id.exists(), add_version_condition=False)
    room_actions += [RoomModel.reply_due_at.remove(), RoomModel.reply_timer_id.remove()]


def sweep_overdue(now: datetime) -> int:
    """Tell the provider once when a reply is overdue; ops once a further working day later.
    Each due item carries what its step needs (the provider's id, the due and escalation times),
    so the sweep reads only the due items; each step is ONE transaction: the item moved on
    (conditioned on the version read, so a concurrent or repeated run is a no-op) with the email's
    outbox record, delivered after it."""
    s = wiring.settings()
    acted = 0
    for timer in TimerModel.due.query(KIND, TimerModel.due_at <= sortable(now), page_size=s.sweep_batch):
        if budget.exhausted():
            break
        room_id = timer.ref_id
        data = dict(timer.data or {})
        stage = int(timer.stage or 0)
        provider_id = data.get("provider_id") or ""
        if stage == 0:
            notice = outbox.record(f"reply_overdue#{timer.id}#provider", "reply_overdue_provider",
                                   outbox.user_address(provider_id), {"room_id": room_id, "due_at": data.get("due_at")},
                                   now) if provider_id else None
            if data.get("escalate_at"):
                escalate_at = parse_iso(data["escalate_at"])
            else:  # an item opened before the escalation time was carried on it
                escalate_at = add_working_time(calendar_for(user_store.get(provider_id)), parse_iso(data["due_at"]),
                                               s.reply_working_day_hours)
            actions = [TimerModel.stage.set(1), TimerModel.due_at.set(sortable(escalate_at))]
        else:
            notice = outbox.record(f"reply_overdue#{timer.id}#ops", "reply_overdue_ops", s.ops_email,
                                   {"room_id": room_id, "due_at": data.get("due_at"), "provider_id": provider_id},
                                   now) if s.ops_email else None
            actions = [TimerModel.stage.set(2), TimerModel.due_kind.remove(), TimerModel.due_at.remove()]
        uow = UnitOfWork()
        uow.update(timer, list(actions), TimerModel.due_kind.exists())  # and the version read
        if notice is not None:
            uow.record(notice)
        try:
            uow.commit()
            outbox.deliver_all(uow.records, now)
        except Refused:  # another run moved it on, or the email was recorded before (an older run died)
            if notice is None or not _move_on_alone(timer, actions):
                continue
        acted += 1
        logger.info("reply overdue", extra={"room_id": room_id, "timer_id": timer.id, "stage": stage})
    return acted


def _move_on_alone(timer: TimerModel, actions: list) -> bool:
    """The step's email exists already (recorded by a run that died before moving the item on):
    move the item on by itself, under the version read (False: another run did)."""
    from pynamodb.exceptions import UpdateError

    from chalicelib.store.errors import condition_failed

    try:
        timer.update(actions=list(actions), condition=TimerModel.due_kind.exists())
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
