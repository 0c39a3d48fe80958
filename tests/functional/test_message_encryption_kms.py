"""SPEC §2: data keys are cached per room for a bounded time "so a page of 50 messages is not 50
KMS calls". KMS calls are counted through the KMS client injected into the cipher.

Each room has one data key (KMS-wrapped on the room item), so a cold read of a page costs one KMS
Decrypt whether its messages were written in one burst or hours apart by other containers.
"""
import boto3

from chalicelib import wiring
from chalicelib.adapters.crypto import MessageCipher
from chalicelib.store.rooms import RoomKeys

PAGE = 50


def _cold_container(clock, kms_calls: list | None = None) -> None:
    """Forget every adapter (a new Lambda container); optionally count its KMS calls."""
    wiring.reset()
    wiring.override("clock", clock)
    if kms_calls is not None:
        s = wiring.settings()
        kms = boto3.client("kms", region_name=s.region, endpoint_url=s.endpoint_url)
        kms.meta.events.register("after-call.kms", lambda model, **_: kms_calls.append(model.name))
        wiring.override("cipher", MessageCipher(kms, s.kms_key_id, RoomKeys(), max_age=s.data_key_cache_seconds,
                                                capacity=s.data_key_cache_rooms))


def _post(api, user, room_id, i):
    reply = api.post(f"/rooms/{room_id}/messages", user, {"kind": "text", "text": f"message {i}"})
    assert reply.status == 201, reply.json


def _cold_page_kms_calls(api, clock, user, room_id) -> list:
    calls: list = []
    _cold_container(clock, calls)
    page = api.get(f"/rooms/{room_id}/messages?limit={PAGE}", user)
    assert page.status == 200 and len(page.json["items"]) == PAGE
    assert page.json["items"][0]["text"] == f"message {PAGE - 1}"
    return calls


def test_a_cold_page_of_messages_written_together_costs_one_kms_call(api, world, clock):
    client, provider, room_id = world.pair()
    for i in range(PAGE):
        _post(api, (client, provider)[i % 2], room_id, i)
    assert _cold_page_kms_calls(api, clock, client, room_id) == ["Decrypt"]


def test_a_cold_page_of_messages_written_apart_costs_one_kms_call(api, world, clock):
    client, provider, room_id = world.pair()
    for i in range(PAGE):
        _cold_container(clock)  # each message written by another container, as hours apart
        clock.advance(minutes=40)
        _post(api, (client, provider)[i % 2], room_id, i)
    assert _cold_page_kms_calls(api, clock, client, room_id) == ["Decrypt"]


def test_the_room_key_is_made_with_the_room_and_a_warm_container_makes_no_kms_call(api, world, clock):
    calls: list = []
    _cold_container(clock, calls)
    client, provider, room_id = world.pair()
    assert calls == ["GenerateDataKey"] and RoomKeys().get(room_id)
    for i in range(5):
        _post(api, client, room_id, i)
    api.get(f"/rooms/{room_id}/messages", provider)
    assert calls == ["GenerateDataKey"]


def test_a_room_without_a_key_gets_one_on_its_first_message(api, world, clock):
    """Rooms made before keys came with rooms get theirs once, on first use."""
    from chalicelib.store.models import RoomModel

    client, provider, room_id = world.pair()
    RoomModel(room_id).update(actions=[RoomModel.key_blob.remove()])
    calls: list = []
    _cold_container(clock, calls)
    for i in range(3):
        _post(api, client, room_id, i)
    assert calls == ["GenerateDataKey"] and RoomKeys().get(room_id)
    assert [m["text"] for m in api.get(f"/rooms/{room_id}/messages", provider).json["items"]] == \
        ["message 2", "message 1", "message 0"]


def test_the_room_key_is_bound_to_its_room(api, world, stack):
    """A room's wrapped key cannot be unwrapped under another room's encryption context."""
    import pytest
    from botocore.exceptions import ClientError

    client, provider, room_id = world.pair()
    _post(api, client, room_id, 0)
    blob = RoomKeys().get(room_id)
    kms = boto3.client("kms", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "room-key", "room_id": "room_other"})


def test_cached_room_keys_expire_after_the_bounded_time(api, world, stack):
    client, provider, room_id = world.pair()
    _post(api, client, room_id, 0)
    s = wiring.settings()
    calls: list = []
    kms = boto3.client("kms", region_name=s.region, endpoint_url=s.endpoint_url)
    kms.meta.events.register("after-call.kms", lambda model, **_: calls.append(model.name))
    now = [1000.0]
    cipher = MessageCipher(kms, s.kms_key_id, RoomKeys(), max_age=300, clock=lambda: now[0])
    body = cipher.encrypt(room_id, "x")
    assert cipher.decrypt(room_id, body) == "x" and calls == ["Decrypt"]
    now[0] += 299
    cipher.decrypt(room_id, body)
    assert calls == ["Decrypt"]
    now[0] += 2
    cipher.decrypt(room_id, body)
    assert calls == ["Decrypt", "Decrypt"]
