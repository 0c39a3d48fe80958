"""The journal (SPEC §2 Between sessions): a client's entries, private unless shared.

Entries are sealed with the client's own data key (wiring `user_cipher`) before they reach
DynamoDB. A provider reads only the entries the client shared, through the sparse `shared`
index (private entries are never even read for them), and every such read is written to the
access log before anything is returned. Ops have no route here at all (403 by role).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import between_sessions as rules
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.store import between as store
from chalicelib.store import users as user_store
from chalicelib.store.models import BetweenModel, UserModel


def registered_client(caller: Caller) -> UserModel:
    user = user_store.get(caller.id)
    if user is None or user.role != "client":
        raise NotFound("client profile (register with POST /clients/me first)")
    return user


def page_after(scope: str, cursor: str | None, prefix: str) -> str | None:
    """The id a signed `next` cursor continues after (None without a cursor)."""
    if not cursor:
        return None
    position = wiring.get("cursors").decode(scope, cursor)
    if not store.is_id(prefix, position):
        raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
    return position


def next_cursor(scope: str, items: list, more: bool) -> str | None:
    return wiring.get("cursors").encode(scope, items[-1].id) if more and items else None


PURPOSE = "journal"  # in each entry's encryption context: an entry cannot pass for a mood note


def unseal(client_id: str, entry: BetweenModel) -> str:
    return wiring.get("user_cipher").decrypt(client_id, entry.body, purpose=PURPOSE)


def render(entry: BetweenModel, text: str) -> dict:
    return {"id": entry.id, "text": text, "shared": bool(entry.shared), "created_at": entry.created_at}


def write(caller: Caller, body: dict, now: datetime) -> dict:
    draft = rules.journal_entry_draft(body.get("text"), body.get("shared", False))
    registered_client(caller)
    entry_id = store.new_id(store.JOURNAL, now)
    sealed = wiring.get("user_cipher").encrypt(caller.id, draft.text, purpose=PURPOSE)
    entry = store.put_journal(caller.id, entry_id, iso(now), sealed, draft.shared)
    metrics.add_metric(name="JournalEntryWritten", unit="Count", value=1)
    logger.info("journal entry written", extra={"entry_id": entry_id, "shared": draft.shared})
    return render(entry, draft.text)


def _page(client_id: str, scope: str, limit: int, cursor: str | None, shared_only: bool) -> dict:
    after = page_after(scope, cursor, store.JOURNAL)
    items, more = store.journal_page(client_id, limit, after, shared_only=shared_only)
    return {"items": [render(e, unseal(client_id, e)) for e in items],
            "next": next_cursor(scope, items, more)}


def own_entries(caller: Caller, limit: int, cursor: str | None) -> dict:
    """The client's entries, shared or not, newest first."""
    registered_client(caller)
    return _page(caller.id, f"journal:{caller.id}", limit, cursor, shared_only=False)


def shared_entries(caller: Caller, room_id: str, limit: int, cursor: str | None, now: datetime) -> dict:
    """The room's client's shared entries, for the room's provider; the read is access-logged."""
    from chalicelib.services import rooms
    from chalicelib.store import access_log

    room = rooms.member_room(caller, room_id)
    scope = f"journal-shared:{room_id}:{caller.id}"
    after = page_after(scope, cursor, store.JOURNAL)  # a bad cursor reads nothing
    access_log.record(room.client_id, caller.id, caller.role, "journal", now, room_id=room_id)
    items, more = store.journal_page(room.client_id, limit, after, shared_only=True)
    logger.info("shared journal read", extra={"room_id": room_id, "entries": len(items)})
    return {"items": [render(e, unseal(room.client_id, e)) for e in items],
            "next": next_cursor(scope, items, more)}
