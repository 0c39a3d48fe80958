"""The reply promise and new-message alerts (SPEC §2), through the API and the deadlines sweep.

The provider works Mon–Fri 09:00–17:00 America/New_York (UTC−5 in these weeks)."""
from datetime import datetime, timedelta, timezone

from tests.functional.conftest import mail_to


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


MON_10_NY = utc(2026, 11, 23, 15, 0)
FRI_16_NY = utc(2026, 11, 27, 21, 0)
SAT_10_NY = utc(2026, 11, 28, 15, 0)


def _subscribed_pair(world, **provider):
    client, prov, room_id = world.pair(**provider)
    world.plan(client, kind="subscription", live_credits=4, period_anchor="2026-11-01")
    return client, prov, room_id


def _say(api, user, room_id, text="hello"):
    reply = api.post(f"/rooms/{room_id}/messages", user, {"kind": "text", "text": text})
    assert reply.status == 201, reply.json
    return reply.json


def _system_texts(api, user, room_id):
    return [m["text"] for m in api.get(f"/rooms/{room_id}/messages", user).json["items"] if m["kind"] == "system"]


def test_a_client_message_opens_a_deadline_both_sides_see_and_a_provider_reply_settles_it(api, world, clock):
    client, provider, room_id = _subscribed_pair(world)
    clock.at = MON_10_NY
    _say(api, client, room_id)
    for who in (client, provider):
        assert api.get(f"/rooms/{room_id}", who).json["reply_due_at"] == "2026-11-24T15:00:00Z"
    clock.advance(minutes=5)
    _say(api, client, room_id, "still there?")  # a reply is already owed: the clock does not restart
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] == "2026-11-24T15:00:00Z"
    _say(api, provider, room_id, "hi")
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] is None
    assert _system_texts(api, client, room_id) == []  # inside working hours: no notice


def test_friday_afternoon_is_due_monday_afternoon(api, world, clock):
    client, _, room_id = _subscribed_pair(world)
    clock.at = FRI_16_NY
    _say(api, client, room_id)
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] == "2026-11-30T21:00:00Z"


def test_saturday_gets_one_out_of_hours_notice_with_the_due_time_and_crisis_help(api, world, clock):
    client, _, room_id = _subscribed_pair(world)
    clock.at = SAT_10_NY
    _say(api, client, room_id)
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] == "2026-11-30T22:00:00Z"
    clock.advance(minutes=10)
    _say(api, client, room_id, "one more thing")
    notices = _system_texts(api, client, room_id)
    assert len(notices) == 1
    assert "Monday 30 November, 17:00" in notices[0] and "988" in notices[0]  # client is in New York


def test_the_out_of_hours_notice_is_unread_for_the_client_only(api, world, clock):
    """Issue 10 item 7: each member's unread count counts only what is addressed to them: the
    other member's messages and Haven's notices to them, never their own messages."""
    client, provider, room_id = _subscribed_pair(world)
    clock.at = SAT_10_NY
    mine = _say(api, client, room_id, "are you there?")
    [notice] = [m for m in api.get(f"/rooms/{room_id}/messages", provider).json["items"] if m["kind"] == "system"]

    def unread():
        return [api.get(f"/rooms/{room_id}", who).json["unread_count"] for who in (client, provider)]

    assert unread() == [1, 1]  # the client: the notice; the provider: the client's message only
    read = api.post(f"/rooms/{room_id}/read", provider, {"message_id": notice["id"]})
    assert read.status == 200 and read.json["unread_count"] == 0  # reading past the notice: nothing left
    assert api.post(f"/rooms/{room_id}/read", client, {"message_id": mine["id"]}).json["unread_count"] == 1
    clock.advance(minutes=5)
    answer = _say(api, provider, room_id, "here now")
    assert unread() == [2, 0]
    assert api.post(f"/rooms/{room_id}/read", client, {"message_id": notice["id"]}).json["unread_count"] == 1
    assert api.post(f"/rooms/{room_id}/read", client, {"message_id": answer["id"]}).json["unread_count"] == 0
    assert unread() == [0, 0]


def test_public_holidays_of_the_providers_country_are_not_working_days(api, world, clock):
    client, _, room_id = _subscribed_pair(world, country="US")
    clock.at = utc(2026, 11, 25, 21, 0)  # Wed 16:00 NY; Thu 26 Nov is Thanksgiving
    _say(api, client, room_id)
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] == "2026-11-27T21:00:00Z"


def test_no_promise_without_a_session_on_insurance_and_never_in_psychiatry(api, world, clock):
    client, _, room_id = world.pair()
    world.plan(client, kind="insurance", live_credits=2, messaging_credits=1, period_anchor=None)
    clock.at = MON_10_NY
    _say(api, client, room_id)
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] is None
    api.post(f"/rooms/{room_id}/messaging-sessions", client)
    _say(api, client, room_id, "now in a session")
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] == "2026-11-24T15:00:00Z"
    world.plan(client, kind="subscription", live_credits=2, period_anchor="2026-11-01")
    psych_room = world.room(client, world.provider(kind="psychiatrist"))
    _say(api, client, psych_room)
    assert api.get(f"/rooms/{psych_room}", client).json["reply_due_at"] is None


