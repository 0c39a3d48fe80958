"""Rooms and text messaging (SPEC §2 Rooms and messaging, §3)."""
import pytest


def test_both_members_list_and_read_the_room(api, world):
    client, provider, room_id = world.pair()
    assert [r["id"] for r in api.get("/rooms", client).json["items"]] == [room_id]
    assert [r["id"] for r in api.get("/rooms", provider).json["items"]] == [room_id]
    room = api.get(f"/rooms/{room_id}", client).json
    assert room["id"] == room_id and room["client_id"] == client.id and room["provider_id"] == provider.id
    assert room["unread_count"] == 0 and room["messaging_session"] is None and room["reply_due_at"] is None
    assert "next_session" in room


def test_text_messages_page_newest_first_with_the_next_cursor(api, world, clock):
    client, provider, room_id = world.pair()
    for i in range(7):
        clock.advance(minutes=1)
        sender = client if i % 2 == 0 else provider
        reply = api.post(f"/rooms/{room_id}/messages", sender, {"kind": "text", "text": f"message {i}"})
        assert reply.status == 201 and reply.json["sender_id"] == sender.id
    texts, cursor = [], None
    while True:
        page = api.get(f"/rooms/{room_id}/messages?limit=3" + (f"&next={cursor}" if cursor else ""), client).json
        texts += [m["text"] for m in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert texts == [f"message {i}" for i in reversed(range(7))]
    first = api.get(f"/rooms/{room_id}/messages?limit=1", provider).json["items"][0]
    assert set(first) >= {"id", "kind", "text", "sender_id", "created_at"} and first["kind"] == "text"
    assert first["created_at"].endswith("Z")


def test_unread_counts_follow_the_read_marker(api, world):
    client, provider, room_id = world.pair()
    ids = [api.post(f"/rooms/{room_id}/messages", provider, {"kind": "text", "text": f"hi {i}"}).json["id"]
           for i in range(3)]
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "mine"})
    assert api.get(f"/rooms/{room_id}", client).json["unread_count"] == 3
    assert api.get(f"/rooms/{room_id}", provider).json["unread_count"] == 1
    reply = api.post(f"/rooms/{room_id}/read", client, {"message_id": ids[1]})
    assert reply.status == 200 and reply.json["unread_count"] == 1
    assert api.get(f"/rooms/{room_id}", client).json["unread_count"] == 1
    api.post(f"/rooms/{room_id}/read", client, {"message_id": ids[0]})  # going back changes nothing
    assert api.get(f"/rooms/{room_id}", client).json["unread_count"] == 1
    api.post(f"/rooms/{room_id}/read", client, {"message_id": ids[2]})
    assert api.get(f"/rooms/{room_id}", client).json["unread_count"] == 0
    assert api.post(f"/rooms/{room_id}/read", client, {"message_id": "msg_0000000099abcdef01"}).status == 404


@pytest.mark.parametrize("body", [
    {"kind": "text", "text": ""},
    {"kind": "text", "text": "x" * 20_001},
    {"kind": "text"},
    {"kind": "text", "text": 5},
    {"kind": "poem", "text": "hi"},
    {"kind": "text", "text": "hi", "extra": True},
])
def test_bad_messages_are_400_and_nothing_is_written(api, world, body):
    client, _, room_id = world.pair()
    reply = api.post(f"/rooms/{room_id}/messages", client, body)
    assert reply.status == 400 and reply.code == "validation_error"
    assert api.get(f"/rooms/{room_id}/messages", client).json["items"] == []


def test_the_longest_text_is_accepted_and_length_counts_code_points(api, world):
    client, _, room_id = world.pair()
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "x" * 20_000}).status == 201
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "🙂" * 20_000}).status == 201


@pytest.mark.parametrize("query", ["limit=0", "limit=1000", "limit=abc", "limit=-1"])
def test_out_of_range_limits_are_400(api, world, query):
    client, _, room_id = world.pair()
    assert api.get(f"/rooms/{room_id}/messages?{query}", client).code == "validation_error"


def test_tampered_and_foreign_cursors_are_refused(api, world):
    client, provider, room_id = world.pair()
    for i in range(3):
        api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": str(i)})
    cursor = api.get(f"/rooms/{room_id}/messages?limit=1", client).json["next"]
    body, mac = cursor.split(".")
    tampered = ("A" if body[0] != "A" else "B") + body[1:] + "." + mac
    assert api.get(f"/rooms/{room_id}/messages?next={tampered}", client).code == "invalid_cursor"
    # the same client's other room
    psychiatrist = world.provider(kind="psychiatrist")
    other_room = world.room(client, psychiatrist)
    assert api.get(f"/rooms/{other_room}/messages?next={cursor}", client).code == "invalid_cursor"


def test_outsiders_get_404_and_ops_get_403(api, world):
    client, provider, room_id = world.pair()
    stranger, other_provider = world.client(), world.provider()
    for who in (stranger, other_provider):
        assert api.get(f"/rooms/{room_id}", who).status == 404
        assert api.get(f"/rooms/{room_id}/messages", who).status == 404
        assert api.post(f"/rooms/{room_id}/messages", who, {"kind": "text", "text": "hi"}).status == 404
    assert api.get(f"/rooms/{room_id}/messages", world.ops).status == 403
    assert api.get("/rooms/room_doesnotexist", client).status == 404


def test_no_message_text_is_stored_in_the_clear(api, world, stack):
    import boto3

    client, _, room_id = world.pair()
    secret = "I have been feeling low since the spring"
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": secret})
    dynamodb = boto3.client("dynamodb", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    raw = dynamodb.query(TableName=stack["tables"]["messages"], KeyConditionExpression="room_id = :r",
                         ExpressionAttributeValues={":r": {"S": room_id}})["Items"]
    assert len(raw) == 1
    dump = repr(raw).encode()
    assert secret.encode() not in dump and b"feeling low" not in dump
    assert secret.encode() not in raw[0]["body"]["B"]
    assert api.get(f"/rooms/{room_id}/messages", client).json["items"][0]["text"] == secret


def test_a_providers_rooms_page_with_a_cursor_of_their_own(api, world):
    provider = world.provider()
    clients = [world.client() for _ in range(3)]
    rooms = {world.room(client, provider) for client in clients}
    first = api.get("/rooms?limit=2", provider).json
    assert len(first["items"]) == 2 and first["next"]
    second = api.get(f"/rooms?limit=2&next={first['next']}", provider).json
    assert {r["id"] for r in first["items"] + second["items"]} == rooms and second["next"] is None
    # another member cannot use this provider's cursor
    assert api.get(f"/rooms?next={first['next']}", clients[0]).code == "invalid_cursor"


def test_every_provider_read_of_messages_is_written_to_the_access_log(api, world, clock):
    from chalicelib.store import access_log

    client, provider, room_id = world.pair()
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "hello"})
    api.get(f"/rooms/{room_id}/messages", client)  # the client's own reads are not logged
    assert access_log.for_client(client.id) == []
    clock.advance(minutes=1)
    api.get(f"/rooms/{room_id}/messages", provider)
    clock.advance(minutes=1)
    api.get(f"/rooms/{room_id}/messages?limit=1", provider)
    entries = access_log.for_client(client.id)
    assert [(e.reader_id, e.reader_role, e.room_id, e.resource) for e in entries] == \
        [(provider.id, "provider", room_id, "messages")] * 2
    assert entries[0].at_id > entries[1].at_id  # newest first
