"""Rooms: membership, text messages (encrypted at rest), keyset pages, read markers.

Visibility (SPEC §1): a room the caller is not a member of is 404, never 403.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.adapters.media import final_key
from chalicelib.clock import iso, parse_iso
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.services.views import room_summary
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.models import MessageModel, RoomModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork


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
           key_blob: bytes | None = None, reader: Caller | None = None) -> dict:
    out = {"id": message.id, "room_id": room_id, "kind": message.kind, "sender_id": message.sender_id,
           "created_at": message.created_at}
    if message.kind in ("text", "system") and message.body is not None:
        out["text"] = wiring.get("cipher").decrypt(room_id, message.body, key_blob)
    if message.join_booking_id and reader is not None and (
            reader.is_client or (reader.is_provider and reader.id == message.join_provider_id)):
        # a session reminder: the stored message holds no link; each participant reads their own
        # (a provider the room was handed to later is not the booking's: no link for them)
        out["join_url"] = wiring.get("video").link(message.join_booking_id, reader.role)
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


ATTEMPTS = 6  # a room changed between the read and the write is read again (concurrent posts)


class Post:
    """A member's message being staged: the handlers of `message_staged` (bootstrap subscribes the
    reply promise and the new-message alert) add their writes to `uow` and their room changes to
    `room_actions` (a transaction touches the room once), all committed with the message."""

    def __init__(self, room: RoomModel, caller: Caller, seq: int, now: datetime, uow):
        self.room, self.caller, self.seq, self.now, self.uow = room, caller, seq, now, uow
        self.room_actions: list = []
        self._profiles: dict | None = None

    def profiles(self) -> dict:
        """Both members' profiles (one BatchGetItem, at most once): id -> UserModel."""
        if self._profiles is None:
            ids = [i for i in (self.room.client_id, self.room.provider_id) if i]
            self._profiles = user_store.get_many(ids)
        return self._profiles


def post_member(caller: Caller, room_id: str, now: datetime, *, kind: str, text: str | None = None,
                sealed: bytes | None = None, room: RoomModel | None = None, before_commit=None,
                **fields) -> tuple[MessageModel, RoomModel, bool]:
    """Post a member's message in ONE transaction: the message, the room's counters, the reply
    promise (opened or settled), the new-message alert and its outbox record, and whatever
    `before_commit(uow, message)` adds (a media claim). `text` is sealed here; `sealed` is a body the
    caller sealed itself. Reads the room once (or takes `room`, read
    by the caller); a room changed meanwhile is read again. A keyed retry of a request that
    committed and died gets that message back (`True` third). Returns (message, room, retried)."""
    from chalicelib import request_key

    request = request_key.current()
    body = sealed  # a body sealed by the caller (a talkcast's words), or the text sealed below
    for attempt in range(ATTEMPTS):
        if room is None or attempt:
            room = room_store.get(room_id, consistent=attempt > 0)
        if room is None or caller.id not in (room.client_id, room.provider_id):
            raise NotFound("room")
        prior = room_store.posted_by_request(room, caller.role, request)
        if prior is not None:
            message = room_store.get_message(room_id, prior)
            if message is not None:
                outbox.resume(list(message.notices or []), now)  # what the dead request did not send
                return message, room, True
        if caller.is_client and room.plan_kind == "referral":  # a discharged client may not post (403)
            from chalicelib.services.pathways import programs

            programs.require_may_post(caller.id, now)
        if text is not None and body is None:
            body = wiring.get("cipher").encrypt(room_id, text, room.key_blob)
        uow = UnitOfWork()
        post = Post(room, caller, int(room.seq or 0) + 1, now, uow)
        wiring.publish("message_staged", post)
        notices = [record.id for record in uow.records] or None
        message = room_store.stage_member_message(uow, room, caller.role, caller.id, iso(now), request,
                                                  post.room_actions, kind=kind, body=body, notices=notices,
                                                  **fields)
        if before_commit is not None:
            before_commit(uow, message)
        try:
            uow.commit()
        except Refused:
            continue
        outbox.deliver_all(uow.records, now)
        metrics.add_metric(name="MessagePosted", unit="Count", value=1)
        logger.info("message posted", extra={"room_id": room_id, "message_id": message.id, "kind": kind})
        after_member_message(room, caller, message, now, post)
        return message, room, False
    raise HavenError("The room changed while the message was being posted; post it again.", "request_in_progress")


def post_text(caller: Caller, room_id: str, text: str, now: datetime) -> dict:
    message, room, _retried = post_member(caller, room_id, now, kind="text", text=text)
    return render(room_id, message, key_blob=room.key_blob) if _retried else {
        "id": message.id, "room_id": room_id, "kind": "text", "sender_id": caller.id,
        "created_at": message.created_at, "text": text}


def post_system(room_id: str, text: str, now: datetime, *, to: str | None = None,
                notice_id: str | None = None, join_booking_id: str | None = None,
                join_provider_id: str | None = None) -> MessageModel | None:
    """A message written by Haven itself (kind `system`, no sender); it never alerts. `to`
    (`client` or `provider`): a notice addressed to that member, unread for them only; None:
    for both members. Both see it in the room's history. The message and the room's counters are
    one transaction; `notice_id` (the outbox notice it delivers) is recorded with it, so
    delivering the same notice again posts nothing twice. `join_booking_id`: a session reminder
    whose readers each see their own `join_url`."""
    join = {"join_booking_id": join_booking_id, "join_provider_id": join_provider_id} if join_booking_id else {}
    for attempt in range(ATTEMPTS):
        room = room_store.get(room_id, consistent=attempt > 0)
        if room is None:
            raise NotFound("room")
        prior = room_store.posted_by_request(room, "system", notice_id)
        if prior is not None:
            return room_store.get_message(room_id, prior)
        body = wiring.get("cipher").encrypt(room_id, text, room.key_blob)
        uow = UnitOfWork()
        message = room_store.stage_member_message(uow, room, "system", None, iso(now), notice_id, [],
                                                  counter=room_store.NOTICE_COUNTER[to], kind="system", body=body,
                                                  to=to, **join)
        try:
            uow.commit()
        except Refused:
            continue
        return message
    raise HavenError("The room changed while a notice was being posted; it is retried.", "request_in_progress")


def after_member_message(room: RoomModel, caller: Caller, message: MessageModel, now: datetime,
                         post: Post | None = None) -> None:
    """Publish `message_posted` once the message is stored: the handlers `bootstrap` subscribed
    react (risk language in a client's text). The reply promise and the alert were written with
    the message (`message_staged`). `people()`: both members' profiles, read at most once per
    post (the staging may have read them already)."""
    people = (post or Post(room, caller, 0, now, None)).profiles
    wiring.publish("message_posted", room, caller, message, now, people)


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
    rendered = [render(room_id, m, media_url=media_urls.get(m.media_id), key_blob=room.key_blob, reader=caller)
                for m in items]
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
