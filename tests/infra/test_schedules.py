"""The local runner fires schedules as EventBridge would: rates, AWS cron, Scheduled Events."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from infra.schedules import Cron, next_fire, parse_time, scheduled_event

UTC = timezone.utc


def test_a_rate_fires_every_interval():
    start = datetime(2026, 11, 23, 9, 0, 30, tzinfo=UTC)
    assert next_fire("rate(5 minutes)", start) == datetime(2026, 11, 23, 9, 5, 30, tzinfo=UTC)
    assert next_fire("rate(1 hour)", start) == datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)
    assert next_fire("rate(1 day)", start) == datetime(2026, 11, 24, 9, 0, 30, tzinfo=UTC)


def test_the_discharges_cron_fires_daily_at_two_utc():
    assert next_fire("cron(0 2 * * ? *)", datetime(2026, 11, 23, 1, 59, 59, tzinfo=UTC)) == \
        datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert next_fire("cron(0 2 * * ? *)", datetime(2026, 11, 23, 2, 0, tzinfo=UTC)) == \
        datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_cron_days_of_week_count_from_sunday_and_accept_names():
    monday = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday
    assert next_fire("cron(30 8 ? * 2 *)", monday) == datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    assert next_fire("cron(0/15 * ? * MON-FRI *)", monday) == datetime(2026, 11, 23, 12, 15, tzinfo=UTC)
    assert next_fire("cron(0 0 1 JAN ? *)", monday) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def test_unsupported_expressions_are_refused():
    with pytest.raises(ValueError):
        Cron("cron(0 2 L * ? *)")
    with pytest.raises(ValueError):
        next_fire("every tuesday", datetime.now(UTC))


def test_a_scheduled_event_carries_the_moment_in_utc_with_z():
    event = scheduled_event("reminders", parse_time("2026-11-23T10:00:00+01:00"))
    assert event["time"] == "2026-11-23T09:00:00Z"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/haven-reminders")


def test_a_time_without_an_offset_is_refused():
    with pytest.raises(ValueError):
        parse_time("2026-11-23T09:00:00")


def test_the_local_scheduler_fires_a_due_schedule_with_a_scheduled_event_as_of_now():
    import threading
    from datetime import timedelta

    from chalice.app import ScheduledEventConfig

    from infra.local import Scheduler

    clock = {"now": datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)}
    fired = threading.Event()
    seen = []

    def tick(event, context):
        seen.append(event)
        fired.set()
        if len(seen) == 1:
            raise RuntimeError("a failing run is logged and does not stop the scheduler")

    class FakeApp:
        event_sources = [ScheduledEventConfig("tick", "app.tick", "rate(1 minute)", "")]
        handler_map = {"tick": tick}

    scheduler = Scheduler(FakeApp(), "us-east-1", now=lambda: clock["now"])
    scheduler.start()
    try:
        assert not fired.wait(0.3)  # not due yet
        clock["now"] += timedelta(minutes=1)
        assert fired.wait(5)
        fired.clear()
        clock["now"] += timedelta(minutes=10)  # a stall: one catch-up run, not ten
        assert fired.wait(5)
        time_of_second_run = seen[1]["time"]
    finally:
        scheduler.stop(timeout=5)
    assert seen[0]["time"] == "2026-11-23T09:01:00Z"
    assert seen[0]["detail-type"] == "Scheduled Event"
    assert time_of_second_run == "2026-11-23T09:11:00Z"
    assert len(seen) == 2