def test_overdue_reply_tells_the_provider_once_then_ops_once_a_working_day_later(api, world, clock, run_sweep,
                                                                                 stack):
    client, provider, room_id = _subscribed_pair(world)
    clock.at = MON_10_NY
    _say(api, client, room_id)
    due = utc(2026, 11, 24, 15, 0)
    assert run_sweep("deadlines", due - timedelta(minutes=5))["replies_overdue"] == 0
    assert run_sweep("deadlines", due)["replies_overdue"] == 1
    assert run_sweep("deadlines", due)["replies_overdue"] == 0  # replaying the same moment acts once
    overdue = [m for m in mail_to(provider.email) if "waiting for your reply" in m["subject"]]
    assert len(overdue) == 1 and "hello" not in overdue[0]["body"]
    ops_due = utc(2026, 11, 25, 15, 0)
    assert run_sweep("deadlines", ops_due - timedelta(minutes=5))["replies_overdue"] == 0
    assert run_sweep("deadlines", ops_due + timedelta(hours=3))["replies_overdue"] == 1  # a late run catches up
    assert run_sweep("deadlines", ops_due + timedelta(days=3))["replies_overdue"] == 0
    assert len([m for m in mail_to(stack["ops_email"]) if room_id in m["subject"]]) == 1
    assert len([m for m in mail_to(provider.email) if "waiting for your reply" in m["subject"]]) == 1


def test_a_settled_deadline_never_notifies(api, world, clock, run_sweep):
    client, provider, room_id = _subscribed_pair(world)
    clock.at = MON_10_NY
    _say(api, client, room_id)
    _say(api, provider, room_id, "on it")
    assert run_sweep("deadlines", utc(2026, 12, 1))["replies_overdue"] == 0
    assert [m for m in mail_to(provider.email) if "waiting" in m["subject"]] == []


def test_the_other_side_gets_one_contentless_alert_per_room_per_hour(api, world, clock):
    client, provider, room_id = world.pair()
    _say(api, client, room_id, "my private words")
    _say(api, client, room_id, "more words")
    alerts = [m for m in mail_to(provider.email) if m["subject"] == "You have a new message on Haven"]
    assert len(alerts) == 1 and "private" not in alerts[0]["body"]
    assert mail_to(client.email) == []  # nobody is alerted about their own message
    # read, but within the hour: still quiet
    last = api.get(f"/rooms/{room_id}/messages?limit=1", provider).json["items"][0]["id"]
    api.post(f"/rooms/{room_id}/read", provider, {"message_id": last})
    clock.advance(minutes=30)
    _say(api, client, room_id, "again")
    assert len([m for m in mail_to(provider.email) if "new message" in m["subject"]]) == 1
    clock.advance(minutes=31)  # an hour after the alert, and the last one was read
    _say(api, client, room_id, "and again")
    assert len([m for m in mail_to(provider.email) if "new message" in m["subject"]]) == 2


def test_an_unread_alert_is_still_pending_so_no_second_one(api, world, clock):
    client, provider, room_id = world.pair()
    _say(api, client, room_id)
    clock.advance(hours=3)
    _say(api, client, room_id, "later")
    assert len([m for m in mail_to(provider.email) if "new message" in m["subject"]]) == 1


def test_system_messages_never_alert(api, world, clock):
    client, provider, room_id = _subscribed_pair(world)
    clock.at = SAT_10_NY  # the client's message triggers an out-of-hours system message
    _say(api, client, room_id)
    assert len(_system_texts(api, client, room_id)) == 1
    assert [m for m in mail_to(client.email) if "new message" in m["subject"]] == []


class _FailingMailer:
    def send(self, *args, **kwargs):
        raise ConnectionError("SES is down")


def test_a_failed_email_is_retried_by_the_next_sweep_and_never_sent_twice(api, world, clock, run_sweep):
    from chalicelib import wiring

    client, provider, room_id = world.pair()
    wiring.override("mailer", _FailingMailer())
    _say(api, client, room_id)  # the message itself is not lost
    assert mail_to(provider.email) == []
    wiring.reset()
    wiring.override("clock", clock)
    result = run_sweep("deadlines", clock.at + timedelta(minutes=5))
    assert result["emails_retried"] == 1
    assert run_sweep("deadlines", clock.at + timedelta(hours=2))["emails_retried"] == 0
    assert len(mail_to(provider.email)) == 1
    assert len(api.get(f"/rooms/{room_id}/messages", provider).json["items"]) == 1


class _CipherFailingOnce:
    """The real cipher, except that the first out-of-hours notice fails to encrypt (a passing fault)."""

    def __init__(self, real):
        self.real, self.failed = real, False

    def encrypt(self, room_id, text, key_blob=None):
        if text.startswith("Thanks for your message") and not self.failed:
            self.failed = True
            raise ConnectionError("KMS unavailable")
        return self.real.encrypt(room_id, text, key_blob)

    def decrypt(self, room_id, ciphertext, key_blob=None):
        return self.real.decrypt(room_id, ciphertext, key_blob)

    def new_room_key(self, room_id):
        return self.real.new_room_key(room_id)


def test_an_out_of_hours_notice_that_failed_is_posted_by_the_next_sweep_once(api, world, clock, run_sweep):
    from chalicelib import wiring

    client, _, room_id = _subscribed_pair(world)
    flaky = _CipherFailingOnce(wiring.get("cipher"))
    wiring.override("cipher", flaky)
    clock.at = SAT_10_NY
    _say(api, client, room_id)
    assert flaky.failed and _system_texts(api, client, room_id) == []
    run_sweep("deadlines", SAT_10_NY + timedelta(minutes=5))
    run_sweep("deadlines", SAT_10_NY + timedelta(minutes=30))
    assert len(_system_texts(api, client, room_id)) == 1
