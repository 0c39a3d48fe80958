"""Data exports (SPEC §2 Data rights, §3): POST enqueues (202, one at a time), the `exports`
function builds the ZIP off the request path (drained from the emulator's SQS queue the way the
local runner does), the client is emailed, GET gives a 15-minute URL; after 7 days 410, and the
daily `discharges` sweep deletes every version."""
import io
import json
import zipfile
from datetime import timedelta

import boto3
import pytest
import requests

from app import app
from chalicelib.services import export_sections
from infra.queues import drain
from tests.functional.conftest import START, mail_to

AUDIO = b"ID3" + bytes(range(256)) * 40


def drain_exports(stack, **options) -> dict:
    sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    return drain(app, "exports", stack["queues"]["exports"], sqs, stack["region"], **options)


def _voice_message(api, user, room_id):
    slot = api.post(f"/rooms/{room_id}/media", user, {"kind": "audio", "content_type": "audio/mpeg",
                                                      "size_bytes": len(AUDIO)}).json
    fields = dict(slot["upload"]["fields"])
    response = requests.post(slot["upload"]["url"], data=fields, files={"file": ("voice", AUDIO, "audio/mpeg")},
                             timeout=10)
    assert response.status_code in (200, 201, 204), response.text
    reply = api.post(f"/rooms/{room_id}/messages", user, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 201, reply.json
    return reply.json


def _download(url) -> zipfile.ZipFile:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.content))


def _export_mail(client):
    return [m for m in mail_to(client.email) if "data export is ready" in repr(m)]


def _member(archive, name):
    return json.loads(archive.read(name))


def _export(api, client, stack):
    started = api.post("/clients/me/exports", client)
    assert started.status == 202, started.json
    assert drain_exports(stack) == {"handled": 1, "failed": 0}
    ready = api.get(f"/clients/me/exports/{started.json['id']}", client)
    assert ready.status == 200 and ready.json["status"] == "ready", ready.json
    return started.json["id"], ready.json


def test_an_export_round_trip_holds_everything_decrypted_and_every_media_file(api, world, stack, clock):
    client, provider, room_id = world.pair()
    world.plan(client)
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "I slept badly all week"})
    clock.advance(minutes=1)
    api.post(f"/rooms/{room_id}/messages", provider, {"kind": "text", "text": "Thanks for telling me"})
    clock.advance(minutes=1)
    voice = _voice_message(api, client, room_id)
    clock.advance(minutes=1)
    talkcast = api.post(f"/rooms/{room_id}/talkcasts", provider,
                        {"title": "Wind-down", "script": "Lights low, phone away, four slow breaths."}).json
    api.get(f"/rooms/{room_id}/messages", provider)  # an access-log record
    api.post("/clients/me/journal", client, {"text": "Private: I miss my dad", "shared": False})
    api.post("/clients/me/moods", client, {"score": 4, "emotions": ["tired"], "note": "heavy legs"})
    api.post(f"/rooms/{room_id}/goals", client, {"title": "Bed by eleven"})
    api.post(f"/rooms/{room_id}/homework", provider, {"title": "Sleep diary", "instructions": "Note bedtimes",
                                                      "due": "2026-11-30"})

    started = api.post("/clients/me/exports", client)
    assert started.status == 202 and started.json["status"] == "preparing" and started.json["id"]
    export_id = started.json["id"]
    assert api.get(f"/clients/me/exports/{export_id}", client).json == {
        "id": export_id, "status": "preparing", "created_at": "2026-11-23T09:03:00Z"}
    assert _export_mail(client) == []

    assert drain_exports(stack) == {"handled": 1, "failed": 0}
    ready = api.get(f"/clients/me/exports/{export_id}", client).json
    assert ready["status"] == "ready" and ready["url"]
    assert ready["expires_at"] == "2026-11-23T09:18:00Z"  # the URL lives 15 minutes
    assert ready["available_until"] == "2026-11-30T09:03:00Z"
    emails = _export_mail(client)
    assert len(emails) == 1 and "before Monday 30 November 2026, 09:03 UTC" in repr(emails[0])

    archive = _download(ready["url"])
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert {"manifest.json", "profile.json", "plan.json", "ledger.json", "bookings.json", "rooms.json",
            f"rooms/{room_id}/messages.json", "journal.json", "moods.json", "goals.json", "homework.json",
            "access_log.json"} <= names
    manifest = _member(archive, "manifest.json")
    assert manifest["schema_version"] == 1 and manifest["export_id"] == export_id
    assert {f["name"] for f in manifest["files"]} == names - {"manifest.json"}
    messages = _member(archive, f"rooms/{room_id}/messages.json")
    assert [m.get("text") for m in messages if m["kind"] == "text"] == ["I slept badly all week",
                                                                        "Thanks for telling me"]
    spoken = next(m for m in messages if m.get("talkcast"))
    assert spoken["script"] == "Lights low, phone away, four slow breaths." and spoken["title"] == "Wind-down"
    voice_file = next(m for m in messages if m["id"] == voice["id"])["media_file"]
    assert voice_file == f"rooms/{room_id}/media/{voice['media_id']}.mp3"
    assert archive.read(voice_file) == AUDIO
    assert f"rooms/{room_id}/media/{talkcast['media_id']}.mp3" in names
    assert [e["text"] for e in _member(archive, "journal.json")] == ["Private: I miss my dad"]
    moods = _member(archive, "moods.json")
    assert moods["items"][0]["note"] == "heavy legs" and moods["weekly"][0]["count"] == 1
    assert [g["title"] for g in _member(archive, "goals.json")] == ["Bed by eleven"]
    assert [h["instructions"] for h in _member(archive, "homework.json")] == ["Note bedtimes"]
    assert [(a["reader_id"], a["what"]) for a in _member(archive, "access_log.json")] == [(provider.id, "messages")]
    profile = _member(archive, "profile.json")
    assert profile["id"] == client.id and profile["email"] == client.email and profile["settings"] == {
        "share_moods": False}
    assert _member(archive, "plan.json")["plan"]["kind"] == "subscription"

    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    head = s3.head_object(Bucket=stack["bucket"], Key=f"exports/{client.id}/{export_id}.zip")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == stack["kms_key_id"]


