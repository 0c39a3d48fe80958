"""Goals (SPEC §2 Between sessions): either member of a room sets them (title, optional due
date, status `open`/`done`) and either may change them. Titles are sealed with the room's key.
"""
from __future__ import annotations

import json
from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import between_sessions as rules
from chalicelib.domain.wallclock import local_date, zone
from chalicelib.errors import HavenError, NotFound, ValidationError
from chalicelib.identity import Caller
from chalicelib.observability import logger
from chalicelib.services.journal import next_cursor, page_after
from chalicelib.store import room_work as store
from chalicelib.store import users as user_store
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import RoomModel, RoomWorkModel


def client_today(room: RoomModel, now: datetime):
    """The room's client's local date now (dates of goals and homework are theirs)."""
    client = user_store.get(room.client_id)
    return local_date(now, zone((client.timezone if client else None) or "UTC")), client


def seal(room: RoomModel, words: dict, kind: str) -> bytes:
    """A goal's or homework's words, sealed with the room's key for that use (`goal`, `homework`)."""
    return wiring.get("cipher").encrypt(room.id, json.dumps(words, ensure_ascii=False), room.key_blob, purpose=kind)


def unseal(room: RoomModel, item: RoomWorkModel) -> dict:
    if not item.body:
        return {}
    return json.loads(wiring.get("cipher").decrypt(room.id, item.body, room.key_blob, purpose=item.kind))


def render(room: RoomModel, item: RoomWorkModel, words: dict | None = None) -> dict:
    words = words if words is not None else unseal(room, item)
    return {"id": item.id, "room_id": item.room_id, "title": words.get("title"), "due": item.due,
            "status": item.status, "created_by": item.created_by, "created_at": item.created_at,
            "updated_at": item.updated_at, "done_at": item.done_at}


def create(caller: Caller, room_id: str, body: dict, now: datetime) -> dict:
    from chalicelib.services import rooms

    room = rooms.member_room(caller, room_id)
    today, _client = client_today(room, now)
    draft = rules.goal_draft(body.get("title"), body.get("due"), today=today)
    goal = RoomWorkModel(room_id, store.new_id(store.GOAL, now), kind="goal", client_id=room.client_id,
                         created_by=caller.id, created_at=iso(now), status=draft.status,
                         due=draft.due.isoformat() if draft.due else None)
    words = {"title": draft.title}
    goal.body = seal(room, words, "goal")
    goal.save(condition=RoomWorkModel.id.does_not_exist())
    logger.info("goal set", extra={"room_id": room_id, "goal_id": goal.id})
    return render(room, goal, words)


def page(caller: Caller, room_id: str, limit: int, cursor: str | None, *, kind: str = "goal",
         show=None) -> dict:
    """A room's goals (or, for `homework`, its homework with `show`) in the order they were set."""
    from chalicelib.services import rooms

    room = rooms.member_room(caller, room_id)
    scope = f"{kind}:{room_id}"
    after = page_after(scope, cursor, store.GOAL if kind == "goal" else store.HOMEWORK)
    items, more = store.page(room_id, kind, limit, after)
    show = show or render
    return {"items": [show(room, item) for item in items], "next": next_cursor(scope, items, more)}


def change(caller: Caller, room_id: str, goal_id: str, body: dict, now: datetime) -> dict:
    """PATCH: `status` (`open` or `done`; a done goal may be reopened), and/or `title`, `due`."""
    from chalicelib.services import rooms

    room = rooms.member_room(caller, room_id)
    goal = store.get(room_id, goal_id, "goal")
    if goal is None:
        raise NotFound("goal")
    if not body:
        raise ValidationError("Send at least one of `status`, `title`, `due`.", details={"field": "status"})
    words = unseal(room, goal)
    actions = [RoomWorkModel.updated_at.set(iso(now))]
    if "status" in body:
        status = rules.goal_status(body["status"])
        actions.append(RoomWorkModel.status.set(status))
        if status == "done" and goal.status != "done":
            actions.append(RoomWorkModel.done_at.set(iso(now)))
        elif status == "open":
            actions.append(RoomWorkModel.done_at.remove())
    if "due" in body:
        if body["due"] is None:
            actions.append(RoomWorkModel.due.remove())
        else:
            today, _client = client_today(room, now)
            draft = rules.goal_draft(words.get("title") or "goal", body["due"], today=today)
            actions.append(RoomWorkModel.due.set(draft.due.isoformat()))
    if "title" in body:
        words = {**words, "title": rules.goal_draft(body["title"]).title}
        actions.append(RoomWorkModel.body.set(seal(room, words, "goal")))
    try:  # against the state read: two members changing one goal at once do not both win blindly
        goal.update(actions=actions, condition=_unchanged(goal))
    except UpdateError as error:
        if condition_failed(error):
            raise HavenError("The goal changed meanwhile; read it again and retry.", "invalid_state",
                             details={"state": "changed"})
        raise
    logger.info("goal changed", extra={"room_id": room_id, "goal_id": goal_id})
    return render(room, goal, words)


def _unchanged(item: RoomWorkModel):
    if item.updated_at is None:
        return RoomWorkModel.updated_at.does_not_exist()
    return RoomWorkModel.updated_at == item.updated_at
