"""Issue 3 over HTTP against the real local stack: real bytes through the presigned POST to the
emulator's S3 and back through the presigned GET; a messaging session and the reply clock as
the client apps see them."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.local.conftest import TIMEOUT

pytestmark = pytest.mark.local


def _upload(slot: dict, data: bytes, content_type: str) -> None:
    form = slot["upload"]
    response = requests.post(form["url"], data=form["fields"], files={"file": ("recording", data, content_type)},
                             timeout=TIMEOUT)
    assert response.status_code in (200, 201, 204), response.text


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("kind,content_type,size", [("audio", "audio/webm;codecs=opus", 300 * 1024 + 7),
                                                    ("video", "video/mp4", 1024 * 1024 + 3)])
def test_real_bytes_go_up_by_presigned_post_and_come_back_by_the_media_url(http, world, kind, content_type, size):
    client, provider, room_id = world.pair()
    data = os.urandom(size)
    slot = http.post(f"/rooms/{room_id}/media", client, {"kind": kind, "content_type": content_type,
                                                        "size_bytes": size})
    assert slot.status == 201, slot.text
    assert slot.json["upload"]["fields"]["key"].startswith(f"pending/{room_id}/")
    early = http.post(f"/rooms/{room_id}/messages", client, {"kind": kind, "media_id": slot.json["media_id"]})
    assert early.status == 409 and early.code == "upload_missing"

    _upload(slot.json, data, content_type.split(";")[0])
    posted = http.post(f"/rooms/{room_id}/messages", client, {"kind": kind, "media_id": slot.json["media_id"]})
    assert posted.status == 201, posted.text
    assert posted.json["kind"] == kind and posted.json["sender_id"] == client.id

    listed = http.get(f"/rooms/{room_id}/messages", provider).json["items"]
    message = next(m for m in listed if m["id"] == posted.json["id"])
    assert message["kind"] == kind and "text" not in message
    downloaded = requests.get(message["media_url"], timeout=TIMEOUT)
    assert downloaded.status_code == 200
    assert len(downloaded.content) == size and downloaded.content == data
    # the client downloads it too, through a freshly signed URL of its own listing
    mine = next(m for m in http.get(f"/rooms/{room_id}/messages", client).json["items"] if m["id"] == posted.json["id"])
    assert requests.get(mine["media_url"], timeout=TIMEOUT).content == data

    reused = http.post(f"/rooms/{room_id}/messages", client, {"kind": kind, "media_id": slot.json["media_id"]})
    assert reused.status == 409 and reused.code == "already_used"


def test_an_upload_larger_than_declared_is_refused_over_http(http, world):
    client, provider, room_id = world.pair()
    slot = http.post(f"/rooms/{room_id}/media", client, {"kind": "audio", "content_type": "audio/mpeg",
                                                        "size_bytes": 1000}).json
    _upload(slot, os.urandom(5000), "audio/mpeg")  # the emulator does not enforce the policy's size range
    refused = http.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert refused.status == 413 and refused.code == "too_large"
    assert http.get(f"/rooms/{room_id}/messages", provider).json["items"] == []


def test_a_messaging_session_and_the_reply_clock_show_through_http(http, world):
    client, provider, room_id = world.pair()
    world.plan(client, kind="eap", live_credits=2, messaging_credits=2)
    assert http.get("/clients/me", client).json["credits"]["messaging"] == 2
    assert http.get(f"/rooms/{room_id}", client).json["messaging_session"] is None

    started = http.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert started.status == 201, started.text
    session = started.json
    assert _parse(session["ends_at"]) - _parse(session["started_at"]) == timedelta(days=7)
    for who in (client, provider):
        assert http.get(f"/rooms/{room_id}", who).json["messaging_session"] == session
    assert http.get("/clients/me", client).json["credits"]["messaging"] == 1
    second = http.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert second.status == 409 and second.code == "already_active"
    cancel = http.delete(f"/rooms/{room_id}/messaging-sessions/{session['id']}", client)
    assert cancel.status == 409 and cancel.code == "cannot_cancel"
    assert http.get("/clients/me", client).json["credits"]["messaging"] == 1

    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert http.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "are you there?"}).status == 201
    due = http.get(f"/rooms/{room_id}", client).json["reply_due_at"]
    assert due is not None and due.endswith("Z")
    # one working day (8 h of Mon–Fri 09:00–17:00 New York) is at most a weekend and a day away
    assert before + timedelta(hours=8) <= _parse(due) <= before + timedelta(days=4)
    assert http.get(f"/rooms/{room_id}", provider).json["reply_due_at"] == due  # the provider sees the same clock
    system = [m for m in http.get(f"/rooms/{room_id}/messages", client).json["items"] if m["kind"] == "system"]
    assert len(system) <= 1  # out of the provider's hours: one notice with the due time and crisis help
    for notice in system:
        assert notice["sender_id"] is None and "988" in notice["text"]

    assert http.post(f"/rooms/{room_id}/messages", provider, {"kind": "text", "text": "here"}).status == 201
    assert http.get(f"/rooms/{room_id}", client).json["reply_due_at"] is None


def test_a_subscription_needs_no_messaging_session(http, world):
    client, _, room_id = world.pair()
    world.plan(client, kind="subscription", live_credits=4, period_anchor="2026-11-01")
    reply = http.post(f"/rooms/{room_id}/messaging-sessions", client)
    assert reply.status == 409 and reply.code == "not_needed"