def test_one_export_at_a_time(api, world, stack):
    client = world.client()
    first = api.post("/clients/me/exports", client)
    second = api.post("/clients/me/exports", client)
    assert first.status == 202 and second.status == 409 and second.code == "already_active"
    assert api.post("/clients/me/exports", world.client()).status == 202  # another client's is theirs
    drain_exports(stack)
    third = api.post("/clients/me/exports", client)  # once ready, another may be asked for
    assert third.status == 202 and third.json["id"] != first.json["id"]


def test_an_export_stuck_preparing_for_a_day_no_longer_blocks(api, world, clock):
    client = world.client()
    stuck = api.post("/clients/me/exports", client).json
    clock.advance(hours=23, minutes=59)
    assert api.post("/clients/me/exports", client).code == "already_active"
    clock.advance(minutes=1)
    fresh = api.post("/clients/me/exports", client)
    assert fresh.status == 202 and fresh.json["id"] != stuck["id"]


def test_after_seven_days_the_export_is_gone_every_version(api, world, stack, clock, run_sweep):
    client = world.client()
    export_id, ready = _export(api, client, stack)
    key = f"exports/{client.id}/{export_id}.zip"
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    # a second version of the same key, as a retried build could leave
    s3.put_object(Bucket=stack["bucket"], Key=key, Body=b"older", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=stack["kms_key_id"])
    assert len(s3.list_object_versions(Bucket=stack["bucket"], Prefix=key)["Versions"]) == 2

    clock.at = START + timedelta(days=7) - timedelta(seconds=1)
    assert api.get(f"/clients/me/exports/{export_id}", client).status == 200
    assert run_sweep("discharges", clock.at)["exports_deleted"] == 0
    clock.at = START + timedelta(days=7)
    gone = api.get(f"/clients/me/exports/{export_id}", client)  # by the clock, before any sweep
    assert gone.status == 410 and gone.code == "export_expired"
    assert run_sweep("discharges", clock.at + timedelta(hours=17))["exports_deleted"] == 1
    assert run_sweep("discharges", clock.at + timedelta(days=1))["exports_deleted"] == 0
    listed = s3.list_object_versions(Bucket=stack["bucket"], Prefix=key)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    assert api.get(f"/clients/me/exports/{export_id}", client).code == "export_expired"


def test_exports_are_the_callers_own(api, world, stack):
    client, other = world.client(), world.client()
    export_id, _ = _export(api, client, stack)
    assert api.get(f"/clients/me/exports/{export_id}", other).status == 404
    assert api.get("/clients/me/exports/ex_unknown", client).status == 404
    assert api.get("/clients/me/exports/active", client).status == 404
    assert api.get(f"/clients/me/exports/{export_id}", world.ops).status == 403
    assert api.post("/clients/me/exports", world.ops).status == 403
    assert api.post("/clients/me/exports", world.provider()).status == 403


