"""The clinical-data access log: appended to, never changed."""
from __future__ import annotations

import secrets
from datetime import datetime

from chalicelib.clock import sortable
from chalicelib.store.models import AccessLogModel


def record(client_id: str, reader_id: str, reader_role: str, resource: str, now: datetime,
           room_id: str | None = None, booking_id: str | None = None) -> None:
    AccessLogModel(client_id, f"{sortable(now)}#{secrets.token_hex(4)}", reader_id=reader_id,
                   reader_role=reader_role, room_id=room_id, booking_id=booking_id, resource=resource).save(
        condition=AccessLogModel.at_id.does_not_exist())


def for_client(client_id: str, limit: int = 50) -> list[AccessLogModel]:
    return list(AccessLogModel.query(client_id, scan_index_forward=False, limit=limit))


def page(client_id: str, limit: int, before: str | None) -> tuple[list[AccessLogModel], bool]:
    """Newest first, `limit` at a time, continuing below the `at_id` `before`. One Query."""
    last_key = {"client_id": {"S": client_id}, "at_id": {"S": before}} if before else None
    items = list(AccessLogModel.query(client_id, scan_index_forward=False, limit=limit + 1,
                                      last_evaluated_key=last_key, page_size=limit + 1))
    return items[:limit], len(items) > limit
