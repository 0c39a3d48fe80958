"""Talkcasts (SPEC §2 Between sessions): a provider's short script turned into speech by Amazon
Polly and posted in the room as an `audio` message with `talkcast: true`, played like any other.

Order, so that nothing is ever half-posted: check the room (404) and the script (400); then
synthesize (Polly down → 502 `speech_unavailable`, nothing written); then store the audio in the
media bucket under SSE-KMS (Haven writes it itself, no upload form); only then number and write
the message. If writing the message fails, the stored audio is deleted again. The script and
title are sealed with the room's key in the message's `body`; they are never logged. (No upload
record is made: Haven wrote the object itself, and playback follows from the room and media ids.)
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime

from chalicelib import wiring
from chalicelib.adapters.media import final_key
from chalicelib.domain import between_sessions as rules
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics


def post(caller: Caller, room_id: str, body: dict, now: datetime) -> dict:
    from chalicelib.services import rooms

    room = rooms.member_room(caller, room_id)
    draft = rules.talkcast_draft(body.get("title"), body.get("script"), body.get("voice"))
    s = wiring.settings()
    audio, content_type = wiring.get("speech").synthesize(draft.script, draft.voice.id, engine=draft.engine,
                                                          output_format=s.talkcast_output_format)
    media_id = "med_" + secrets.token_hex(12)
    key = final_key(room_id, media_id)
    store = wiring.get("media")
    store.put(key, audio, content_type)
    try:
        sealed = wiring.get("cipher").encrypt(room_id, json.dumps(
            {"title": draft.title, "script": draft.script, "voice": draft.voice.id}, ensure_ascii=False),
            room.key_blob, purpose="talkcast")
        message, _room, _retried = rooms.post_member(caller, room_id, now, kind="audio", sealed=sealed, room=room,
                                                     media_id=media_id, talkcast=True)
    except BaseException:
        _discard(store, key)
        raise
    metrics.add_metric(name="TalkcastPosted", unit="Count", value=1)
    logger.info("talkcast posted", extra={"room_id": room_id, "message_id": message.id, "kind": "audio",
                                          "talkcast": True, "voice": draft.voice.id, "bytes": len(audio)})
    return rooms.render(room_id, message, media_url=rooms.playback_urls(room_id, [media_id])[media_id],
                        key_blob=room.key_blob)


def _discard(store, key: str) -> None:
    try:
        store.delete(key)
    except Exception:  # the original error matters more; an orphan object is harmless (no message names it)
        logger.warning("could not remove a talkcast's audio after a failure")
