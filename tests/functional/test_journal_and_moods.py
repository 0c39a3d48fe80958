"""Between sessions: the journal and mood check-ins (SPEC §2 Between sessions, §3).

Private by default: nothing reaches the provider unless the client shares it, every provider
read is in the access log, ops have no way in (403), and the words are encrypted at rest.
"""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.store import access_log


def _journal(api, user, text, shared=None, status=201):
    body = {"text": text} if shared is None else {"text": text, "shared": shared}
    reply = api.post("/clients/me/journal", user, body)
    assert reply.status == status, reply.json
    return reply.json


def test_a_client_writes_and_lists_their_journal_newest_first(api, world, clock):
    client = world.client()
    first = _journal(api, client, "Slept badly again")
    clock.advance(minutes=5)
    second = _journal(api, client, "Walked by the river", shared=True)
    assert first["shared"] is False and second["shared"] is True
    assert set(first) >= {"id", "text", "shared", "created_at"} and first["created_at"].endswith("Z")
    listed = api.get("/clients/me/journal", client)
    assert listed.status == 200 and listed.json["next"] is None
    assert [e["text"] for e in listed.json["items"]] == ["Walked by the river", "Slept badly again"]


def test_the_journal_pages_with_a_cursor_of_its_own(api, world, clock):
    client, other = world.client(), world.client()
    for i in range(5):
        clock.advance(seconds=1)
        _journal(api, client, f"entry {i}")
    texts, cursor = [], None
    while True:
        page = api.get("/clients/me/journal?limit=2" + (f"&next={cursor}" if cursor else ""), client).json
        texts += [e["text"] for e in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert texts == [f"entry {i}" for i in reversed(range(5))]
    cursor = api.get("/clients/me/journal?limit=2", client).json["next"]
    assert api.get(f"/clients/me/journal?next={cursor}", other).code == "invalid_cursor"


@pytest.mark.parametrize("body", [
    {"text": ""}, {"text": "   "}, {"text": "x" * 20_001}, {"text": 5}, {}, {"text": "hi", "shared": "yes"},
    {"text": "hi", "mood": 3},
])
def test_bad_journal_entries_are_400_and_nothing_is_written(api, world, body):
    client = world.client()
    reply = api.post("/clients/me/journal", client, body)
    assert reply.status == 400 and reply.code == "validation_error"
    assert api.get("/clients/me/journal", client).json["items"] == []


def test_journal_text_counts_code_points_up_to_20000(api, world):
    client = world.client()
    assert _journal(api, client, "🙂" * 20_000)["text"] == "🙂" * 20_000


def test_the_provider_sees_only_shared_entries_and_every_read_is_access_logged(api, world, clock):
    client, provider, room_id = world.pair()
    _journal(api, client, "private thoughts about my mother")
    clock.advance(minutes=1)
    shared = _journal(api, client, "I want to talk about work on Thursday", shared=True)
    assert access_log.for_client(client.id) == []
    clock.advance(minutes=1)
    seen = api.get(f"/rooms/{room_id}/journal", provider)
    assert seen.status == 200
    assert seen.json["items"] == [shared] and seen.json["next"] is None
    entries = access_log.for_client(client.id)
    assert [(e.reader_id, e.reader_role, e.room_id, e.resource) for e in entries] == \
        [(provider.id, "provider", room_id, "journal")]


def test_outsiders_get_404_and_ops_and_clients_403_on_the_providers_journal_route(api, world):
    client, provider, room_id = world.pair()
    _journal(api, client, "shared words", shared=True)
    assert api.get(f"/rooms/{room_id}/journal", world.provider()).status == 404
    assert api.get(f"/rooms/{room_id}/journal", client).status == 403
    assert api.get(f"/rooms/{room_id}/journal", world.ops).status == 403
    assert api.get("/clients/me/journal", world.ops).status == 403
    assert api.get("/clients/me/journal", provider).status == 403
    assert access_log.for_client(client.id) == []


def test_journal_routes_need_a_registered_client(api, cognito):
    stranger = cognito.sign_up_client()
    assert api.post("/clients/me/journal", stranger, {"text": "hello"}).status == 404
    assert api.get("/clients/me/journal", stranger).status == 404


# --- moods ------------------------------------------------------------------------------------------

def _mood(api, user, score, status=201, **extra):
    reply = api.post("/clients/me/moods", user, {"score": score, **extra})
    assert reply.status == status, reply.json
    return reply.json


def test_a_mood_check_in_keeps_score_emotions_and_note(api, world):
    client = world.client()
    mood = _mood(api, client, 7, emotions=["calm", "tired"], note="long day, good talk with a friend")
    assert mood["score"] == 7 and mood["emotions"] == ["calm", "tired"]
    assert mood["note"] == "long day, good talk with a friend"
    assert mood["date"] == "2026-11-23" and mood["created_at"] == "2026-11-23T09:00:00Z"
    listed = api.get("/clients/me/moods", client).json
    assert listed["items"] == [mood]
    assert listed["weekly"] == [{"week": "2026-11-23", "mean": 7.0, "count": 1}]


@pytest.mark.parametrize("body", [
    {"score": 0}, {"score": 11}, {"score": 5.5}, {"score": True}, {"score": "7"}, {},
    {"score": 5, "emotions": ["ecstatic"]}, {"score": 5, "emotions": ["sad", "sad"]},
    {"score": 5, "emotions": "sad"}, {"score": 5, "note": ""}, {"score": 5, "note": "x" * 2_001},
    {"score": 5, "mood": "fine"},
])
def test_bad_check_ins_are_400(api, world, body):
    client = world.client()
    reply = api.post("/clients/me/moods", client, body)
    assert reply.status == 400 and reply.code == "validation_error", reply.json


def test_weeks_start_on_the_clients_local_monday(api, world, clock):
    """Auckland is UTC+13 in November: Monday 00:30 there is still Sunday in UTC."""
    client = world.client(timezone="Pacific/Auckland", region="GB")
    clock.at = datetime(2026, 11, 22, 10, 30, tzinfo=timezone.utc)  # Sun 23:30 in Auckland
    _mood(api, client, 4)
    clock.at = datetime(2026, 11, 22, 11, 30, tzinfo=timezone.utc)  # Mon 00:30 in Auckland
    _mood(api, client, 8)
    clock.advance(hours=1)
    _mood(api, client, 5)
    listed = api.get("/clients/me/moods?from=2026-11-16&to=2026-11-30", client).json
    assert listed["weekly"] == [{"week": "2026-11-16", "mean": 4.0, "count": 1},
                                {"week": "2026-11-23", "mean": 6.5, "count": 2}]
    assert [m["date"] for m in listed["items"]] == ["2026-11-23", "2026-11-23", "2026-11-22"]
    assert listed["timezone"] == "Pacific/Auckland"


def test_the_list_takes_local_dates_from_inclusive_to_exclusive(api, world, clock):
    client = world.client(timezone="America/New_York")
    clock.at = datetime(2026, 11, 24, 4, 59, tzinfo=timezone.utc)  # Mon 23:59 in New York
    _mood(api, client, 2)
    clock.at = datetime(2026, 11, 24, 5, 0, tzinfo=timezone.utc)  # Tue 00:00 in New York
    _mood(api, client, 9)
    only_monday = api.get("/clients/me/moods?from=2026-11-23&to=2026-11-24", client).json
    assert [m["score"] for m in only_monday["items"]] == [2]
    only_tuesday = api.get("/clients/me/moods?from=2026-11-24&to=2026-11-25", client).json
    assert [m["score"] for m in only_tuesday["items"]] == [9]
    both = api.get("/clients/me/moods?from=2026-11-23&to=2026-11-25", client).json
    assert [m["score"] for m in both["items"]] == [9, 2]
    assert both["weekly"] == [{"week": "2026-11-23", "mean": 5.5, "count": 2}]


def test_weekly_means_round_half_up_to_one_decimal(api, world, clock):
    client = world.client()
    for score in (2, 2, 2, 3):  # 2.25 → 2.3
        clock.advance(minutes=1)
        _mood(api, client, score)
    assert api.get("/clients/me/moods", client).json["weekly"] == [{"week": "2026-11-23", "mean": 2.3, "count": 4}]


@pytest.mark.parametrize("query,code", [
    ("from=2026-11-30&to=2026-11-23", "validation_error"),
    ("from=2026-11-23&to=2026-11-23", "validation_error"),
    ("from=23/11/2026&to=2026-11-30", "validation_error"),
    ("from=2026-02-30&to=2026-03-02", "validation_error"),
    ("from=2025-01-01&to=2026-11-30", "range_too_large"),
    ("limit=0", "validation_error"),
])
def test_bad_mood_windows_are_400(api, world, query, code):
    client = world.client()
    reply = api.get(f"/clients/me/moods?{query}", client)
    assert reply.status == 400 and reply.code == code, reply.json


def test_mood_pages_keep_the_weekly_summary_of_the_whole_window(api, world, clock):
    client = world.client()
    for score in range(1, 6):
        clock.advance(minutes=1)
        _mood(api, client, score)
    first = api.get("/clients/me/moods?limit=2", client).json
    assert [m["score"] for m in first["items"]] == [5, 4] and first["next"]
    second = api.get(f"/clients/me/moods?limit=2&next={first['next']}", client).json
    assert [m["score"] for m in second["items"]] == [3, 2]
    assert first["weekly"] == second["weekly"] == [{"week": "2026-11-23", "mean": 3.0, "count": 5}]
    other_window = api.get(f"/clients/me/moods?from=2026-11-01&limit=2&next={first['next']}", client)
    assert other_window.code == "invalid_cursor"


def test_the_provider_sees_moods_only_while_the_client_shares_them(api, world, clock):
    client, provider, room_id = world.pair()
    _mood(api, client, 6, emotions=["hopeful"], note="first good week")
    refused = api.get(f"/rooms/{room_id}/moods", provider)
    assert refused.status == 403 and refused.code == "forbidden"
    assert access_log.for_client(client.id) == []

    turned_on = api.call("PATCH", "/clients/me/settings", client, {"share_moods": True})
    assert turned_on.status == 200 and turned_on.json == {"share_moods": True}
    clock.advance(minutes=1)
    seen = api.get(f"/rooms/{room_id}/moods", provider)
    assert seen.status == 200
    assert [(m["score"], m["note"]) for m in seen.json["items"]] == [(6, "first good week")]
    assert seen.json["weekly"] == [{"week": "2026-11-23", "mean": 6.0, "count": 1}]
    assert [(e.reader_id, e.resource, e.room_id) for e in access_log.for_client(client.id)] == \
        [(provider.id, "moods", room_id)]

    assert api.call("PATCH", "/clients/me/settings", client, {"share_moods": False}).json == {"share_moods": False}
    assert api.get(f"/rooms/{room_id}/moods", provider).status == 403
    assert len(access_log.for_client(client.id)) == 1


def test_moods_routes_refuse_other_roles_and_outsiders(api, world):
    client, provider, room_id = world.pair()
    api.call("PATCH", "/clients/me/settings", client, {"share_moods": True})
    assert api.get(f"/rooms/{room_id}/moods", world.provider()).status == 404
    assert api.get(f"/rooms/{room_id}/moods", client).status == 403
    assert api.get(f"/rooms/{room_id}/moods", world.ops).status == 403
    assert api.get("/clients/me/moods", world.ops).status == 403
    assert api.post("/clients/me/moods", provider, {"score": 5}).status == 403
    assert api.call("PATCH", "/clients/me/settings", world.ops, {"share_moods": True}).status == 403


@pytest.mark.parametrize("body", [{}, {"share_moods": "yes"}, {"share_moods": None}, {"share_moods": True, "x": 1}])
def test_bad_settings_are_400(api, world, body):
    client = world.client()
    reply = api.call("PATCH", "/clients/me/settings", client, body)
    assert reply.status == 400 and reply.code == "validation_error"


def test_journal_text_and_mood_notes_are_not_stored_in_plaintext(api, world, stack, clock):
    import boto3

    client, provider, room_id = world.pair()
    _journal(api, client, "my brother does not know about the debt", shared=True)
    clock.advance(seconds=1)
    _journal(api, client, "private: thinking of leaving my job")
    _mood(api, client, 3, emotions=["anxious"], note="panic on the train this morning")
    ddb = boto3.client("dynamodb", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    dump = b""
    for table in stack["tables"].values():
        dump += repr(ddb.scan(TableName=table)["Items"]).encode()
    for secret in (b"brother", b"debt", b"leaving my job", b"panic on the train"):
        assert secret not in dump, secret
    raw = ddb.query(TableName=stack["tables"]["between"], KeyConditionExpression="client_id = :c",
                    ExpressionAttributeValues={":c": {"S": client.id}})["Items"]
    assert {item["kind"]["S"] for item in raw} == {"key", "journal", "mood"}
    assert all("B" in item["body"] for item in raw if item["kind"]["S"] != "key")
    # and they read back whole
    assert [e["text"] for e in api.get("/clients/me/journal", client).json["items"]] == \
        ["private: thinking of leaving my job", "my brother does not know about the debt"]


def test_the_clients_key_is_their_own_and_bound_to_them(api, world, stack):
    """Journal and notes are sealed with a data key made for this client (KMS context names
    them), not with a room's key: they belong to no room and outlive a change of provider."""
    import boto3
    from botocore.exceptions import ClientError

    from chalicelib.store.between import UserKeys

    client = world.client()
    _journal(api, client, "hello")
    blob = UserKeys().get(client.id)
    kms = boto3.client("kms", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "user-key", "user_id": client.id})
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "room-key", "room_id": client.id})
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "user-key", "user_id": "someone-else"})


