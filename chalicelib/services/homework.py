"""Homework (SPEC §2 Between sessions): the provider assigns it (title, instructions, a due date
in the client's calendar), the client marks it done, and one reminder goes out at 09:00 client
time the day before it is due: an email and a room message, exactly once.

The reminder is a due item (timer) written with the homework in one transaction, at the UTC
instant `domain.between_sessions.homework_reminder_at` gives for the client's zone (DST-correct:
the offset of that very morning). The `reminders` sweep reads only due items; it takes one
(conditional on its version, so overlapping or replayed runs act once) and records the email
and the room message in the same transaction, then delivers them (outbox: at least once, never
again once sent). If the client's zone changed meanwhile, the moment follows the new zone.
Neither the email nor the room message carries the homework's words.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import wiring
from chalicelib.clock import iso, sortable
from chalicelib.domain import between_sessions as rules
from chalicelib.domain.wallclock import local_date, wall_to_utc, zone
from chalicelib.errors import NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import goals, outbox
from chalicelib.store import room_work as store
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import RoomModel, RoomWorkModel, TimerModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork

REMINDER_KIND = "homework_reminder"


def render(room: RoomModel, item: RoomWorkModel, words: dict | None = None) -> dict:
    words = words if words is not None else goals.unseal(room, item)
    return {"id": item.id, "room_id": item.room_id, "title": words.get("title"),
            "instructions": words.get("instructions"), "due": item.due, "status": item.status,
            "assigned_by": item.created_by, "created_at": item.created_at, "done_at": item.done_at,
            "reminder_at": item.reminder_at}


def timer_id(room_id: str, homework_id: str) -> str:
    return f"homework#{room_id}#{homework_id}"


def assign(caller: Caller, room_id: str, body: dict, now: datetime) -> dict:
    from chalicelib.services import rooms

    room = rooms.member_room(caller, room_id)
    today, client = goals.client_today(room, now)
    draft = rules.homework_draft(body.get("title"), body.get("instructions"), body.get("due"), today=today)
    tz = (client.timezone if client else None) or "UTC"
    remind_at = rules.homework_reminder_at(draft.due, tz)
    homework = RoomWorkModel(room_id, store.new_id(store.HOMEWORK, now), kind="homework", client_id=room.client_id,
                             created_by=caller.id, created_at=iso(now), status="open", due=draft.due.isoformat())
    words = {"title": draft.title, "instructions": draft.instructions}
    homework.body = goals.seal(room, words, "homework")
    uow = UnitOfWork()
    if remind_at >= now:  # due today (or tomorrow after 09:00): its reminder moment has passed
        homework.reminder_at = iso(remind_at)
        uow.put(TimerModel(timer_id(room_id, homework.id), kind=REMINDER_KIND, ref_id=homework.id,
                           created_at=iso(now), data={"room_id": room_id, "homework_id": homework.id,
                                                      "client_id": room.client_id, "due": homework.due},
                           due_kind=REMINDER_KIND, due_at=sortable(remind_at)))
    uow.create(homework)
    uow.commit()
    logger.info("homework assigned", extra={"room_id": room_id, "homework_id": homework.id,
                                            "reminder": homework.reminder_at is not None})
    return render(room, homework, words)


def page(caller: Caller, room_id: str, limit: int, cursor: str | None) -> dict:
    return goals.page(caller, room_id, limit, cursor, kind="homework", show=render)


def mark_done(caller: Caller, room_id: str, homework_id: str, now: datetime) -> dict:
    """The client marks it done (again: unchanged, 200). A reminder not yet sent is then skipped."""
    from chalicelib.services import rooms

    room = rooms.member_room(caller, room_id)
    homework = store.get(room_id, homework_id, "homework")
    if homework is None:
        raise NotFound("homework")
    if homework.status != "done":
        try:
            homework.update(actions=[RoomWorkModel.status.set("done"), RoomWorkModel.done_at.set(iso(now)),
                                     RoomWorkModel.updated_at.set(iso(now))],
                            condition=RoomWorkModel.status == "open")
        except UpdateError as error:
            if not condition_failed(error):
                raise
            homework = store.get(room_id, homework_id, "homework")
        logger.info("homework done", extra={"room_id": room_id, "homework_id": homework_id})
    return render(room, homework)


# --- the reminder (reminders sweep) ---------------------------------------------------------------

def _settle(uow: UnitOfWork, timer: TimerModel, now: datetime, outcome: str) -> None:
    uow.update(timer, [TimerModel.due_kind.remove(), TimerModel.due_at.remove(), TimerModel.settled_at.set(iso(now)),
                       TimerModel.stage.set(1), TimerModel.outcome.set(outcome)],
               TimerModel.due_at.exists())


def _when(due: str, tz: str) -> str:
    return f"{rules.parse_local_date(due, 'due'):%A %d %B %Y}"


def reminder_text(due: str, tz: str) -> str:
    return (f"Reminder: you have homework due tomorrow, {_when(due, tz)}. You can find it in this room's "
            "homework list, and mark it done there when you have finished it.")


def remind_due(now: datetime) -> dict:
    """Send each homework reminder whose moment has come, once; skip those done or gone."""
    s = wiring.settings()
    sent = skipped = 0
    for timer in list(TimerModel.due.query(REMINDER_KIND, TimerModel.due_at <= sortable(now), limit=s.sweep_batch)):
        data = dict(timer.data or {})
        room = room_store.get(data.get("room_id", ""))
        homework = store.get(data.get("room_id", ""), data.get("homework_id", ""), "homework")
        client = user_store.get(data.get("client_id", ""))
        uow = UnitOfWork()
        if homework is None or homework.status == "done" or room is None or client is None \
                or room.client_id != client.id:
            outcome = "skipped"
        else:
            tz = client.timezone or "UTC"
            moment = rules.homework_reminder_at(homework.due, tz)
            if moment > now:  # the client moved to a zone where 09:00 the day before is still ahead
                _move(timer, moment)
                continue
            if local_date(now, zone(tz)) >= rules.parse_local_date(homework.due, "due"):
                outcome = "skipped"  # the runs missed the whole day before: too late to remind
            else:
                outcome = "sent"
                key = f"homework:{homework.id}:reminder"
                # to the profile's address when it is sent; pointless once the due day has begun
                due_day = wall_to_utc(rules.parse_local_date(homework.due, "due"), 0, zone(tz))
                uow.record(outbox.record(f"{key}:client", "homework_reminder", outbox.user_address(client.id),
                                         {"due": _when(homework.due, tz), "room_id": room.id}, now,
                                         moot_at=due_day))
                uow.record(outbox.room_message(f"{key}:room", room.id, reminder_text(homework.due, tz), now,
                                               to="client"))
        _settle(uow, timer, now, outcome)
        try:
            uow.commit()
        except Refused:
            continue  # another run took it
        outbox.deliver_all(uow.records, now)
        if outcome == "sent":
            sent += 1
            metrics.add_metric(name="HomeworkReminderSent", unit="Count", value=1)
        else:
            skipped += 1
        logger.info("homework reminder", extra={"timer_id": timer.id, "outcome": outcome})
    return {"homework_reminders_sent": sent, "homework_reminders_skipped": skipped}


def _move(timer: TimerModel, moment: datetime) -> None:
    try:
        timer.update(actions=[TimerModel.due_at.set(sortable(moment))], condition=TimerModel.due_at.exists())
    except UpdateError as error:
        if not condition_failed(error):
            raise
