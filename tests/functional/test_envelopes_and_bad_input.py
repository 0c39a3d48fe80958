"""SPEC §3 and issue 8: unknown paths, wrong methods and wrong content types answer in the error
envelope; input that is valid JSON but cannot be stored (lone surrogates, absurd nesting) is a
clear 400 that changes nothing; personal answers are never cached."""
import json

import pytest


@pytest.mark.parametrize("path", ["/nope", "/bookings/bk_1/nothing/here", "/rooms/x/y/z/w"])
def test_an_unknown_path_is_404_not_found_in_the_envelope(api, path):
    reply = api.get(path)
    assert (reply.status, reply.code) == (404, "not_found")


@pytest.mark.parametrize("method,path", [("DELETE", "/health"), ("PUT", "/bookings"), ("PATCH", "/clients/me")])
def test_a_wrong_method_is_405_method_not_allowed(api, method, path):
    reply = api.call(method, path, body={})
    assert (reply.status, reply.code) == (405, "method_not_allowed")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_json_is_415(api, world, content_type):
    client = world.client()
    reply = api.call("POST", "/clients/me", client, raw=b'{"name": "x"}', headers={"Content-Type": content_type})
    assert (reply.status, reply.code) == (415, "unsupported_media_type")


def test_a_lone_surrogate_in_a_message_is_400_and_nothing_moves(api, world):
    client, provider, room_id = world.pair()
    before = api.get(f"/rooms/{room_id}", provider).json["unread_count"]
    reply = api.call("POST", f"/rooms/{room_id}/messages", client, raw=b'{"kind": "text", "text": "hi \\ud800"}')
    assert (reply.status, reply.code) == (400, "validation_error")
    assert api.get(f"/rooms/{room_id}", provider).json["unread_count"] == before
    assert api.get(f"/rooms/{room_id}/messages", client).json["items"] == []


@pytest.mark.parametrize("raw", [b'{"name": "\\udfff"}', b'{"\\ud800": 1}'])
def test_a_lone_surrogate_anywhere_in_a_profile_is_400(api, world, raw):
    reply = api.call("POST", "/clients/me", world.client(), raw=raw)
    assert (reply.status, reply.code) == (400, "validation_error")


def test_json_nested_a_thousand_deep_is_400(api, world):
    raw = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    reply = api.call("POST", "/clients/me", world.client(), raw=raw)
    assert (reply.status, reply.code) == (400, "validation_error")


def test_a_body_larger_than_any_request_needs_is_413(api, world):
    raw = json.dumps({"kind": "text", "text": "x" * 300_000}).encode()
    client, _, room_id = world.pair()
    reply = api.call("POST", f"/rooms/{room_id}/messages", client, raw=raw)
    assert (reply.status, reply.code) == (413, "too_large")


def test_personal_answers_say_no_store_and_public_ones_may_be_cached(api, world):
    client, _, room_id = world.pair()
    assert api.get(f"/rooms/{room_id}", client).headers.get("Cache-Control") == "no-store"
    assert api.get("/clients/me", client).headers.get("Cache-Control") == "no-store"
    assert api.get("/clients/me").headers.get("Cache-Control") == "no-store"  # a 401 too
    assert api.get("/health").headers.get("Cache-Control") != "no-store"
