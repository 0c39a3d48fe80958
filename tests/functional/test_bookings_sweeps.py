"""The deadlines and reminders sweeps for live sessions: due work only, once, as of the event time."""
from datetime import timedelta

from tests.functional.booking_world import address, WED_10_NY, book, credits, outbox, run_sweep, scene, z


def _messages(api, user, room_id):
    return [m["text"] for m in api.get(f"/rooms/{room_id}/messages", user).json["items"] if m["kind"] == "system"]


def test_unconfirmed_booking_expires_once_credit_returned_client_told(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    before = run_sweep("deadlines", WED_10_NY - timedelta(hours=24, minutes=1))
    assert before["bookings_expired"] == 0
    first = run_sweep("deadlines", WED_10_NY - timedelta(hours=24))
    second = run_sweep("deadlines", WED_10_NY - timedelta(hours=24))
    assert first["bookings_expired"] == 1 and second["bookings_expired"] == 0
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "expired"
    assert credits(api, sc.client) == 4
    expired = outbox("booking_expired")
    assert [address(n) for n in expired] == [sc.client.email] and expired[0].status == "sent"
    texts = _messages(api, sc.client, sc.room_id)
    assert len(texts) == 1 and "expired" in texts[0]
    # the expiry notice is addressed to the client: unread for them, not for the provider (issue 10 item 7)
    assert [api.get(f"/rooms/{sc.room_id}", who).json["unread_count"] for who in (sc.client, sc.provider)] == [1, 0]
    assert book(api, sc, WED_10_NY + timedelta(days=1))["status"] == "pending"


def test_a_confirmed_booking_does_not_expire(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    assert run_sweep("deadlines", WED_10_NY)["bookings_expired"] == 0
    assert api.get(f"/bookings/{booking['id']}", sc.client).json["status"] == "confirmed"


def test_no_outcome_24h_after_the_end_is_completed_if_both_joined_else_unresolved(world, api, clock):
    sc = scene(world, api, plan={"live_credits": 4})
    a, b = book(api, sc), book(api, sc, WED_10_NY + timedelta(hours=1))
    for x in (a, b):
        api.post(f"/bookings/{x['id']}/confirm", sc.provider)
    clock.at = WED_10_NY
    api.post(f"/bookings/{a['id']}/join", sc.client)
    api.post(f"/bookings/{a['id']}/join", sc.provider)
    end_b = WED_10_NY + timedelta(hours=1, minutes=45)
    end_a = WED_10_NY + timedelta(minutes=45)
    assert run_sweep("deadlines", end_a + timedelta(hours=24, minutes=-1))["bookings_closed"] == 0
    result = run_sweep("deadlines", end_b + timedelta(hours=24))
    assert result["bookings_closed"] == 2
    assert run_sweep("deadlines", end_b + timedelta(hours=25))["bookings_closed"] == 0
    clock.at = end_b + timedelta(hours=25)
    assert api.get(f"/bookings/{a['id']}", sc.client).json["status"] == "completed"
    assert api.get(f"/bookings/{b['id']}", sc.client).json["status"] == "unresolved"
    assert [n.params["booking_id"] for n in outbox("booking_unresolved_ops")] == [b["id"]]


def test_reminders_24h_and_10min_once_each_to_both_with_room_messages(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    assert run_sweep("reminders", WED_10_NY - timedelta(hours=24, minutes=5))["reminders_sent"] == 0
    assert run_sweep("reminders", WED_10_NY - timedelta(hours=24))["reminders_sent"] == 1
    assert run_sweep("reminders", WED_10_NY - timedelta(hours=23, minutes=55))["reminders_sent"] == 0
    assert sorted(address(n) for n in outbox("booking_reminder_long")) == sorted([sc.client.email, sc.provider.email])
    assert run_sweep("reminders", WED_10_NY - timedelta(minutes=10))["reminders_sent"] == 1
    assert run_sweep("reminders", WED_10_NY - timedelta(minutes=5))["reminders_sent"] == 0
    short = outbox("booking_reminder_short")
    assert len(short) == 2 and sorted(n.params["join_as"] for n in short) == ["client", "provider"]
    texts = _messages(api, sc.client, sc.room_id)
    assert len(texts) == 2 and "open to join" in texts[0]
    # reminders are addressed to both members: unread for each (issue 10 item 7)
    assert [api.get(f"/rooms/{sc.room_id}", who).json["unread_count"] for who in (sc.client, sc.provider)] == [2, 2]


def test_a_reminder_whose_moment_passed_before_confirmation_is_skipped(world, api, clock):
    sc = scene(world, api)
    booking = book(api, sc)
    clock.at = WED_10_NY - timedelta(hours=25)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)  # 25 h ahead: the 24 h reminder is still ahead
    provider_booked = book(api, sc, WED_10_NY + timedelta(hours=3), by="provider")  # 28 h ahead, confirmed now
    clock.at = WED_10_NY - timedelta(hours=2)
    late = book(api, sc, WED_10_NY + timedelta(hours=1), by="provider")  # confirmed 3 h ahead: no 24 h reminder
    result = run_sweep("reminders", WED_10_NY - timedelta(hours=2))
    # Both confirmed before their 24 h moment get it (late runs still send while > 1 h ahead);
    # the one confirmed 3 h ahead never had a 24 h reminder.
    assert result["reminders_sent"] == 2
    reminded = {n.params["booking_id"] for n in outbox("booking_reminder_long")}
    assert reminded == {booking["id"], provider_booked["id"]}
    assert late["id"] not in reminded


def test_a_provider_booking_made_exactly_24_hours_ahead_gets_its_24_hour_reminder(world, api, clock):
    sc = scene(world, api, windows=[{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)])
    starts = clock() + timedelta(hours=24)  # Tue 09:00Z (04:00 New York)
    booking = book(api, sc, starts, by="provider")
    assert booking["status"] == "confirmed"
    assert run_sweep("reminders", clock())["reminders_sent"] == 1
    assert {n.params["booking_id"] for n in outbox("booking_reminder_long")} == {booking["id"]}


def test_a_24h_reminder_not_sent_by_1h_before_start_is_skipped(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    result = run_sweep("reminders", WED_10_NY - timedelta(minutes=59))  # sweeps were down until now
    assert (result["reminders_sent"], result["reminders_skipped"]) == (0, 1)
    assert outbox("booking_reminder_long") == []
    assert run_sweep("reminders", WED_10_NY - timedelta(minutes=10))["reminders_sent"] == 1


def test_a_reminder_run_that_dies_after_taking_a_reminder_still_gets_both_emails_out(world, api, monkeypatch):
    import pytest

    from chalicelib.services import rooms

    class Crash(BaseException):
        """The Lambda is killed (timeout, out of memory) in the middle of the run."""

    def die(*args, **kwargs):
        raise Crash()

    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    monkeypatch.setattr(rooms, "post_system", die)
    with pytest.raises(Crash):
        run_sweep("reminders", WED_10_NY - timedelta(hours=24))
    monkeypatch.undo()
    run_sweep("reminders", WED_10_NY - timedelta(hours=23, minutes=55))
    run_sweep("deadlines", WED_10_NY - timedelta(hours=23, minutes=50))  # retries what was recorded
    reminders = outbox("booking_reminder_long")
    assert sorted(address(n) for n in reminders) == sorted([sc.client.email, sc.provider.email])
    assert all(n.status == "sent" for n in reminders)


def test_cancelled_and_rescheduled_bookings_never_remind(world, api):
    sc = scene(world, api, plan={"live_credits": 4})
    a, b = book(api, sc), book(api, sc, WED_10_NY + timedelta(hours=1))
    for x in (a, b):
        api.post(f"/bookings/{x['id']}/confirm", sc.provider)
    api.post(f"/bookings/{a['id']}/cancel", sc.provider)
    moved = api.post(f"/bookings/{b['id']}/reschedule", sc.provider,
                     {"starts_at": z(WED_10_NY + timedelta(hours=2))}).json
    run_sweep("reminders", WED_10_NY + timedelta(hours=2) - timedelta(hours=24))
    reminded = [n.params["booking_id"] for n in outbox("booking_reminder_long")]
    assert reminded == [moved["id"], moved["id"]]  # the successor, to both; never a or b


def test_failed_email_is_retried_by_the_deadlines_sweep(world, api):
    from chalicelib import wiring

    class Down:
        def send(self, *args, **kwargs):
            raise ConnectionError("SES is down")

    sc = scene(world, api)
    wiring.override("mailer", Down())
    book(api, sc)
    [requested] = outbox("booking_requested")
    assert requested.status == "pending"
    wiring._overrides.pop("mailer")
    run_sweep("deadlines", WED_10_NY - timedelta(hours=50))
    [requested] = outbox("booking_requested")
    assert requested.status == "sent"


def _raw_timers() -> list[dict]:
    import boto3

    from chalicelib import settings

    table = settings.get().table("timers")
    return boto3.client("dynamodb").scan(TableName=table)["Items"]


def test_reminder_timers_carry_their_booking_and_sit_in_a_due_shard(world, api):
    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    reminders = [t for t in _raw_timers() if t.get("kind", {}).get("S", "").startswith("booking_reminder_")]
    assert len(reminders) == 2
    for t in reminders:
        kind, _, shard = t["due_kind"]["S"].partition("#")
        assert kind == "booking_reminder" and 0 <= int(shard) < 8
        copy = __import__("json").loads(t["data"]["S"])["booking"]
        assert copy["room_id"] == sc.room_id and copy["client_id"] == sc.client.id
        assert not any("@" in str(v) for v in copy.values())  # ids and times only, never an address


def test_a_reminder_whose_booking_moved_on_behind_its_copy_reads_it_and_is_skipped(world, api):
    """The copy on the due item is guarded: a booking no longer at the version the reminder was
    set for refuses the change; the sweep then reads the booking and skips the reminder."""
    from chalicelib.store.models import BookingModel

    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    BookingModel(booking["id"]).update(actions=[BookingModel.version.add(1)])  # as if changed, timers kept
    result = run_sweep("reminders", WED_10_NY - timedelta(hours=24))
    assert (result["reminders_sent"], result["reminders_skipped"]) == (0, 1)
    assert outbox("booking_reminder_long") == []


def test_due_items_written_before_the_index_was_sharded_are_still_swept(world, api):
    """A pending item whose `due_kind` is the bare kind (written before sharding) is read from the
    bare partition by the same sweep, so a deployed table needs no migration."""
    import boto3

    from chalicelib import settings

    sc = scene(world, api)
    booking = book(api, sc)
    api.post(f"/bookings/{booking['id']}/confirm", sc.provider)
    client = boto3.client("dynamodb")
    for t in _raw_timers():
        if t.get("kind", {}).get("S") == "booking_reminder_long":
            client.update_item(TableName=settings.get().table("timers"), Key={"id": t["id"]},
                               UpdateExpression="SET due_kind = :k", ExpressionAttributeValues={":k": {"S": "booking_reminder"}})
    assert run_sweep("reminders", WED_10_NY - timedelta(hours=24))["reminders_sent"] == 1
    assert sorted(address(n) for n in outbox("booking_reminder_long")) == sorted([sc.client.email, sc.provider.email])


def test_with_eight_shards_reminders_spread_over_the_due_index_are_all_swept_once(world, api, monkeypatch):
    """The emulator runs with one shard (infra.provision); deployed stacks use 8: with 8, the
    reminders land in several partitions and one run reads every one of them."""
    import dataclasses

    from chalicelib import settings

    eight = dataclasses.replace(settings.get(), due_shards=8)
    monkeypatch.setattr(settings, "get", lambda: eight)
    sc = scene(world, api)
    starts = [WED_10_NY + timedelta(hours=h) for h in (0, 1, 2, 3)]
    for at in starts:
        made = book(api, sc, at)
        assert api.post(f"/bookings/{made['id']}/confirm", sc.provider).status == 200
    shards = {t["due_kind"]["S"] for t in _raw_timers() if t.get("kind", {}).get("S", "").startswith("booking_reminder")}
    assert all(s.startswith("booking_reminder#") for s in shards)
    assert run_sweep("reminders", starts[-1] - timedelta(hours=24))["reminders_sent"] == 4
    assert run_sweep("reminders", starts[-1] - timedelta(hours=24))["reminders_sent"] == 0