def test_a_failing_build_leaves_nothing_and_is_retried_then_dead_lettered(api, world, stack):
    client = world.client()
    export_id = api.post("/clients/me/exports", client).json["id"]

    def broken(ctx):
        raise RuntimeError("a section failed")

    export_sections.register("broken", broken)
    try:
        for _ in range(3):
            assert drain_exports(stack, retry_seconds=0)["failed"] == 1
        assert drain_exports(stack, retry_seconds=0) == {"handled": 0, "failed": 0}  # moved to the DLQ
    finally:
        export_sections.unregister("broken")
    assert api.get(f"/clients/me/exports/{export_id}", client).json["status"] == "preparing"
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    assert s3.list_objects_v2(Bucket=stack["bucket"], Prefix=f"exports/{client.id}/").get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=stack["bucket"]).get("Uploads", []) == []
    sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    dead = sqs.receive_message(QueueUrl=stack["queues"]["exports-dlq"]["url"]).get("Messages", [])
    assert [json.loads(m["Body"]) for m in dead] == [{"client_id": client.id, "export_id": export_id}]


def test_a_duplicate_delivery_builds_once(api, world, stack):
    client = world.client()
    export_id = api.post("/clients/me/exports", client).json["id"]
    sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    sqs.send_message(QueueUrl=stack["queues"]["exports"]["url"],
                     MessageBody=json.dumps({"client_id": client.id, "export_id": export_id}))
    assert drain_exports(stack)["handled"] == 2
    assert len(_export_mail(client)) == 1
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    versions = s3.list_object_versions(Bucket=stack["bucket"], Prefix=f"exports/{client.id}/")["Versions"]
    assert len(versions) == 1


def test_registered_sections_are_written_and_listed(api, world, stack):
    client = world.client()

    def later_section(ctx):  # an area added later, registering its own file
        ctx.json("later/things.json", [{"id": "t_1", "client_id": ctx.client_id}], "Things of a later area")

    export_sections.register("later_area", later_section)
    try:
        _, ready = _export(api, client, stack)
    finally:
        export_sections.unregister("later_area")  # never another test's (or bootstrap's) section
    archive = _download(ready["url"])
    assert _member(archive, "later/things.json") == [{"id": "t_1", "client_id": client.id}]
    manifest = _member(archive, "manifest.json")
    assert "later_area" in manifest["sections"]
    assert {"name": "later/things.json", "description": "Things of a later area", "items": 1} in manifest["files"]


def test_an_unregistered_client_cannot_export(api, cognito):
    assert api.post("/clients/me/exports", cognito.sign_up_client()).status == 404


def test_the_export_is_built_by_the_exports_function_from_an_sqs_event(chalice_client, api, world, stack):
    """The function as Lambda calls it: the sample SQS event of events/exports.json, with the
    queued message's body, through chalice's test client."""
    from pathlib import Path

    client = world.client()
    export_id = api.post("/clients/me/exports", client).json["id"]
    sqs = boto3.client("sqs", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    message = sqs.receive_message(QueueUrl=stack["queues"]["exports"]["url"])["Messages"][0]
    assert json.loads(message["Body"]) == {"client_id": client.id, "export_id": export_id}  # ids only
    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "exports.json").read_text())
    event["Records"][0]["body"] = message["Body"]
    chalice_client.lambda_.invoke("exports", event)
    assert api.get(f"/clients/me/exports/{export_id}", client).json["status"] == "ready"


@pytest.mark.parametrize("export_id", ["", "x" * 300])
def test_odd_export_ids_are_404(api, world, export_id):
    client = world.client()
    assert api.get(f"/clients/me/exports/{export_id or 'ex_'}", client).status == 404


def test_the_export_holds_the_clinical_record_and_the_session_requests(api, world, stack, clock):
    """Sections other areas registered (bootstrap): questionnaires with answers, measures, the
    records the client may read, and their session requests with notes."""
    from datetime import timedelta

    from tests.functional.booking_world import WED_10_NY, scene
    from tests.functional.clinical_world import body as answers, completed
    from tests.functional.pathways_world import ask

    sc = scene(world, api, plan={"live_credits": 4})
    ask(api, sc.client, sc.provider.id, note="Mornings suit me best")
    done = completed(api, clock, sc, questionnaire=answers(phq9=12, gad7=9))
    assert api.put(f"/bookings/{done['id']}/record", sc.provider, {"text": "Worked on sleep routines."}).status == 201
    clock.at = WED_10_NY + timedelta(minutes=45, hours=72)  # the record is visible to the client now
    _, ready = _export(api, sc.client, stack)
    archive = _download(ready["url"])
    (questionnaire,) = _member(archive, "questionnaires.json")
    assert questionnaire["booking_id"] == done["id"] and questionnaire["phq9"]["score"] == 12
    assert len(questionnaire["answers"]["phq9"]) == 9
    assert [m["phq9_score"] for m in _member(archive, "measures.json")["items"]] == [12]
    (record,) = _member(archive, "records.json")
    assert [e["text"] for e in record["entries"]] == ["Worked on sleep routines."]
    (request,) = _member(archive, "requests.json")
    assert request["note"] == "Mornings suit me best" and request["provider_id"] == sc.provider.id
    assert {"requests", "clinical_record"} <= set(_member(archive, "manifest.json")["sections"])
