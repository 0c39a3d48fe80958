"""Issue 8 item 3, SPEC §2 "Clinical record" (last bullet) and "Safety and privacy": after a busy
scenario that puts a distinct marker in every free text a member can write (with and without an
`Idempotency-Key`, and a keyed retry), no marker is found anywhere Haven keeps data: every table
the emulator holds (ListTables, every page of a Scan; binary attributes, base64 strings, JSON
strings and gzip/zlib payloads decoded) and every object version in every bucket.

Free texts covered: message bodies; booking cancellation reasons (client and provider);
session-request notes and decline reasons; session records, amendments and member notes;
journal entries; mood notes; goal titles; homework titles and instructions; talkcast titles and
scripts; the provider-change reason (SPEC: not stored at all). Questionnaire answers are numbers:
their list is searched for as a clue instead. Left out on purpose: names, emails and dates of
birth (identity data, SPEC: tables under the customer-managed key, not application-sealed) and
data exports (the client's own copy, decrypted by design, SSE-KMS and deleted after 7 days; the
scenario makes none, tests/functional/test_between_privacy.py covers the export path)."""
from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from datetime import timedelta

import boto3

from tests.functional.booking_world import WED_10_NY, book, run_sweep, scene
from tests.functional.clinical_world import answers, completed, flat_text, raw_tables
from tests.functional.pathways_world import PREFERRED

PHQ9 = [2, 1, 2, 3, 0, 1, 2, 3, 0]
FIELDS = ("message", "message_keyed", "message_provider_keyed", "cancel_client_keyed", "cancel_provider",
          "request_note_keyed", "request_note", "request_decline_keyed", "record_keyed", "amendment",
          "amendment_keyed", "member_note_keyed", "member_note", "journal_keyed", "journal", "mood_keyed",
          "mood", "goal_keyed", "goal", "homework_title_keyed", "homework_instructions_keyed",
          "homework_title", "homework_instructions", "talkcast_title_keyed", "talkcast_script_keyed",
          "provider_change_keyed")
MARKERS = {field: f"qz{n:02d}-{field.replace('_', '-')}-marker" for n, field in enumerate(FIELDS)}


def _ok(reply, status=(200, 201)):
    assert reply.status in ((status,) if isinstance(status, int) else status), reply.json
    return reply.json


def _busy_week(world, api, clock):
    """Every free-text write, each with its marker; a keyed write is also retried once."""
    sc = scene(world, api, plan={"live_credits": 10})
    room = f"/rooms/{sc.room_id}"

    def keyed(path, user, body, key):
        first = _ok(api.post(path, user, body, headers={"Idempotency-Key": key}))
        again = _ok(api.post(path, user, body, headers={"Idempotency-Key": key}))  # the stored answer
        assert again == first
        return first

    def text(field):
        return f"Something private: {MARKERS[field]}"

    # messages, from both members, with and without a key
    _ok(api.post(f"{room}/messages", sc.client, {"kind": "text", "text": text("message")}))
    keyed(f"{room}/messages", sc.client, {"kind": "text", "text": text("message_keyed")}, "m1")
    keyed(f"{room}/messages", sc.provider, {"kind": "text", "text": text("message_provider_keyed")}, "m2")

    # session requests: a note (keyed) declined with a reason; a note (unkeyed) withdrawn
    asked = keyed("/session-requests", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                                   "preferred": PREFERRED, "note": text("request_note_keyed")}, "q1")
    keyed(f"/session-requests/{asked['id']}/decline", sc.provider, {"reason": text("request_decline_keyed")}, "q2")
    again = _ok(api.post("/session-requests", sc.client, {"provider_id": sc.provider.id, "modality": "video",
                                                          "preferred": PREFERRED, "note": text("request_note")}))
    _ok(api.post(f"/session-requests/{again['id']}/withdraw", sc.client))

    # bookings cancelled with a reason, by the client (keyed) and by the provider
    first = book(api, sc, WED_10_NY)
    keyed(f"/bookings/{first['id']}/cancel", sc.client, {"reason": text("cancel_client_keyed")}, "c1")
    second = book(api, sc, WED_10_NY + timedelta(days=1))
    _ok(api.post(f"/bookings/{second['id']}/cancel", sc.provider, {"reason": text("cancel_provider")}))

    # a session that took place, its questionnaire, record, amendments and member notes
    booking = completed(api, clock, sc, questionnaire={"phq9": PHQ9, "gad7": answers(11, 7)})
    record = f"/bookings/{booking['id']}/record"
    _ok(api.put(record, sc.provider, {"text": text("record_keyed")}, headers={"Idempotency-Key": "r1"}))
    _ok(api.put(record, sc.provider, {"text": text("record_keyed")}, headers={"Idempotency-Key": "r1"}))
    _ok(api.post(f"{record}/amendments", sc.provider, {"text": text("amendment")}))
    keyed(f"{record}/amendments", sc.provider, {"text": text("amendment_keyed")}, "a1")
    clock.advance(hours=72)
    keyed(f"{record}/notes", sc.client, {"text": text("member_note_keyed")}, "n1")
    _ok(api.post(f"{record}/notes", sc.client, {"text": text("member_note")}))

    # between sessions
    keyed("/clients/me/journal", sc.client, {"text": text("journal_keyed"), "shared": True}, "j1")
    _ok(api.post("/clients/me/journal", sc.client, {"text": text("journal"), "shared": False}))
    keyed("/clients/me/moods", sc.client, {"score": 3, "emotions": ["sad"], "note": text("mood_keyed")}, "d1")
    _ok(api.post("/clients/me/moods", sc.client, {"score": 4, "note": text("mood")}))
    keyed(f"{room}/goals", sc.client, {"title": text("goal_keyed")}, "g1")
    _ok(api.post(f"{room}/goals", sc.provider, {"title": text("goal")}))
    keyed(f"{room}/homework", sc.provider, {"title": text("homework_title_keyed"), "due": "2026-12-03",
                                            "instructions": text("homework_instructions_keyed")}, "h1")
    _ok(api.post(f"{room}/homework", sc.provider, {"title": text("homework_title"), "due": "2026-12-04",
                                                   "instructions": text("homework_instructions")}))
    keyed(f"{room}/talkcasts", sc.provider, {"title": text("talkcast_title_keyed"),
                                             "script": text("talkcast_script_keyed")}, "t1")

    # what providers read (access-logged), the sweeps (reminders, outbox), and a provider change
    for path in (f"{room}/messages", f"{room}/journal", record, f"/bookings/{booking['id']}/questionnaire"):
        _ok(api.get(path, sc.provider))
    run_sweep("reminders", clock() + timedelta(days=3))  # the homework reminders
    run_sweep("deadlines", clock() + timedelta(days=3))
    keyed("/clients/me/provider-change", sc.client, {"provider_kind": "therapist",
                                                     "reason": text("provider_change_keyed")}, "p1")
    return sc, booking


