"""The room as a member sees it (GET /rooms/{id}): counters, banner, reply clock and the next
live session. A read module over rooms and bookings, so neither service imports the other."""
from __future__ import annotations

from datetime import datetime

from chalicelib.identity import Caller
from chalicelib.services import rooms
from chalicelib.services.bookings.queries import next_session
from chalicelib.services.views import room_summary
from chalicelib.store import rooms as room_store


def view(caller: Caller, room_id: str, now: datetime) -> dict:
    room = rooms.member_room(caller, room_id)
    extra = {}
    if caller.is_provider:  # the provider sees who their client is (SPEC §3); nobody else does
        from chalicelib.services.bookings.queries import client_names

        extra["client_name"] = client_names(caller, [room.client_id]).get(room.client_id)
    return {
        **room_summary(room),
        **extra,
        "unread_count": room_store.unread_count(room, caller.role),
        "messaging_session": rooms.banner(room, now),
        "reply_due_at": room.reply_due_at,
        "next_session": next_session(room, now),
    }
