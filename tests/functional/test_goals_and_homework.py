"""Goals and homework (SPEC §2 Between sessions, §3), and the homework reminder: 09:00 client
time the day before it is due, by email and a room message, exactly once, across DST."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.functional.booking_world import outbox
from tests.functional.conftest import mail_to

UTC = timezone.utc


def _goal(api, user, room_id, status=201, **body):
    reply = api.post(f"/rooms/{room_id}/goals", user, {"title": "Walk three times a week", **body})
    assert reply.status == status, reply.json
    return reply.json


def _homework(api, provider, room_id, due="2026-11-26", status=201, **body):
    reply = api.post(f"/rooms/{room_id}/homework", provider,
                     {"title": "Thought record", "instructions": "Write down one hard moment a day.",
                      "due": due, **body})
    assert reply.status == status, reply.json
    return reply.json


def _system_texts(api, user, room_id):
    return [m["text"] for m in api.get(f"/rooms/{room_id}/messages", user).json["items"] if m["kind"] == "system"]


# --- goals ------------------------------------------------------------------------------------------

def test_either_member_sets_goals_and_both_see_them_in_order(api, world, clock):
    client, provider, room_id = world.pair()
    mine = _goal(api, client, room_id, due="2026-12-31")
    clock.advance(minutes=1)
    theirs = _goal(api, provider, room_id, title="Name one feeling each evening")
    assert mine["status"] == "open" and mine["due"] == "2026-12-31" and mine["created_by"] == client.id
    assert theirs["due"] is None and theirs["created_by"] == provider.id
    for who in (client, provider):
        listed = api.get(f"/rooms/{room_id}/goals", who).json
        assert [g["id"] for g in listed["items"]] == [mine["id"], theirs["id"]] and listed["next"] is None


def test_a_goal_is_done_and_may_be_reopened(api, world, clock):
    client, provider, room_id = world.pair()
    goal = _goal(api, client, room_id)
    clock.advance(hours=1)
    done = api.call("PATCH", f"/rooms/{room_id}/goals/{goal['id']}", provider, {"status": "done"})
    assert done.status == 200 and done.json["status"] == "done" and done.json["done_at"] == "2026-11-23T10:00:00Z"
    clock.advance(hours=1)
    reopened = api.call("PATCH", f"/rooms/{room_id}/goals/{goal['id']}", client, {"status": "open"})
    assert reopened.json["status"] == "open" and reopened.json["done_at"] is None
    renamed = api.call("PATCH", f"/rooms/{room_id}/goals/{goal['id']}", client, {"title": "Walk twice a week"})
    assert renamed.json["title"] == "Walk twice a week"
    assert api.get(f"/rooms/{room_id}/goals", provider).json["items"][0]["title"] == "Walk twice a week"


@pytest.mark.parametrize("body,code", [
    ({"title": ""}, "validation_error"), ({"title": "x" * 201}, "validation_error"), ({}, "validation_error"),
    ({"title": "ok", "due": "2026-13-01"}, "validation_error"), ({"title": "ok", "due": "20261201"}, "validation_error"),
    ({"title": "ok", "status": "done"}, "validation_error"),
    ({"title": "ok", "due": "2026-11-01"}, "in_the_past"),
])
def test_bad_goals_are_400(api, world, body, code):
    client, _, room_id = world.pair()
    reply = api.post(f"/rooms/{room_id}/goals", client, body)
    assert reply.status == 400 and reply.code == code, reply.json


@pytest.mark.parametrize("body", [{"status": "finished"}, {}, {"status": None}, {"colour": "red"}])
def test_bad_goal_changes_are_400(api, world, body):
    client, _, room_id = world.pair()
    goal = _goal(api, client, room_id)
    reply = api.call("PATCH", f"/rooms/{room_id}/goals/{goal['id']}", client, body)
    assert reply.status == 400 and reply.code == "validation_error", reply.json


def test_goals_of_another_room_are_404_and_ops_403(api, world):
    client, provider, room_id = world.pair()
    goal = _goal(api, client, room_id)
    stranger, other_client = world.provider(), world.client()
    other_room = world.room(other_client, provider)
    assert api.get(f"/rooms/{room_id}/goals", stranger).status == 404
    assert api.post(f"/rooms/{room_id}/goals", other_client, {"title": "x"}).status == 404
    assert api.call("PATCH", f"/rooms/{other_room}/goals/{goal['id']}", provider, {"status": "done"}).status == 404
    assert api.call("PATCH", f"/rooms/{room_id}/goals/gl_unknown", client, {"status": "done"}).status == 404
    assert api.get(f"/rooms/{room_id}/goals", world.ops).status == 403


# --- homework ---------------------------------------------------------------------------------------

def test_the_provider_assigns_homework_and_the_client_marks_it_done(api, world, clock):
    client, provider, room_id = world.pair()
    homework = _homework(api, provider, room_id)
    assert homework["status"] == "open" and homework["due"] == "2026-11-26"
    assert homework["title"] == "Thought record" and homework["assigned_by"] == provider.id
    # 09:00 in New York (UTC-5) on the 25th
    assert homework["reminder_at"] == "2026-11-25T14:00:00Z"
    assert [h["id"] for h in api.get(f"/rooms/{room_id}/homework", client).json["items"]] == [homework["id"]]
    clock.advance(hours=2)
    done = api.post(f"/rooms/{room_id}/homework/{homework['id']}/done", client)
    assert done.status == 200 and done.json["status"] == "done" and done.json["done_at"] == "2026-11-23T11:00:00Z"
    again = api.post(f"/rooms/{room_id}/homework/{homework['id']}/done", client)
    assert again.status == 200 and again.json["done_at"] == "2026-11-23T11:00:00Z"


def test_only_the_provider_assigns_and_only_the_client_marks_done(api, world):
    client, provider, room_id = world.pair()
    assert api.post(f"/rooms/{room_id}/homework", client, {"title": "t", "instructions": "i",
                                                          "due": "2026-11-30"}).status == 403
    homework = _homework(api, provider, room_id)
    assert api.post(f"/rooms/{room_id}/homework/{homework['id']}/done", provider).status == 403
    assert api.post(f"/rooms/{room_id}/homework/{homework['id']}/done", world.client()).status == 404
    assert api.post(f"/rooms/{room_id}/homework", world.provider(),
                    {"title": "t", "instructions": "i", "due": "2026-11-30"}).status == 404
    assert api.get(f"/rooms/{room_id}/homework", world.ops).status == 403
    assert api.post(f"/rooms/{room_id}/homework/hw_unknown/done", client).status == 404


@pytest.mark.parametrize("body,code", [
    ({"title": "t", "instructions": "i"}, "validation_error"),
    ({"title": "", "instructions": "i", "due": "2026-11-30"}, "validation_error"),
    ({"title": "t", "instructions": "x" * 5_001, "due": "2026-11-30"}, "validation_error"),
    ({"title": "t", "instructions": "  ", "due": "2026-11-30"}, "validation_error"),
    ({"title": "t", "instructions": "i", "due": "2026-11-22"}, "in_the_past"),
])
def test_bad_homework_is_400(api, world, body, code):
    _, provider, room_id = world.pair()
    reply = api.post(f"/rooms/{room_id}/homework", provider, body)
    assert reply.status == 400 and reply.code == code, reply.json


def test_homework_due_today_is_accepted_without_a_reminder(api, world, run_sweep):
    client, provider, room_id = world.pair()
    homework = _homework(api, provider, room_id, due="2026-11-23")  # 04:00 in New York
    assert homework["reminder_at"] is None
    assert run_sweep("reminders", datetime(2026, 11, 24, tzinfo=UTC))["homework_reminders_sent"] == 0


def test_goal_and_homework_words_are_encrypted_at_rest(api, world, stack):
    import boto3

    client, provider, room_id = world.pair()
    _goal(api, client, room_id, title="Call my sister about the funeral")
    _homework(api, provider, room_id, title="Grief letter", instructions="Write to your father, do not send it")
    ddb = boto3.client("dynamodb", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])
    dump = repr(ddb.scan(TableName=stack["tables"]["room_work"])["Items"]).encode()
    for secret in (b"sister", b"funeral", b"Grief letter", b"father"):
        assert secret not in dump


# --- the reminder -------------------------------------------------------------------------------------

def _sweeps(run_sweep, start, end, step=timedelta(minutes=5)):
    sent, moment = [], start
    while moment <= end:
        result = run_sweep("reminders", moment)
        if result["homework_reminders_sent"]:
            sent.append((moment, result["homework_reminders_sent"]))
        moment += step
    return sent


def test_the_reminder_goes_at_nine_client_time_the_day_before_once_by_email_and_room_message(
        api, world, run_sweep):
    client, provider, room_id = world.pair()
    _homework(api, provider, room_id, due="2026-11-26")
    nine_ny = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    assert _sweeps(run_sweep, nine_ny - timedelta(minutes=30), nine_ny + timedelta(minutes=30)) == [(nine_ny, 1)]
    assert run_sweep("reminders", nine_ny)["homework_reminders_sent"] == 0  # a replay of the same moment
    emails = mail_to(client.email)
    assert len(emails) == 1 and "Homework due tomorrow" in repr(emails[0])
    assert "Thought record" not in repr(emails) and "hard moment" not in repr(emails)
    texts = _system_texts(api, client, room_id)
    assert len(texts) == 1 and "homework due tomorrow" in texts[0] and "Thursday 26 November" in texts[0]
    assert [n.status for n in outbox("homework_reminder")] == ["sent"]


@pytest.mark.parametrize("tz,due,moment", [
    # New York springs forward at 02:00 on Sun 14 Mar 2027: 09:00 that morning is EDT (UTC-4).
    ("America/New_York", "2027-03-15", datetime(2027, 3, 14, 13, 0, tzinfo=UTC)),
    # and falls back at 02:00 on Sun 7 Nov 2027: 09:00 that morning is EST (UTC-5).
    ("America/New_York", "2027-11-08", datetime(2027, 11, 7, 14, 0, tzinfo=UTC)),
    # London falls back on Sun 31 Oct 2027: 09:00 GMT.
    ("Europe/London", "2027-11-01", datetime(2027, 10, 31, 9, 0, tzinfo=UTC)),
    # London springs forward on Sun 28 Mar 2027, the day before it is due: 09:00 BST.
    ("Europe/London", "2027-03-29", datetime(2027, 3, 28, 8, 0, tzinfo=UTC)),
])
def test_the_reminder_fires_exactly_once_at_nine_local_across_dst(api, world, run_sweep, tz, due, moment):
    region = "GB" if tz.startswith("Europe") else "US-NY"
    client = world.client(timezone=tz, region=region)
    provider = world.provider(licensed_regions=[region])  # assignments check the licence
    room_id = world.room(client, provider)
    homework = _homework(api, provider, room_id, due=due)
    assert homework["reminder_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    # every 5 minutes for two hours either side (both naive guesses of "09:00" included)
    assert _sweeps(run_sweep, moment - timedelta(hours=2), moment + timedelta(hours=2)) == [(moment, 1)]
    assert len(mail_to(client.email)) == 1
    assert len(_system_texts(api, client, room_id)) == 1


def test_overlapping_and_late_runs_still_send_once(api, world, run_sweep):
    client, provider, room_id = world.pair()
    _homework(api, provider, room_id, due="2026-11-26")
    nine_ny = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
    # the runs around the moment were missed; the next one catches up, and its replay does nothing
    late = run_sweep("reminders", nine_ny + timedelta(hours=3))
    replay = run_sweep("reminders", nine_ny + timedelta(hours=3))
    assert late["homework_reminders_sent"] == 1 and replay["homework_reminders_sent"] == 0
    assert len(mail_to(client.email)) == 1


def test_homework_done_before_its_reminder_is_not_reminded(api, world, run_sweep):
    client, provider, room_id = world.pair()
    homework = _homework(api, provider, room_id, due="2026-11-26")
    api.post(f"/rooms/{room_id}/homework/{homework['id']}/done", client)
    result = run_sweep("reminders", datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    assert result["homework_reminders_sent"] == 0 and result["homework_reminders_skipped"] == 1
    assert mail_to(client.email) == [] and _system_texts(api, client, room_id) == []


def test_a_reminder_follows_the_client_when_they_move_west(api, world, run_sweep, clock):
    client, provider, room_id = world.pair()  # New York
    _homework(api, provider, room_id, due="2026-11-26")
    api.post("/clients/me", client, {"name": "Alex Client", "date_of_birth": "1990-04-21",
                                     "timezone": "America/Los_Angeles", "region": "US-NY", "languages": ["en"]})
    nine_ny, nine_la = datetime(2026, 11, 25, 14, tzinfo=UTC), datetime(2026, 11, 25, 17, tzinfo=UTC)
    assert run_sweep("reminders", nine_ny)["homework_reminders_sent"] == 0
    assert run_sweep("reminders", nine_la - timedelta(minutes=5))["homework_reminders_sent"] == 0
    assert run_sweep("reminders", nine_la)["homework_reminders_sent"] == 1
    assert len(mail_to(client.email)) == 1


def test_a_reminder_missed_for_the_whole_day_before_is_skipped(api, world, run_sweep):
    client, provider, room_id = world.pair()
    _homework(api, provider, room_id, due="2026-11-26")
    result = run_sweep("reminders", datetime(2026, 11, 26, 5, 0, tzinfo=UTC))  # 00:00 on the due day in New York
    assert result["homework_reminders_sent"] == 0 and result["homework_reminders_skipped"] == 1
    assert mail_to(client.email) == []
