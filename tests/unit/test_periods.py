"""Subscription billing periods: monthly from the anchor, local midnight, [start, end)."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.periods import Period, next_period, nth_period, period_containing

UTC = timezone.utc


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def local(tz, *parts):
    return datetime(*parts, tzinfo=ZoneInfo(tz))


def test_a_period_starts_at_local_midnight_on_the_anchor_day():
    period = period_containing(date(2026, 11, 5), "America/New_York", utc(2026, 11, 20))
    assert period == Period(local("America/New_York", 2026, 11, 5), local("America/New_York", 2026, 12, 5), "2026-11-05")
    assert period.start == utc(2026, 11, 5, 5) and period.end == utc(2026, 12, 5, 5)


def test_period_unpacks_as_start_end_label():
    start, end, label = period_containing(date(2026, 1, 15), "UTC", utc(2026, 3, 1))
    assert (start, end, label) == (utc(2026, 2, 15), utc(2026, 3, 15), "2026-02-15")


def test_a_period_includes_its_start():
    assert period_containing(date(2026, 1, 15), "UTC", utc(2026, 2, 15)).label == "2026-02-15"


def test_a_period_excludes_its_end():
    one_before = utc(2026, 2, 15) - timedelta(microseconds=1)
    assert period_containing(date(2026, 1, 15), "UTC", one_before).label == "2026-01-15"


def test_the_clients_time_zone_decides_where_a_period_starts():
    # 2026-02-15 03:00Z is still the 14th in New York: the previous period.
    assert period_containing(date(2026, 1, 15), "America/New_York", utc(2026, 2, 15, 3)).label == "2026-01-15"
    assert period_containing(date(2026, 1, 15), "America/New_York", utc(2026, 2, 15, 5)).label == "2026-02-15"
    # …and already the 15th in Tokyo the evening before, UTC.
    assert period_containing(date(2026, 1, 15), "Asia/Tokyo", utc(2026, 2, 14, 15)).label == "2026-02-15"


def test_an_instant_before_the_anchor_belongs_to_no_period():
    assert period_containing(date(2026, 3, 10), "UTC", utc(2026, 3, 9, 23, 59)) is None
    assert period_containing(date(2026, 3, 10), "UTC", utc(2025, 12, 31)) is None


def test_the_anchor_midnight_itself_is_in_the_first_period():
    assert period_containing(date(2026, 3, 10), "Europe/London", local("Europe/London", 2026, 3, 10)).label == "2026-03-10"


@pytest.mark.parametrize("instant, label", [
    (utc(2026, 2, 10), "2026-01-31"),
    (utc(2026, 2, 28), "2026-02-28"),   # clamped to February's last day
    (utc(2026, 3, 30), "2026-02-28"),
    (utc(2026, 3, 31), "2026-03-31"),   # back to the 31st, not drifting to the 28th
    (utc(2026, 4, 30), "2026-04-30"),
    (utc(2026, 5, 31), "2026-05-31"),
    (utc(2028, 2, 29), "2028-02-29"),   # leap year
])
def test_an_anchor_on_the_31st_clamps_to_the_last_day_of_shorter_months(instant, label):
    assert period_containing(date(2026, 1, 31), "UTC", instant).label == label


def test_an_anchor_on_the_29th_clamps_to_28_february_in_a_common_year():
    assert period_containing(date(2025, 12, 29), "UTC", utc(2026, 2, 28, 12)).label == "2026-02-28"
    assert period_containing(date(2025, 12, 29), "UTC", utc(2026, 3, 28, 12)).label == "2026-02-28"
    assert period_containing(date(2025, 12, 29), "UTC", utc(2026, 3, 29)).label == "2026-03-29"


def test_periods_roll_over_the_year():
    period = period_containing(date(2026, 11, 20), "UTC", utc(2027, 1, 5))
    assert (period.start, period.end, period.label) == (utc(2026, 12, 20), utc(2027, 1, 20), "2026-12-20")


def test_a_period_across_a_dst_change_keeps_local_midnights():
    period = period_containing(date(2026, 3, 1), "Europe/London", utc(2026, 3, 20))
    assert period.start == utc(2026, 3, 1, 0) and period.end == utc(2026, 3, 31, 23)  # BST midnight
    assert period.end - period.start == timedelta(days=31, hours=-1)


def test_consecutive_periods_touch():
    first = nth_period(date(2026, 1, 31), "America/New_York", 0)
    second = nth_period(date(2026, 1, 31), "America/New_York", 1)
    assert first.end == second.start


def test_next_period_follows_the_one_holding_the_instant():
    assert next_period(date(2026, 1, 15), "UTC", utc(2026, 2, 20)).label == "2026-03-15"
    assert next_period(date(2026, 1, 15), "UTC", utc(2026, 3, 14, 23)).label == "2026-03-15"
    assert next_period(date(2026, 1, 15), "UTC", utc(2026, 3, 15)).label == "2026-04-15"


def test_next_period_before_the_anchor_is_the_first_period():
    assert next_period(date(2026, 3, 10), "UTC", utc(2026, 1, 1)).label == "2026-03-10"


def test_contains_is_start_inclusive_end_exclusive():
    period = nth_period(date(2026, 1, 15), "UTC", 0)
    assert period.contains(period.start) and not period.contains(period.end)


def test_a_local_midnight_inside_a_dst_gap_starts_the_period_when_the_clocks_jump():
    # Chile springs forward at 24:00 on Saturday 5 Sept 2026: Sunday 00:00 does not exist.
    period = nth_period(date(2026, 8, 6), "America/Santiago", 1)
    assert period.label == "2026-09-06"
    assert period.start.astimezone(ZoneInfo("America/Santiago")).replace(tzinfo=None) == datetime(2026, 9, 6, 1)
    assert period_containing(date(2026, 8, 6), "America/Santiago", period.start).label == "2026-09-06"
    assert period_containing(date(2026, 8, 6), "America/Santiago", period.start - timedelta(seconds=1)).label == "2026-08-06"


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        period_containing(date(2026, 1, 15), "UTC", datetime(2026, 2, 1))
