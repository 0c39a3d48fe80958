"""Issue 15 over HTTP against the real local stack (chalice local + the emulator), as `make run`
serves it: a client journals, checks in their mood and sees their week; their provider reads
what is shared, assigns homework (its reminder arrives when the `reminders` schedule runs at
09:00 the day before, fired here the way `make invoke` fires it), and sends a talkcast the
client plays; the client downloads a ZIP of everything once the queue is drained, as the local
runner drains it."""
from __future__ import annotations

import io
import json
import time
import zipfile
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.local.conftest import TIMEOUT

pytestmark = pytest.mark.local


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_week_between_sessions_and_a_copy_of_everything(http, world, stack):
    from infra import provision, schedules
    from infra.queues import QueueDrainer

    client, provider, room_id = world.pair()
    assert http.post("/clients/me/journal", client, {"text": "Told my boss no. Felt sick, then proud.",
                                                    "shared": True}).status == 201
    assert http.post("/clients/me/journal", client, {"text": "Not ready to talk about Sam yet."}).status == 201
    for score, emotions in ((4, ["anxious"]), (7, ["hopeful", "calm"])):
        reply = http.post("/clients/me/moods", client, {"score": score, "emotions": emotions})
        assert reply.status == 201, reply.text
    week = http.get("/clients/me/moods", client).json
    assert [w["mean"] for w in week["weekly"]] == [5.5] and len(week["items"]) == 2

    shared = http.get(f"/rooms/{room_id}/journal", provider).json["items"]
    assert [e["text"] for e in shared] == ["Told my boss no. Felt sick, then proud."]
    assert http.get(f"/rooms/{room_id}/moods", provider).code == "forbidden"
    assert http.call("PATCH", "/clients/me/settings", client, {"share_moods": True}).json == {"share_moods": True}
    assert len(http.get(f"/rooms/{room_id}/moods", provider).json["items"]) == 2

    due = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=2)).date().isoformat()
    homework = http.post(f"/rooms/{room_id}/homework", provider,
                         {"title": "Assertiveness log", "instructions": "Note one time you said no.", "due": due})
    assert homework.status == 201, homework.text
    moment = _parse(homework.json["reminder_at"])
    import app as app_module

    schedules.invoke(app_module.app, "reminders", moment, stack["region"])  # `make invoke FN=reminders TIME=...`
    mail = [m for m in provision.sent_mail(stack["aws_endpoint_url"]) if client.email in json.dumps(m)]
    assert any("Homework due tomorrow" in json.dumps(m) for m in mail)
    system = [m for m in http.get(f"/rooms/{room_id}/messages", client).json["items"] if m["kind"] == "system"]
    assert len(system) == 1 and "homework due tomorrow" in system[0]["text"]
    done = http.post(f"/rooms/{room_id}/homework/{homework.json['id']}/done", client)
    assert done.status == 200 and done.json["status"] == "done"

    talkcast = http.post(f"/rooms/{room_id}/talkcasts", provider,
                         {"title": "Saying no", "script": "Saying no is a full sentence.", "voice": "Amy"})
    assert talkcast.status == 201 and talkcast.json["talkcast"] is True, talkcast.text
    played = next(m for m in http.get(f"/rooms/{room_id}/messages", client).json["items"] if m.get("talkcast"))
    audio = requests.get(played["media_url"], timeout=TIMEOUT)
    assert audio.status_code == 200 and audio.content

    export = http.post("/clients/me/exports", client)
    assert export.status == 202 and export.json["status"] == "preparing"
    drainer = QueueDrainer(app_module.app, stack, interval=0.2)
    drainer.start()
    try:
        deadline = time.monotonic() + 120
        ready = http.get(f"/clients/me/exports/{export.json['id']}", client).json
        while ready["status"] != "ready" and time.monotonic() < deadline:
            time.sleep(0.5)
            ready = http.get(f"/clients/me/exports/{export.json['id']}", client).json
    finally:
        drainer.stop(timeout=30)
    assert ready["status"] == "ready" and _parse(ready["expires_at"]) > datetime.now(timezone.utc)
    archive = zipfile.ZipFile(io.BytesIO(requests.get(ready["url"], timeout=TIMEOUT).content))
    messages = json.loads(archive.read(f"rooms/{room_id}/messages.json"))
    spoken = next(m for m in messages if m.get("talkcast"))
    assert spoken["script"] == "Saying no is a full sentence." and archive.read(spoken["media_file"]) == audio.content
    journal = json.loads(archive.read("journal.json"))
    assert {e["text"] for e in journal} == {"Told my boss no. Felt sick, then proud.", "Not ready to talk about Sam yet."}
