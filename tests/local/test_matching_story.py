"""Issue 13 over HTTP against the real local stack: a new client goes from sign-up through intake to
a matched room with reasons, changes provider with the room's history kept, and a deactivated
provider's clients all end either re-matched or waiting after the deadlines sweep (run as
`make invoke FN=deadlines` runs it: the scheduled function, in this process, against the stack).

The local stack is shared by every local test and not reset, so this story lives in Iceland
(`IS`, Icelandic): nobody else's providers are licensed there.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.local

PROFILE = {"name": "Sigrun Client", "date_of_birth": "1990-04-21", "timezone": "Atlantic/Reykjavik",
           "region": "IS", "languages": ["is"]}


def _deadlines(stack, at: datetime) -> dict:
    from app import app
    from infra import schedules

    return schedules.invoke(app, "deadlines", at, stack["region"])


def _provider(http, ops, cognito, **fields):
    email = f"dr-is-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": f"Dr. {uuid.uuid4().hex[:6]}", "kind": "therapist", "licensed_regions": ["IS"],
            "languages": ["is"], "timezone": "Atlantic/Reykjavik", **fields}
    reply = http.post("/ops/providers", ops, body)
    assert reply.status == 201, reply.text
    return cognito.activate(email, "provider")


def _client(http, cognito, **profile):
    client = cognito.sign_up()
    reply = http.post("/clients/me", client, {**PROFILE, **profile})
    assert reply.status == 200, reply.text
    return client


def test_sign_up_intake_change_of_provider_and_a_deactivation(http, cognito, ops, stack):
    first = _provider(http, ops, cognito, focus_areas=["kvíði"])
    second = _provider(http, ops, cognito)
    client = _client(http, cognito)

    matched = http.put("/clients/me/intake", client, {"region": "IS", "languages": ["is"],
                                                      "provider_kind": "therapist", "focus_areas": ["kvíði"]})
    assert matched.status == 200, matched.text
    assert matched.json == {"status": "matched", "provider_id": first.id, "room_id": matched.json["room_id"],
                            "reasons": ["focus_match", "near_time_zone"]}
    room_id = matched.json["room_id"]
    assert http.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "góðan dag"}).status == 201
    assert http.post(f"/rooms/{room_id}/messages", first, {"kind": "text", "text": "velkomin"}).status == 201

    changed = http.post("/clients/me/provider-change", client, {"provider_kind": "therapist"})
    assert changed.json == {"status": "matched", "provider_id": second.id, "room_id": room_id,
                            "reasons": ["near_time_zone"]}
    assert http.get(f"/rooms/{room_id}", first).status == 404
    history = http.get(f"/rooms/{room_id}/messages", second).json["items"]
    assert [m["text"] for m in history] == ["velkomin", "góðan dag"]

    # The second provider leaves with three clients: one Icelandic place is left elsewhere (the
    # first provider takes nobody new, and the client left them anyway).
    assert http.patch(f"/ops/providers/{first.id}", ops, {"accepting": False}).status == 200
    others = [_client(http, cognito), _client(http, cognito, languages=["fr"])]
    for other in others:
        reply = http.put("/ops/assignments", ops, {"client_id": other.id, "provider_id": second.id, "force": True})
        assert reply.status == 200, reply.text
    third = _provider(http, ops, cognito, capacity=1)
    deactivated = http.post(f"/ops/providers/{second.id}/deactivate", ops)
    assert deactivated.status == 200 and deactivated.json["active"] is False
    assert second.id not in {p["id"] for p in http.get("/providers", client, params={"region": "IS"}).json["items"]}
    assert second.id in {p["id"] for p in http.get("/ops/providers", ops, params={"active": "false",
                                                                                  "limit": 100}).json["items"]}

    result = _deadlines(stack, datetime.now(timezone.utc) + timedelta(minutes=1))
    assert result["clients_rematched"] >= 3
    outcomes = []
    for who in [client, *others]:
        profile = http.get("/clients/me", who).json
        [room] = profile["rooms"]
        outcomes.append((profile["status"], room["provider_id"]))
    assert sorted(outcomes, key=str).count(("active", third.id)) == 1
    assert all(o in (("active", third.id), ("waiting", None)) for o in outcomes), outcomes
    assert http.get("/rooms", second).json["items"] == []
    assert _deadlines(stack, datetime.now(timezone.utc) + timedelta(minutes=1))["clients_rematched"] == 0
