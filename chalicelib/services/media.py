"""Voice and video messages (SPEC §2): upload slots, the server-side check, playback links.

An upload slot is a `media` record plus a presigned POST to `pending/<room>/<media>`. A message
may carry it only once the object exists and its real size and type (HEAD) fit what was
declared and the kind's limits; a refused object is deleted, an accepted one moves to
`rooms/<room>/<media>`. Abandoned uploads expire under `pending/` by lifecycle rule.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.adapters.media import final_key, pending_key
from chalicelib.clock import iso, parse_iso
from chalicelib.domain.profiles import normalize_content_type
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import rooms as room_service
from chalicelib.store import rooms as room_store
from chalicelib.store.models import MediaModel


def _limits(kind: str) -> tuple[tuple[str, ...], int]:
    s = wiring.settings()
    return (s.audio_types, s.audio_max_bytes) if kind == "audio" else (s.video_types, s.video_max_bytes)


# The previous release claimed an upload before writing its message ("claimed", with its time); a
# claim it left behind when its request died is taken over once this lease has run out.
LEGACY_CLAIM = "claimed"
LEGACY_CLAIM_LEASE = timedelta(seconds=60)


def _legacy_claim_abandoned(media: MediaModel, now: datetime) -> bool:
    return (media.used_by == LEGACY_CLAIM and bool(media.claimed_at)
            and parse_iso(media.claimed_at) + LEGACY_CLAIM_LEASE <= now)


def create_upload(caller: Caller, room_id: str, body: dict, now: datetime) -> dict:
    room_service.member_room(caller, room_id)
    kind = body["kind"]
    allowed, max_bytes = _limits(kind)
    content_type = normalize_content_type(body["content_type"])
    if content_type not in allowed:
        raise HavenError(f"A {kind} message must be one of: {', '.join(allowed)}.", "media_mismatch",
                         details={"allowed": list(allowed)})
    if body["size_bytes"] > max_bytes:
        raise HavenError(f"A {kind} message may be at most {max_bytes // (1024 * 1024)} MiB.", "too_large")
    s = wiring.settings()
    media_id = "med_" + secrets.token_hex(12)
    key = pending_key(room_id, media_id)
    MediaModel(media_id, room_id=room_id, uploader_id=caller.id, kind=kind, content_type=content_type,
               size_bytes=body["size_bytes"], key=key, created_at=iso(now),
               expires=now + timedelta(days=2)).save(condition=MediaModel.id.does_not_exist())
    upload = wiring.get("media").upload_form(key, content_type, body["size_bytes"], s.upload_url_seconds)
    logger.info("upload slot created", extra={"room_id": room_id, "media_id": media_id, "kind": kind})
    return {"media_id": media_id, "upload": upload, "expires_in": s.upload_url_seconds}


def post_media_message(caller: Caller, room_id: str, kind: str, media_id: str, now: datetime) -> dict:
    """The upload is claimed in the message's own transaction (`used_by` = the message id), so a
    claim never exists without its message. The accepted file is copied to `rooms/` before that
    transaction (a crash after the copy leaves an unclaimed upload the retry copies again) and the
    pending object removed after it. A keyed retry of a request that committed and died answers
    the message it made; the same upload posted again by another request is 409 `already_used`."""
    from chalicelib import request_key
    from chalicelib.store.base import batch_get
    from chalicelib.store.models import RoomModel

    # One read for the upload and the room; the room's membership is checked by post_member.
    found_items = batch_get({MediaModel: [media_id], RoomModel: [room_id]})
    media = found_items[MediaModel].get(media_id)
    room = found_items[RoomModel].get(room_id)
    if media is None or media.room_id != room_id or media.uploader_id != caller.id:
        raise NotFound("media")
    if room is None or caller.id not in (room.client_id, room.provider_id):
        raise NotFound("room")
    legacy = _legacy_claim_abandoned(media, now)
    if media.used_by and not legacy:
        prior = room_store.posted_by_request(room, caller.role, request_key.current())
        message = room_store.get_message(room_id, prior) if prior is not None else None
        if message is not None and message.id == media.used_by:  # this request's own first attempt
            from chalicelib.services import outbox

            outbox.resume(list(message.notices or []), now)  # what the dead request did not send
            return _rendered(room_id, message, media_id)
        raise HavenError("This upload is already attached to a message.", "already_used")
    if media.kind != kind:
        raise HavenError(f"This upload was declared as {media.kind}, not {kind}.", "media_mismatch")
    store = wiring.get("media")
    found = store.head(media.key)
    if found is None and legacy:  # the dead request may have moved the accepted file already
        found = store.head(final_key(room_id, media_id))
    if found is None:
        raise HavenError("The file has not been uploaded yet; upload it with the form, then post again.",
                         "upload_missing")
    allowed, max_bytes = _limits(kind)
    real_type = normalize_content_type(found["content_type"])
    if found["size"] > max_bytes or found["size"] > int(media.size_bytes):
        store.delete(media.key)
        metrics.add_metric(name="MediaRefused", unit="Count", value=1)
        raise HavenError(f"The uploaded file is larger than declared or than {max_bytes // (1024 * 1024)} MiB; "
                         "it was removed.", "too_large")
    if real_type != media.content_type or real_type not in allowed:
        store.delete(media.key)
        metrics.add_metric(name="MediaRefused", unit="Count", value=1)
        raise HavenError("The uploaded file's type does not match what was declared; it was removed.",
                         "media_mismatch")
    if not (legacy and store.head(final_key(room_id, media_id)) is not None):
        store.copy(media.key, final_key(room_id, media_id))
    unclaimed = MediaModel.used_by.does_not_exist()
    if legacy:
        unclaimed = (MediaModel.used_by == LEGACY_CLAIM) & (MediaModel.claimed_at == media.claimed_at)

    def claim(uow, message) -> None:  # exactly one message carries an upload
        uow.update(MediaModel(media_id), [MediaModel.used_by.set(message.id), MediaModel.expires.remove()],
                   unclaimed)

    try:
        message, _room, _retried = room_service.post_member(caller, room_id, now, kind=kind, media_id=media_id,
                                                            room=room, before_commit=claim)
    except HavenError as error:
        if error.code != "request_in_progress":
            raise
        # refused every time: another message took the upload meanwhile, or the room was busy
        if (MediaModel.get(media_id, consistent_read=True).used_by or "") != "":
            raise HavenError("This upload is already attached to a message.", "already_used") from None
        raise
    store.delete(media.key)  # the accepted file is under rooms/ now; pending/ expires anyway
    return _rendered(room_id, message, media_id)


def _rendered(room_id: str, message, media_id: str) -> dict:
    return room_service.render(room_id, message,
                               media_url=room_service.playback_urls(room_id, [media_id])[media_id])
