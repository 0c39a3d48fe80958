"""`GET /clients/me/access-log`: who read the client's clinical data, newest first.

Records hold ids only; the readers' names are looked up when the page is listed (one
BatchGetItem per page), so the log table carries no names and a page shows each reader's name
as it is now.
"""
from __future__ import annotations

from chalicelib import wiring
from chalicelib.clock import iso, parse_iso
from chalicelib.errors import HavenError
from chalicelib.identity import Caller
from chalicelib.store import access_log
from chalicelib.store.base import batch_get
from chalicelib.store.models import AccessLogModel, UserModel


def _entry(item: AccessLogModel, names: dict) -> dict:
    reader = names.get(item.reader_id)
    out = {"at": iso(parse_iso(item.at_id.split("#", 1)[0])), "reader_id": item.reader_id,
           "reader_role": item.reader_role, "reader_name": reader.name if reader is not None else None,
           "what": item.resource}
    if item.room_id:
        out["room_id"] = item.room_id
    if item.booking_id:
        out["booking_id"] = item.booking_id
    return out


def list_for_client(caller: Caller, limit: int, cursor: str | None) -> dict:
    cursors = wiring.get("cursors")
    scope = f"access-log:{caller.id}"
    before = cursors.decode(scope, cursor) if cursor else None
    if before is not None and not isinstance(before, str):
        raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
    items, more = access_log.page(caller.id, limit, before)
    readers = sorted({item.reader_id for item in items})
    names = batch_get({UserModel: readers})[UserModel] if readers else {}
    return {"items": [_entry(item, names) for item in items],
            "next": cursors.encode(scope, items[-1].at_id) if more and items else None}
