"""Talkcasts (SPEC §2 Between sessions): a provider's script spoken by Amazon Polly (moto's
SynthesizeSpeech), stored by Haven under SSE-KMS, posted as an audio message with
`talkcast: true`; a Polly failure is 502 `speech_unavailable` with nothing half-posted."""
import urllib.request

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.between_sessions import TALKCAST_VOICES

SCRIPT = ("This week, when the worry about your exam comes back, notice it, name it, "
          "and breathe out slowly four times.")


def _talkcast(api, provider, room_id, status=201, **body):
    reply = api.post(f"/rooms/{room_id}/talkcasts", provider, {"title": "Breathing with worry", "script": SCRIPT,
                                                               **body})
    assert reply.status == status, reply.json
    return reply.json


def test_a_talkcast_is_posted_as_an_audio_message_both_members_can_play(api, world, stack):
    client, provider, room_id = world.pair()
    message = _talkcast(api, provider, room_id, voice="matthew")
    assert message["kind"] == "audio" and message["talkcast"] is True and message["sender_id"] == provider.id
    assert message["title"] == "Breathing with worry" and message["voice"] == "Matthew"
    assert message["media_id"] and message["media_url"]
    listed = api.get(f"/rooms/{room_id}/messages", client).json["items"]
    assert [(m["id"], m["kind"], m.get("talkcast")) for m in listed] == [(message["id"], "audio", True)]
    with urllib.request.urlopen(listed[0]["media_url"], timeout=10) as response:
        audio = response.read()
    assert audio  # moto's Polly speaks a few dummy bytes
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    head = s3.head_object(Bucket=stack["bucket"], Key=f"rooms/{room_id}/{message['media_id']}")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == stack["kms_key_id"]
    assert head["ContentType"] == "audio/mpeg"


def test_the_default_voice_is_joanna_and_unknown_voices_are_refused(api, world):
    _, provider, room_id = world.pair()
    assert _talkcast(api, provider, room_id)["voice"] == "Joanna"
    refused = api.post(f"/rooms/{room_id}/talkcasts", provider, {"title": "t", "script": "s", "voice": "Hal"})
    assert refused.status == 400 and refused.code == "validation_error"


def test_every_documented_voice_synthesizes(api, world):
    _, provider, room_id = world.pair()
    for voice in TALKCAST_VOICES:
        assert _talkcast(api, provider, room_id, voice=voice, script="Hello.")["voice"] == voice


@pytest.mark.parametrize("body", [
    {"title": "t", "script": ""}, {"title": "t", "script": "x" * 3_001}, {"title": "", "script": "s"},
    {"script": "s"}, {"title": "t"}, {"title": "t", "script": "s", "engine": "standard"},
])
def test_bad_talkcasts_are_400_and_nothing_is_posted(api, world, body):
    client, provider, room_id = world.pair()
    reply = api.post(f"/rooms/{room_id}/talkcasts", provider, body)
    assert reply.status == 400 and reply.code == "validation_error", reply.json
    assert api.get(f"/rooms/{room_id}/messages", client).json["items"] == []


def test_a_script_of_3000_code_points_is_accepted(api, world):
    _, provider, room_id = world.pair()
    assert _talkcast(api, provider, room_id, script="é" * 3_000)["talkcast"] is True


def test_only_the_rooms_provider_posts_talkcasts(api, world):
    client, provider, room_id = world.pair()
    assert api.post(f"/rooms/{room_id}/talkcasts", client, {"title": "t", "script": "s"}).status == 403
    assert api.post(f"/rooms/{room_id}/talkcasts", world.ops, {"title": "t", "script": "s"}).status == 403
    assert api.post(f"/rooms/{room_id}/talkcasts", world.provider(), {"title": "t", "script": "s"}).status == 404


def _bucket_keys(stack, prefix):
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    return [o["Key"] for o in s3.list_objects_v2(Bucket=stack["bucket"], Prefix=prefix).get("Contents", [])]


def _no_half_post(api, client, room_id, stack):
    from chalicelib.store.models import RoomModel

    assert api.get(f"/rooms/{room_id}/messages", client).json["items"] == []
    assert _bucket_keys(stack, f"rooms/{room_id}/") == []
    assert int(RoomModel.get(room_id).seq) == 0


def test_polly_unreachable_is_502_speech_unavailable_and_nothing_is_posted(api, world, stack):
    from botocore.config import Config

    from infra.provision import free_port

    client, provider, room_id = world.pair()
    down = boto3.client("polly", region_name=stack["region"], endpoint_url=f"http://127.0.0.1:{free_port()}",
                        config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    wiring.override("client:polly", down)
    reply = api.post(f"/rooms/{room_id}/talkcasts", provider, {"title": "t", "script": SCRIPT})
    assert reply.status == 502 and reply.code == "speech_unavailable", reply.json
    _no_half_post(api, client, room_id, stack)


def test_polly_refusing_is_502_speech_unavailable_and_nothing_is_posted(api, world, stack):
    from botocore.stub import Stubber

    client, provider, room_id = world.pair()
    polly = boto3.client("polly", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    stubber = Stubber(polly)
    stubber.add_client_error("synthesize_speech", service_error_code="ServiceFailureException", http_status_code=500)
    stubber.activate()
    wiring.override("client:polly", polly)
    reply = api.post(f"/rooms/{room_id}/talkcasts", provider, {"title": "t", "script": SCRIPT})
    assert reply.status == 502 and reply.code == "speech_unavailable", reply.json
    _no_half_post(api, client, room_id, stack)


def test_a_failure_after_the_audio_is_stored_removes_it(api, world, stack):
    """The message write failing (here: the room's key cannot be used) leaves no audio behind."""
    from chalicelib.store.models import RoomModel

    client, provider, room_id = world.pair()
    RoomModel(room_id).update(actions=[RoomModel.key_blob.set(b"not a kms ciphertext")])
    wiring.reset()
    reply = api.post(f"/rooms/{room_id}/talkcasts", provider, {"title": "t", "script": SCRIPT})
    assert reply.status == 500
    assert _bucket_keys(stack, f"rooms/{room_id}/") == []
    assert int(RoomModel.get(room_id).seq) == 0


def test_the_script_and_title_are_encrypted_at_rest(api, world, stack):
    client, provider, room_id = world.pair()
    _talkcast(api, provider, room_id, title="After the panic attack")
    ddb = boto3.client("dynamodb", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    dump = b"".join(repr(ddb.scan(TableName=t)["Items"]).encode() for t in stack["tables"].values())
    assert b"worry about your exam" not in dump and b"After the panic attack" not in dump


def test_a_talkcast_settles_the_reply_promise_like_any_provider_message(api, world):
    client, provider, room_id = world.pair()
    world.plan(client)
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "hi"})
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] is not None
    _talkcast(api, provider, room_id)
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] is None
