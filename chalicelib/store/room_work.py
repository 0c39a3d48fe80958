"""Goals and homework of a room (the `room_work` table): keys, reads, pages.

Ids sort in creation order (`gl_` / `hw_` + epoch ms + random), so a room's goals or homework
are one Query on a key prefix. Words arrive here already encrypted (`body`).
"""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.store.between import is_id, new_id  # noqa: F401 (the same id scheme)
from chalicelib.store.models import RoomWorkModel

GOAL = "gl_"
HOMEWORK = "hw_"


def get(room_id: str, item_id: str, kind: str) -> RoomWorkModel | None:
    prefix = GOAL if kind == "goal" else HOMEWORK
    if not is_id(prefix, item_id):
        return None
    try:
        item = RoomWorkModel.get(room_id, item_id, consistent_read=True)
    except DoesNotExist:
        return None
    return item if item.kind == kind else None


def page(room_id: str, kind: str, limit: int, after_id: str | None):
    """In the order they were set, `limit` at a time after `after_id`; (items, more)."""
    prefix = GOAL if kind == "goal" else HOMEWORK
    last_key = {"room_id": {"S": room_id}, "id": {"S": after_id}} if after_id else None
    items = list(RoomWorkModel.query(room_id, RoomWorkModel.id.startswith(prefix), limit=limit + 1,
                                     last_evaluated_key=last_key, page_size=limit + 1))
    return items[:limit], len(items) > limit


def all_for_room(room_id: str, kind: str):
    prefix = GOAL if kind == "goal" else HOMEWORK
    return RoomWorkModel.query(room_id, RoomWorkModel.id.startswith(prefix), page_size=200)
