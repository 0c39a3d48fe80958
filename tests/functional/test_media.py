"""Voice and video messages (SPEC §2): presigned POST, the server-side HEAD check, playback URLs."""
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest
import requests

from chalicelib import wiring

AUDIO = b"ID3" + bytes(range(256)) * 40  # 10 KiB of "mp3"


def _slot(api, user, room_id, kind="audio", content_type="audio/mpeg", size=len(AUDIO)):
    reply = api.post(f"/rooms/{room_id}/media", user, {"kind": kind, "content_type": content_type,
                                                       "size_bytes": size})
    return reply


def _upload(slot, data, content_type):
    upload = slot["upload"]
    fields = dict(upload["fields"])
    fields["Content-Type"] = content_type  # what a misbehaving client might send anyway
    response = requests.post(upload["url"], data=fields, files={"file": ("voice", data, content_type)}, timeout=10)
    assert response.status_code in (200, 201, 204), response.text


def _assert_plays_this_object(url, stack, room_id, media_id, data):
    """A playback URL for exactly this object: the media bucket's key `rooms/<room>/<media id>`,
    valid for the configured time, and it downloads the uploaded bytes."""
    parsed = urlparse(url)
    path = unquote(parsed.path)
    assert path.endswith(f"/rooms/{room_id}/{media_id}"), url  # the accepted object, not the pending upload
    assert stack["bucket"] in f"{parsed.netloc}{path}", url  # path-style or virtual-hosted
    query = parse_qs(parsed.query)
    assert query["X-Amz-Expires"] == [str(wiring.settings().playback_url_seconds)], url
    downloaded = requests.get(url, timeout=10)
    assert downloaded.status_code == 200 and downloaded.content == data


def test_a_voice_message_round_trips_through_s3(api, world, stack):
    client, provider, room_id = world.pair()
    slot = _slot(api, client, room_id, content_type="audio/webm;codecs=opus").json
    assert slot["upload"]["fields"]["key"].startswith(f"pending/{room_id}/")
    assert slot["upload"]["fields"]["Content-Type"] == "audio/webm"
    _upload(slot, AUDIO, "audio/webm")
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 201, reply.json
    listed = api.get(f"/rooms/{room_id}/messages", provider).json["items"][0]
    assert listed["kind"] == "audio" and listed["sender_id"] == client.id
    _assert_plays_this_object(listed["media_url"], stack, room_id, slot["media_id"], AUDIO)
    again = api.get(f"/rooms/{room_id}/messages", provider).json["items"][0]["media_url"]
    _assert_plays_this_object(again, stack, room_id, slot["media_id"], AUDIO)  # a later listing plays it too
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    head = s3.head_object(Bucket=stack["bucket"], Key=f"rooms/{room_id}/{slot['media_id']}")
    assert head["ServerSideEncryption"] == "aws:kms"


def test_posting_before_the_upload_is_409_upload_missing(api, world):
    client, _, room_id = world.pair()
    slot = _slot(api, client, room_id).json
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 409 and reply.code == "upload_missing"


def test_an_oversized_upload_is_refused_and_deleted(api, world, stack):
    client, _, room_id = world.pair()
    slot = _slot(api, client, room_id, size=1000).json
    _upload(slot, AUDIO, "audio/mpeg")  # 10 KiB although 1000 bytes were declared; moto doesn't stop it
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 413 and reply.code == "too_large"
    s3 = boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    assert s3.list_objects_v2(Bucket=stack["bucket"], Prefix=f"pending/{room_id}/").get("KeyCount", 0) == 0
    assert api.get(f"/rooms/{room_id}/messages", client).json["items"] == []


def test_a_mistyped_upload_is_refused(api, world):
    client, _, room_id = world.pair()
    slot = _slot(api, client, room_id).json
    _upload(slot, b"<html>not audio</html>", "text/html")
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 400 and reply.code == "media_mismatch"


@pytest.mark.parametrize("body,status,code", [
    ({"kind": "audio", "content_type": "video/mp4", "size_bytes": 10}, 400, "media_mismatch"),
    ({"kind": "video", "content_type": "audio/mpeg", "size_bytes": 10}, 400, "media_mismatch"),
    ({"kind": "audio", "content_type": "audio/mpeg", "size_bytes": 25 * 1024 * 1024 + 1}, 413, "too_large"),
    ({"kind": "video", "content_type": "video/quicktime", "size_bytes": 200 * 1024 * 1024 + 1}, 413, "too_large"),
    ({"kind": "audio", "content_type": "audio/mpeg", "size_bytes": 0}, 400, "validation_error"),
    ({"kind": "text", "content_type": "audio/mpeg", "size_bytes": 10}, 400, "validation_error"),
])
def test_upload_requests_outside_the_limits(api, world, body, status, code):
    client, _, room_id = world.pair()
    reply = api.post(f"/rooms/{room_id}/media", client, body)
    assert (reply.status, reply.code) == (status, code)


def test_limits_admit_exactly_the_maximum(api, world):
    client, _, room_id = world.pair()
    assert _slot(api, client, room_id, size=25 * 1024 * 1024).status == 201
    assert _slot(api, client, room_id, kind="video", content_type="video/mp4", size=200 * 1024 * 1024).status == 201


def test_a_media_id_from_another_room_is_404_and_reuse_is_409(api, world):
    client, _, room_id = world.pair()
    other_room = world.room(client, world.provider(kind="psychiatrist"))
    slot = _slot(api, client, room_id).json
    _upload(slot, AUDIO, "audio/mpeg")
    assert api.post(f"/rooms/{other_room}/messages", client,
                    {"kind": "audio", "media_id": slot["media_id"]}).status == 404
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]}).status == 201
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 409 and reply.code == "already_used"


def test_declared_kind_must_match_the_message_kind(api, world):
    client, _, room_id = world.pair()
    slot = _slot(api, client, room_id).json
    _upload(slot, AUDIO, "audio/mpeg")
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "video", "media_id": slot["media_id"]})
    assert reply.status == 400 and reply.code == "media_mismatch"
