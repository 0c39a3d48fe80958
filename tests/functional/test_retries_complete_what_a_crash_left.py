"""A request that died half-way is completed by its retry (issue 9, items 5 and 6)."""
from datetime import timedelta

import boto3

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.store.models import MediaModel
from tests.functional.test_media import AUDIO, _slot, _upload


def test_a_media_message_whose_request_died_after_claiming_the_upload_is_completed_by_a_retry(api, world, clock):
    client, provider, room_id = world.pair()
    slot = _slot(api, client, room_id).json
    _upload(slot, AUDIO, "audio/mpeg")
    # the first request claimed the upload, moved the file, and died before the message existed
    media = MediaModel.get(slot["media_id"])
    media.update(actions=[MediaModel.used_by.set("claimed"), MediaModel.claimed_at.set(iso(clock()))])
    store = wiring.get("media")
    store.promote(media.key, f"rooms/{room_id}/{slot['media_id']}")
    early = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert (early.status, early.code) == (409, "already_used")  # the claim may still be alive
    clock.advance(minutes=2)
    reply = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert reply.status == 201, reply.json
    items = api.get(f"/rooms/{room_id}/messages", provider).json["items"]
    assert [m["media_id"] for m in items if m["kind"] == "audio"] == [slot["media_id"]]
    again = api.post(f"/rooms/{room_id}/messages", client, {"kind": "audio", "media_id": slot["media_id"]})
    assert (again.status, again.code) == (409, "already_used")


def test_a_provider_create_that_died_before_the_group_is_completed_by_a_retry(api, cognito, stack):
    ops = cognito.ops()
    email = "half-made@haven.example"
    idp = boto3.client("cognito-idp", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    idp.admin_create_user(UserPoolId=stack["user_pool_id"], Username=email,
                          UserAttributes=[{"Name": "email", "Value": email}])  # ... and then the crash
    body = {"email": email, "name": "Dr Half", "kind": "therapist", "licensed_regions": ["GB"],
            "languages": ["en"], "timezone": "Europe/London"}
    reply = api.post("/ops/providers", ops, body)
    assert reply.status in (200, 201), reply.json
    groups = idp.admin_list_groups_for_user(UserPoolId=stack["user_pool_id"], Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["providers"]