def test_a_discharged_client_keeps_their_journal_and_moods(api, world):
    from chalicelib.store.models import UserModel

    client = world.client()
    UserModel(client.id).update(actions=[UserModel.status.set("discharged")], add_version_condition=False)
    _journal(api, client, "still writing")
    _mood(api, client, 5)
    assert len(api.get("/clients/me/journal", client).json["items"]) == 1


def test_the_default_mood_window_is_the_last_28_local_days(api, world, clock):
    client = world.client()
    _mood(api, client, 4)
    clock.advance(days=27)
    _mood(api, client, 6)
    listed = api.get("/clients/me/moods", client).json
    assert listed["from"] == "2026-11-23" and listed["to"] == "2026-12-21"
    assert [m["score"] for m in listed["items"]] == [6, 4]
    clock.advance(days=1)
    assert [m["score"] for m in api.get("/clients/me/moods", client).json["items"]] == [6]
    assert timedelta(days=28)  # the window: to = tomorrow, from = to - 28 days


def test_answers_kept_for_idempotent_retries_are_sealed_too(api, world, stack):
    """SPEC §2: free text is encrypted wherever Haven writes it, idempotency records included."""
    import boto3

    client = world.client()
    key = {"Idempotency-Key": "journal-1"}
    first = api.post("/clients/me/journal", client, {"text": "zebra crossing at dawn"}, headers=key)
    retry = api.post("/clients/me/journal", client, {"text": "zebra crossing at dawn"}, headers=key)
    assert first.status == retry.status == 201 and retry.json == first.json
    assert len(api.get("/clients/me/journal", client).json["items"]) == 1
    changed = api.post("/clients/me/journal", client, {"text": "something else"}, headers=key)
    assert changed.status == 409 and changed.code == "idempotency_mismatch"
    ddb = boto3.client("dynamodb", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    records = repr(ddb.scan(TableName=stack["tables"]["idempotency"])["Items"])
    assert "zebra" not in records and "sealed" in records