def _readings(value, depth: int = 0) -> list[str]:
    """Every way a stored value can be read as text: as it is; bytes as latin-1; base64 strings,
    JSON strings and gzip/zlib payloads decoded (a few levels deep)."""
    if depth > 4:
        return []
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += [str(k), *_readings(v, depth)]
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            out += _readings(v, depth)
    elif isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        out.append(raw.decode("latin-1"))
        for unpack in (gzip.decompress, zlib.decompress, lambda b: zlib.decompress(b, -15)):
            try:
                out += _readings(unpack(raw), depth + 1)
            except Exception:  # not that kind of payload
                pass
    elif isinstance(value, str):
        out.append(value)
        if len(value) >= 8 and len(value) % 4 == 0:
            try:
                out += _readings(base64.b64decode(value, validate=True), depth + 1)
            except (binascii.Error, ValueError):
                pass
        if value[:1] in "{[\"":
            try:
                out += _readings(json.loads(value), depth + 1)
            except ValueError:
                pass
    else:
        out.append(str(value))
    return out


def _every_table(stack) -> dict[str, list[dict]]:
    """Every item of every table the emulator holds (ListTables, not the app's own list, so the
    idempotency table and any other store are included), binary attributes as bytes."""
    ddb = boto3.client("dynamodb", endpoint_url=stack["aws_endpoint_url"], region_name=stack["region"])
    names = [n for page in ddb.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    known = raw_tables()  # the models' tables, read by the shared helper
    out = {name: known[name] for name in names if name in known}
    for name in (n for n in names if n not in known):
        out[name] = [item for page in ddb.get_paginator("scan").paginate(TableName=name) for item in page["Items"]]
    return out


def _every_object(stack) -> dict[str, bytes]:
    """Every version of every object in every bucket, with its server-side encryption."""
    s3 = boto3.client("s3", endpoint_url=stack["aws_endpoint_url"], region_name=stack["region"])
    out = {}
    for bucket in (b["Name"] for b in s3.list_buckets()["Buckets"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                got = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
                out[f"{bucket}/{version['Key']}@{version['VersionId']}"] = (got.get("ServerSideEncryption"),
                                                                             got["Body"].read())
    return out


def test_no_free_text_is_stored_in_plaintext_in_any_table_or_bucket(world, api, clock, stack):
    sc, booking = _busy_week(world, api, clock)
    # the markers were really written: each member reads theirs back through the API
    journal = api.get("/clients/me/journal", sc.client).json["items"]
    assert {MARKERS["journal"], MARKERS["journal_keyed"]} <= {e["text"].rsplit(" ", 1)[-1] for e in journal}
    entries = api.get(f"/bookings/{booking['id']}/record", sc.client).json["entries"]
    assert sum(MARKERS["member_note_keyed"] in e["text"] for e in entries) == 1  # the keyed retry wrote once

    tables = _every_table(stack)
    assert any(name.endswith("-messages") for name in tables) and any("idempot" in name for name in tables)
    assert any(items for name, items in tables.items() if "idempot" in name)  # keyed answers were kept
    leaks = []
    for name, items in tables.items():
        for item in items:
            text = "\n".join(_readings(item))
            leaks += [(field, name, flat_text(item)[:300]) for field, marker in MARKERS.items() if marker in text]
            if str(PHQ9) in text or "Something private" in text:
                leaks.append(("questionnaire answers" if str(PHQ9) in text else "free text", name,
                              flat_text(item)[:300]))
    objects = _every_object(stack)
    assert objects, "the talkcast's audio should be in the media bucket"
    for where, (encryption, body) in objects.items():
        assert encryption == "aws:kms", f"{where} is not under SSE-KMS"
        text = "\n".join(_readings(body))
        leaks += [(field, where, "") for field, marker in MARKERS.items() if marker in text]
    assert leaks == [], "\n".join(f"{field} in {where}: {item}" for field, where, item in leaks)
