"""Voice and video messages (SPEC §2): upload slots, the server-side check, playback links.

An upload slot is a `media` record plus a presigned POST to `pending/<room>/<media>`. A message
may carry it only once the object exists and its real size and type (HEAD) fit what was
declared and the kind's limits; a refused object is deleted, an accepted one moves to
`rooms/<room>/<media>`. Abandoned uploads expire under `pending/` by lifecycle rule.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import wiring
from chalicelib.adapters.media import final_key, pending_key
from chalicelib.clock import iso, parse_iso
from chalicelib.domain.profiles import normalize_content_type
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import rooms as room_service
from chalicelib.store import rooms as room_store
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import MediaModel


def _limits(kind: str) -> tuple[tuple[str, ...], int]:
    s = wiring.settings()
    return (s.audio_types, s.audio_max_bytes) if kind == "audio" else (s.video_types, s.video_max_bytes)


CLAIMED = "claimed"
CLAIM_LEASE = timedelta(seconds=60)  # longer than a request may run; a retry after a crash takes it over


def _claim_abandoned(media: MediaModel, now: datetime) -> bool:
    """A claim whose message was never written (the request died in between): the same member's
    retry completes it once the claim's lease has run out."""
    return (media.used_by == CLAIMED and bool(media.claimed_at)
            and parse_iso(media.claimed_at) + CLAIM_LEASE <= now)


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
    # No membership read here: the upload must be this caller's in this room (404 otherwise), and
    # the counter update below proves the caller is still a member before the message exists.
    try:
        media = MediaModel.get(media_id)
    except DoesNotExist:
        raise NotFound("media")
    if media.room_id != room_id or media.uploader_id != caller.id:
        raise NotFound("media")
    if media.used_by and not _claim_abandoned(media, now):
        raise HavenError("This upload is already attached to a message.", "already_used")
    if media.kind != kind:
        raise HavenError(f"This upload was declared as {media.kind}, not {kind}.", "media_mismatch")
    store = wiring.get("media")
    found = store.head(media.key)
    resumed = found is None and _claim_abandoned(media, now)
    if resumed:  # the crashed request may have moved the accepted file already
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
    try:  # claim the upload for exactly one message (a claim a crashed request left behind expires)
        claim = MediaModel.used_by.does_not_exist()
        if media.used_by == CLAIMED:
            claim = (MediaModel.used_by == CLAIMED) & (MediaModel.claimed_at == media.claimed_at)
        media.update(actions=[MediaModel.used_by.set(CLAIMED), MediaModel.claimed_at.set(iso(now)),
                              MediaModel.expires.remove()], condition=claim)
    except UpdateError as error:
        if condition_failed(error):
            raise HavenError("This upload is already attached to a message.", "already_used")
        raise
    if not resumed:
        store.promote(media.key, final_key(room_id, media_id))
    room = room_service.count_message(caller, room_id, now)  # 403 for a discharged referral client
    if room is None:
        raise NotFound("room")
    message = room_store.put_message(room, kind=kind, sender_id=caller.id, sender_role=caller.role,
                                     created_at=iso(now), media_id=media_id)
    media.update(actions=[MediaModel.used_by.set(message.id)])
    logger.info("message posted", extra={"room_id": room_id, "message_id": message.id, "kind": kind})
    room_service.after_member_message(room, caller, message, now)
    return room_service.render(room_id, message,
                               media_url=room_service.playback_urls(room_id, [media_id])[media_id])
