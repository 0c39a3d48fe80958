"""Risk language in client messages, end to end (SPEC §2): flagged for the provider, an urgent
email at most once per room per hour, crisis resources in the room at most once per 24 h, ops told
once when the provider has not read the message within the hour. The message itself is never held up."""
from datetime import timedelta

import pytest

from tests.functional.booking_world import outbox, run_sweep

PHRASES = ("I want to kill myself", "I don't want to be alive anymore", "thinking about ending my life",
           "I have been cutting myself again")


def _say(api, user, room_id, text):
    reply = api.post(f"/rooms/{room_id}/messages", user, {"kind": "text", "text": text})
    assert reply.status == 201, reply.json
    return reply.json


def _messages(api, user, room_id):
    return api.get(f"/rooms/{room_id}/messages", user).json["items"]


def _crisis_notices(api, user, room_id):
    return [m for m in _messages(api, user, room_id) if m["kind"] == "system" and "crisis" in m["text"]]


@pytest.mark.parametrize("phrase", PHRASES)
def test_spec_phrases_are_flagged_for_the_provider_only(api, world, clock, phrase):
    client, provider, room_id = world.pair()
    posted = _say(api, client, room_id, f"Honestly? {phrase}.")
    assert posted["text"] == f"Honestly? {phrase}." and "flagged" not in posted  # stored and answered as usual
    [seen] = [m for m in _messages(api, provider, room_id) if m["id"] == posted["id"]]
    assert seen["flagged"] is True and seen["text"] == posted["text"]
    [own] = [m for m in _messages(api, client, room_id) if m["id"] == posted["id"]]
    assert "flagged" not in own


def test_a_hit_stores_category_and_list_version_only_and_alerts_with_no_content(api, world, clock):
    from chalicelib.domain import risk_language
    from chalicelib.store.models import MessageModel

    client, provider, room_id = world.pair()
    posted = _say(api, client, room_id, "i want to die, tonight")
    [stored] = [m for m in MessageModel.query(room_id) if m.id == posted["id"]]
    assert stored.flag == {"category": "passive_ideation", "version": risk_language.VERSION}
    [alert] = outbox("risk_message_provider")
    assert (alert.to, alert.status, alert.params) == (provider.email, "sent", {"room_id": room_id})
    [notice] = _crisis_notices(api, client, room_id)
    assert notice["sender_id"] is None and "988" in notice["text"]  # the client is in US-NY
    assert "die" not in notice["text"]


def test_idioms_and_provider_messages_are_not_flagged(api, world, clock):
    client, provider, room_id = world.pair()
    _say(api, client, room_id, "this commute is killing me")
    _say(api, provider, room_id, "If you ever think 'I want to kill myself', call 988 straight away.")
    assert not any(m.get("flagged") for m in _messages(api, provider, room_id))
    assert outbox("risk_message_provider") == [] and _crisis_notices(api, client, room_id) == []


def test_crisis_resources_follow_the_clients_region(api, world, clock):
    client = world.client(region="GB", timezone="Europe/London")
    provider = world.provider(licensed_regions=["GB"])
    room_id = world.room(client, provider)
    _say(api, client, room_id, "I want to end my life")
    [notice] = _crisis_notices(api, client, room_id)
    assert "116 123" in notice["text"]


def test_one_urgent_email_per_room_per_hour_and_one_crisis_notice_per_day(api, world, clock):
    client, provider, room_id = world.pair()
    start = clock()
    _say(api, client, room_id, "I want to kill myself")
    clock.at = start + timedelta(minutes=59, seconds=59)
    second = _say(api, client, room_id, "I still want to die")
    assert len(outbox("risk_message_provider")) == 1
    clock.at = start + timedelta(hours=1)
    _say(api, client, room_id, "I want to die")
    assert len(outbox("risk_message_provider")) == 2
    assert len(_crisis_notices(api, client, room_id)) == 1
    clock.at = start + timedelta(hours=24) - timedelta(seconds=1)
    _say(api, client, room_id, "I want to kill myself")
    assert len(_crisis_notices(api, client, room_id)) == 1
    clock.at = start + timedelta(hours=24)
    _say(api, client, room_id, "I want to kill myself")
    assert len(_crisis_notices(api, client, room_id)) == 2
    assert [m["flagged"] for m in _messages(api, provider, room_id) if m["kind"] == "text"] == [True] * 5
    assert second["id"]


def test_ops_are_told_once_when_the_provider_has_not_read_it_within_the_hour(api, world, clock):
    client, provider, room_id = world.pair()
    start = clock()
    _say(api, client, room_id, "I want to kill myself")
    assert run_sweep("deadlines", start + timedelta(minutes=59))["flagged_messages_escalated"] == 0
    assert run_sweep("deadlines", start + timedelta(hours=1))["flagged_messages_escalated"] == 1
    assert run_sweep("deadlines", start + timedelta(hours=1))["flagged_messages_escalated"] == 0  # replayed
    assert run_sweep("deadlines", start + timedelta(hours=5))["flagged_messages_escalated"] == 0
    [told] = outbox("risk_message_unread_ops")
    assert told.params["room_id"] == room_id and told.status == "sent"


def test_a_provider_who_reads_past_it_in_time_spares_ops(api, world, clock):
    client, provider, room_id = world.pair()
    start = clock()
    flagged = _say(api, client, room_id, "I want to kill myself")
    clock.advance(minutes=2)
    later = _say(api, client, room_id, "sorry, bad day")
    clock.advance(minutes=30)
    api.post(f"/rooms/{room_id}/read", provider, {"message_id": later["id"]})
    assert run_sweep("deadlines", start + timedelta(hours=2))["flagged_messages_escalated"] == 0
    assert outbox("risk_message_unread_ops") == [] and flagged["id"]


def test_a_failing_check_never_fails_or_holds_the_message(api, world, clock):
    from chalicelib import wiring

    client, provider, room_id = world.pair()
    real = wiring.get("cipher")

    class Broken:
        def encrypt(self, *args, **kwargs):
            return real.encrypt(*args, **kwargs)

        def decrypt(self, *args, **kwargs):
            raise RuntimeError("KMS unavailable")

    wiring.override("cipher", Broken())
    posted = api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "I want to kill myself"})
    assert posted.status == 201
    wiring.override("cipher", real)
    assert [m["id"] for m in _messages(api, provider, room_id)] == [posted.json["id"]]
