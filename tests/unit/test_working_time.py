"""The reply-promise calendar (SPEC §2 "Reply promise"): deadlines counted in working time."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.working_time import (
    WorkingCalendar, add_working_time, is_working, next_working_start, public_holidays,
)

UTC = timezone.utc
OFFICE = [(day, "09:00", "17:00") for day in range(5)]  # Mon–Fri 09:00–17:00


def local(tz, *parts):
    return datetime(*parts, tzinfo=ZoneInfo(tz))


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def due(cal, when, hours=8):
    return add_working_time(cal, when.astimezone(UTC), hours)


def wall(instant, tz):
    return instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


UTC_OFFICE = WorkingCalendar("UTC", OFFICE)


# --- the SPEC examples --------------------------------------------------------------------------

def test_message_friday_1600_is_due_monday_1600():
    assert due(UTC_OFFICE, utc(2026, 1, 9, 16)) == utc(2026, 1, 12, 16)


def test_message_saturday_1000_is_due_monday_1700():
    assert due(UTC_OFFICE, utc(2026, 1, 10, 10)) == utc(2026, 1, 12, 17)


def test_message_tuesday_1000_inside_hours_is_due_wednesday_1000():
    assert due(UTC_OFFICE, utc(2026, 1, 13, 10)) == utc(2026, 1, 14, 10)


def test_message_monday_0900_is_due_the_same_day_at_1700():
    assert due(UTC_OFFICE, utc(2026, 1, 12, 9)) == utc(2026, 1, 12, 17)


def test_message_friday_at_closing_time_is_due_monday_at_closing_time():
    assert due(UTC_OFFICE, utc(2026, 1, 9, 17)) == utc(2026, 1, 12, 17)


def test_message_before_opening_counts_from_opening():
    assert due(UTC_OFFICE, utc(2026, 1, 13, 3, 15)) == utc(2026, 1, 13, 17)


def test_results_are_utc():
    result = due(WorkingCalendar("Europe/London", OFFICE), local("Europe/London", 2026, 1, 9, 16))
    assert result.utcoffset() == timedelta(0) and result.tzinfo == UTC


def test_amount_may_be_a_timedelta_or_fractional_hours():
    start = utc(2026, 1, 13, 16, 30)
    assert add_working_time(UTC_OFFICE, start, timedelta(minutes=45)) == utc(2026, 1, 14, 9, 15)
    assert add_working_time(UTC_OFFICE, start, 0.75) == utc(2026, 1, 14, 9, 15)


def test_zero_working_time_is_the_start_itself():
    assert add_working_time(UTC_OFFICE, utc(2026, 1, 10, 10), 0) == utc(2026, 1, 10, 10)


def test_negative_working_time_is_refused():
    with pytest.raises(ValueError):
        add_working_time(UTC_OFFICE, utc(2026, 1, 10, 10), -1)


def test_a_further_working_day_after_the_due_time_escalates_to_ops_monday_to_tuesday():
    first = due(UTC_OFFICE, utc(2026, 1, 9, 16))
    assert due(UTC_OFFICE, first) == utc(2026, 1, 13, 16)


def test_the_provider_time_zone_decides_the_hours():
    ny = WorkingCalendar("America/New_York", OFFICE)
    # Tue 10:00 in New York is 15:00 UTC; due Wed 10:00 New York time.
    assert due(ny, local("America/New_York", 2026, 1, 13, 10)) == utc(2026, 1, 14, 15)


# --- DST -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tz, friday, monday, utc_hours", [
    # spring forward: the weekend loses an hour, the working time does not
    ("America/New_York", date(2026, 3, 6), date(2026, 3, 9), 71),
    ("Europe/London", date(2026, 3, 27), date(2026, 3, 30), 71),
    # fall back: the weekend gains an hour
    ("America/New_York", date(2026, 10, 30), date(2026, 11, 2), 73),
    ("Europe/London", date(2026, 10, 23), date(2026, 10, 26), 73),
])
def test_friday_1600_is_due_monday_1600_local_across_a_dst_weekend(tz, friday, monday, utc_hours):
    cal = WorkingCalendar(tz, OFFICE)
    start = local(tz, friday.year, friday.month, friday.day, 16)
    result = due(cal, start)
    assert wall(result, tz) == datetime(monday.year, monday.month, monday.day, 16)
    assert result - start == timedelta(hours=utc_hours)


def test_a_24_hour_window_on_a_spring_forward_day_holds_23_hours():
    sundays = WorkingCalendar("America/New_York", [(6, "00:00", "24:00")])
    start = local("America/New_York", 2026, 3, 8, 0)
    assert add_working_time(sundays, start, 23) == utc(2026, 3, 9, 4)  # Mon 00:00 EDT
    assert wall(add_working_time(sundays, start, 24), "America/New_York") == datetime(2026, 3, 15, 1)


def test_a_24_hour_window_on_a_fall_back_day_holds_25_hours():
    sundays = WorkingCalendar("Europe/London", [(6, "00:00", "24:00")])
    start = local("Europe/London", 2026, 10, 25, 0)
    assert add_working_time(sundays, start, 25) == utc(2026, 10, 26, 0)  # Mon 00:00 GMT
    assert wall(add_working_time(sundays, start, 26), "Europe/London") == datetime(2026, 11, 1, 1)


def test_a_window_starting_inside_the_spring_forward_gap_starts_when_the_clocks_jump():
    cal = WorkingCalendar("America/New_York", [(6, "02:30", "04:00")])
    assert not is_working(cal, utc(2026, 3, 8, 6, 59))
    assert is_working(cal, utc(2026, 3, 8, 7, 0))  # 03:00 EDT, the first wall time after 02:30
    assert add_working_time(cal, utc(2026, 3, 8, 5), 1) == utc(2026, 3, 8, 8)  # 04:00 EDT


def test_the_repeated_hour_of_a_fall_back_night_counts_twice():
    cal = WorkingCalendar("America/New_York", [(6, "00:00", "03:00")])
    # 00:00 EDT (04:00Z) to 03:00 EST (08:00Z): four real hours of a three-hour wall window.
    assert add_working_time(cal, utc(2026, 11, 1, 4), 4) == utc(2026, 11, 1, 8)


# --- public holidays -----------------------------------------------------------------------------

def test_us_independence_day_observed_on_friday_is_skipped():
    cal = WorkingCalendar("America/New_York", OFFICE, "US")
    # July 4th 2026 is a Saturday, observed Friday July 3rd.
    assert wall(due(cal, local("America/New_York", 2026, 7, 2, 16)), "America/New_York") == datetime(2026, 7, 6, 16)


def test_gb_christmas_and_observed_boxing_day_are_skipped():
    cal = WorkingCalendar("Europe/London", OFFICE, "GB")
    # Fri 25 Christmas, Sat 26 Boxing Day observed on Mon 28.
    assert due(cal, local("Europe/London", 2026, 12, 24, 16)) == utc(2026, 12, 29, 16)


def test_no_country_means_no_holidays():
    cal = WorkingCalendar("Europe/London", OFFICE, None)
    assert due(cal, local("Europe/London", 2026, 12, 24, 16)) == utc(2026, 12, 25, 16)  # Christmas is a working day


def test_unknown_country_means_no_holidays_rather_than_an_error():
    cal = WorkingCalendar("Europe/London", OFFICE, "ZZ")
    assert due(cal, local("Europe/London", 2026, 12, 24, 16)) == utc(2026, 12, 25, 16)  # Christmas is a working day


def test_a_subdivision_adds_its_regional_holidays():
    cal = WorkingCalendar("America/New_York", OFFICE, "US-NY")
    # Lincoln's Birthday (Thu 12 Feb) is a New York State holiday, not a federal one.
    assert wall(due(cal, local("America/New_York", 2026, 2, 11, 16)), "America/New_York") == datetime(2026, 2, 13, 16)
    federal = WorkingCalendar("America/New_York", OFFICE, "US")
    assert wall(due(federal, local("America/New_York", 2026, 2, 11, 16)), "America/New_York") == datetime(2026, 2, 12, 16)


def test_an_unknown_subdivision_falls_back_to_the_country():
    assert public_holidays("US-XX", 2026) == public_holidays("US", 2026)


def test_country_codes_are_case_insensitive():
    assert WorkingCalendar("UTC", OFFICE, "gb").country == "GB"
    assert date(2026, 12, 25) in public_holidays("gb", 2026)


def test_holiday_sets_are_cached_per_country_and_year():
    public_holidays("FR", 2031)
    before = public_holidays.cache_info().hits
    public_holidays("FR", 2031)
    assert public_holidays.cache_info().hits == before + 1


def test_a_deadline_crossing_new_year_uses_the_next_years_holidays():
    cal = WorkingCalendar("Europe/London", OFFICE, "GB")
    # Thu 31 Dec 2026 16:00 → Fri 1 Jan 2027 is New Year's Day → Mon 4 Jan 16:00.
    assert due(cal, local("Europe/London", 2026, 12, 31, 16)) == utc(2027, 1, 4, 16)


# --- is_working and next_working_start ----------------------------------------------------------

@pytest.mark.parametrize("instant, working", [
    (utc(2026, 1, 13, 9, 0), True),           # opening time is inside
    (utc(2026, 1, 13, 16, 59, 59), True),
    (utc(2026, 1, 13, 17, 0), False),         # closing time is outside
    (utc(2026, 1, 13, 8, 59, 59), False),
    (utc(2026, 1, 10, 12, 0), False),         # Saturday
])
def test_is_working_window_start_inclusive_end_exclusive(instant, working):
    assert is_working(UTC_OFFICE, instant) is working


def test_a_holiday_is_not_working_time():
    cal = WorkingCalendar("Europe/London", OFFICE, "GB")
    assert not is_working(cal, local("Europe/London", 2026, 12, 28, 12))


def test_next_working_start_inside_hours_is_now():
    assert next_working_start(UTC_OFFICE, utc(2026, 1, 13, 10)) == utc(2026, 1, 13, 10)


def test_next_working_start_on_saturday_is_monday_0900():
    assert next_working_start(UTC_OFFICE, utc(2026, 1, 10, 10)) == utc(2026, 1, 12, 9)


def test_next_working_start_at_friday_closing_is_monday_0900():
    assert next_working_start(UTC_OFFICE, utc(2026, 1, 9, 17)) == utc(2026, 1, 12, 9)


# --- windows -----------------------------------------------------------------------------------

def test_a_window_may_end_at_2400_and_run_on_into_the_next_morning():
    cal = WorkingCalendar("UTC", [(0, "20:00", "24:00"), (1, "00:00", "04:00")])
    assert add_working_time(cal, utc(2026, 1, 12, 22), 4) == utc(2026, 1, 13, 2)
    assert is_working(cal, utc(2026, 1, 12, 23, 59))
    assert not is_working(cal, utc(2026, 1, 13, 4))


def test_windows_may_be_given_as_api_objects():
    cal = WorkingCalendar("UTC", [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)])
    assert cal == UTC_OFFICE


def test_overlapping_windows_count_their_shared_hours_once():
    cal = WorkingCalendar("UTC", [(1, "09:00", "13:00"), (1, "12:00", "17:00")])
    assert add_working_time(cal, utc(2026, 1, 13, 9), 8) == utc(2026, 1, 13, 17)


def test_a_split_day_skips_the_lunch_break():
    cal = WorkingCalendar("UTC", [(1, "09:00", "12:00"), (1, "13:00", "17:00")])
    assert add_working_time(cal, utc(2026, 1, 13, 11), 2) == utc(2026, 1, 13, 14)


def test_a_calendar_without_working_hours_cannot_set_a_deadline():
    empty = WorkingCalendar("UTC", [])
    with pytest.raises(ValueError):
        add_working_time(empty, utc(2026, 1, 13, 10), 8)
    with pytest.raises(ValueError):
        next_working_start(empty, utc(2026, 1, 13, 10))
    assert not is_working(empty, utc(2026, 1, 13, 10))


@pytest.mark.parametrize("windows", [
    [(0, "17:00", "09:00")],      # overnight
    [(0, "09:00", "09:00")],      # empty
    [(0, "24:00", "24:00")],      # 24:00 only ends a window
    [(7, "09:00", "17:00")],      # weekday out of range
    [(0, "9:00", "17:00")],       # not HH:MM
    [(0, "09:00", "24:30")],
    [(True, "09:00", "17:00")],
    [("Monday", "09:00", "17:00")],
    [(0, "09:00")],
])
def test_bad_windows_are_refused(windows):
    with pytest.raises(ValueError):
        WorkingCalendar("UTC", windows)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError):
        WorkingCalendar("Mars/Olympus_Mons", OFFICE)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        add_working_time(UTC_OFFICE, datetime(2026, 1, 13, 10), 8)
