"""Rooms: membership, text messages (encrypted at rest), keyset pages, read markers.

Visibility (SPEC §1): a room the caller is not a member of is 404, never 403.
"""
from __future__ import annotations

from datetime import datetime
from functools import cache

from chalicelib import wiring
from chalicelib.adapters.media import final_key
from chalicelib.clock import iso, parse_iso
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services.views import room_summary
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.models import MessageModel, RoomModel


def member_room(caller: Caller, room_id: str) -> RoomModel:
    room = room_store.get(room_id)
    if room is None or caller.id not in (room.client_id, room.provider_id):
        raise NotFound("room")
    return room


def list_rooms(caller: Caller, limit: int, cursor: str | None) -> dict:
    cursors = wiring.get("cursors")
    scope = f"rooms:{caller.id}"
    after = cursors.decode(scope, cursor) if cursor else None
    if after is not None and not isinstance(after, str):
        raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
    rooms, more = room_store.page_for_member(caller.role, caller.id, limit, after)
    names = {}
    if caller.is_provider and rooms:  # the provider sees who their clients are; nobody else does
        names = {i: u.name for i, u in user_store.get_many([r.client_id for r in rooms]).items()}
    return {"items": [{**room_summary(room), **({"client_name": names.get(room.client_id)} if caller.is_provider
                                                 else {})} for room in rooms],
            "next": cursors.encode(scope, rooms[-1].id) if more and rooms else None}


def banner(room: RoomModel, now: datetime) -> dict | None:
    session = room.messaging_session
    if not session or parse_iso(session["ends_at"]) <= now:  # states follow the clock (SPEC §2)
        return None
    return {"id": session["id"], "started_at": session["started_at"], "ends_at": session["ends_at"]}


def render(room_id: str, message: MessageModel, *, media_url: str | None = None,
           key_blob: bytes | None = None) -> dict:
    out = {"id": message.id, "room_id": room_id, "kind": message.kind, "sender_id": message.sender_id,
           "created_at": message.created_at}
    if message.kind in ("text", "system") and message.body is not None:
        out["text"] = wiring.get("cipher").decrypt(room_id, message.body, key_blob)
    if message.kind in ("audio", "video"):
        out["media_id"] = message.media_id
        out["media_url"] = media_url
    if message.talkcast:  # an audio message Haven synthesized from the provider's script (its body)
        words = talkcast_words(room_id, message, key_blob)
        out.update(talkcast=True, title=words.get("title"), voice=words.get("voice"))
    return out


def talkcast_words(room_id: str, message: MessageModel, key_blob: bytes | None = None) -> dict:
    """A talkcast's sealed words, `{"title", "script", "voice"}` (services/talkcasts.py writes them)."""
    import json

    if message.body is None:
        return {}
    return json.loads(wiring.get("cipher").decrypt(room_id, message.body, key_blob, purpose="talkcast"))


def count_message(caller: Caller, room_id: str, now: datetime) -> RoomModel | None:
    """Number a member's message. A client in a referral program's room may have been discharged
    (decided by the clock): those rooms fail the first, cheap update and are looked at closer
    (403 `discharged`); everybody else posts with no extra read. The provider may always post."""
    if not caller.is_client:
        return room_store.append_message_counter(room_id, caller.role, caller.id, iso(now))
    room = room_store.append_message_counter(room_id, caller.role, caller.id, iso(now), unless_plan_kind="referral")
    if room is None:
        from chalicelib.services.pathways import programs

        programs.require_may_post(caller.id, now)
        room = room_store.append_message_counter(room_id, caller.role, caller.id, iso(now))
    return room


def post_text(caller: Caller, room_id: str, text: str, now: datetime) -> dict:
    room = count_message(caller, room_id, now)
    if room is None:
        raise NotFound("room")
    body = wiring.get("cipher").encrypt(room_id, text, room.key_blob)
    message = room_store.put_message(room, kind="text", sender_id=caller.id, sender_role=caller.role,
                                     created_at=iso(now), body=body)
    metrics.add_metric(name="MessagePosted", unit="Count", value=1)
    logger.info("message posted", extra={"room_id": room_id, "message_id": message.id, "kind": "text"})
    after_member_message(room, caller, message, now)
    return {"id": message.id, "room_id": room_id, "kind": "text", "sender_id": caller.id,
            "created_at": message.created_at, "text": text}


def post_system(room_id: str, text: str, now: datetime, *, to: str | None = None) -> MessageModel:
    """A message written by Haven itself (kind `system`, no sender); it never alerts. `to`
    (`client` or `provider`): a notice addressed to that member, unread for them only; None:
    for both members. Both see it in the room's history."""
    room = room_store.append_message_counter(room_id, "system", None, iso(now), to=to)
    if room is None:
        raise NotFound("room")
    body = wiring.get("cipher").encrypt(room_id, text, room.key_blob)
    return room_store.put_message(room, kind="system", sender_id=None, sender_role="system",
                                  created_at=iso(now), body=body, to=to)


def after_member_message(room: RoomModel, caller: Caller, message: MessageModel, now: datetime) -> None:
    """Publish `message_posted`: the handlers `bootstrap` subscribed react (the reply promise,
    then the new-message alert). Both may need the other member's profile; it is read at most once."""
    other_id = room.provider_id if caller.is_client else room.client_id
    other = cache(lambda: user_store.get(other_id))
    wiring.publish("message_posted", room, caller, message, now, other)


def messages(caller: Caller, room_id: str, limit: int, cursor: str | None, now: datetime) -> dict:
    room = member_room(caller, room_id)
    cursors = wiring.get("cursors")
    scope = f"messages:{room_id}"
    before = None
    if cursor:
        before = cursors.decode(scope, cursor)
        if not isinstance(before, int) or isinstance(before, bool) or before < 1:
            raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
    if caller.is_provider:  # SPEC §2 Safety: every provider read of clinical data is logged
        from chalicelib.store import access_log

        access_log.record(room.client_id, caller.id, caller.role, "messages", now, room_id=room_id)
    items, more = room_store.message_page(room_id, limit, before)
    media_urls = _media_urls(room_id, items)
    rendered = [render(room_id, m, media_url=media_urls.get(m.media_id), key_blob=room.key_blob) for m in items]
    if caller.is_provider:  # risk language (SPEC §2): only the provider sees which messages were flagged
        for out, m in zip(rendered, items):
            out["flagged"] = bool(m.flag)
    return {"items": rendered, "next": cursors.encode(scope, int(items[-1].seq)) if more and items else None}


def _media_urls(room_id: str, items: list[MessageModel]) -> dict:
    media_ids = [m.media_id for m in items if m.kind in ("audio", "video") and m.media_id]
    return playback_urls(room_id, media_ids) if media_ids else {}


def playback_urls(room_id: str, media_ids: list[str]) -> dict[str, str]:
    """Fresh presigned GETs (no DynamoDB read: the key follows from the ids)."""
    store, expires = wiring.get("media"), wiring.settings().playback_url_seconds
    return {media_id: store.playback_url(final_key(room_id, media_id), expires) for media_id in media_ids}


def mark_read(caller: Caller, room_id: str, message_id: str) -> dict:
    room = member_room(caller, room_id)
    seq = room_store.seq_of(message_id)
    message = room_store.get_message(room_id, seq) if seq else None
    if message is None or message.id != message_id:
        raise NotFound("message")
    read_count = room_store.read_count(message, caller.role)
    room_store.mark_read(room_id, caller.role, read_count, int(message.seq))
    # Reflect the write locally (the marker only moves forward) instead of reading the room again.
    if caller.is_client and int(message.seq) > int(room.read_client_seq or 0):
        room.read_client, room.read_client_seq = read_count, int(message.seq)
    elif caller.is_provider and int(message.seq) > int(room.read_provider_seq or 0):
        room.read_provider, room.read_provider_seq = read_count, int(message.seq)
    return {"room_id": room_id, "read_up_to": message_id,
            "unread_count": room_store.unread_count(room, caller.role)}
