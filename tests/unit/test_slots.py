"""Slot arithmetic: free slots on the provider's local half-hour grid, DST, and claim keys."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.slots import (
    check_slot, claim_keys, free_slots, is_on_slot, weekly_windows, within_availability,
)

UTC = timezone.utc
NY, LONDON = "America/New_York", "Europe/London"


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def local(tz, *parts, fold=0):
    return datetime(*parts, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def starts(slots):
    return [start for start, _ in slots]


def walls(slots, tz):
    return [start.astimezone(ZoneInfo(tz)).strftime("%H:%M") for start, _ in slots]


TUESDAY_MORNING = [(1, "09:00", "12:00")]
TUESDAY = (utc(2026, 1, 13), utc(2026, 1, 14))


# --- the grid and the windows -------------------------------------------------------------------

def test_slots_start_on_the_hour_and_half_hour_and_fit_inside_the_window():
    slots = free_slots(TUESDAY_MORNING, "UTC", *TUESDAY)
    assert walls(slots, "UTC") == ["09:00", "09:30", "10:00", "10:30", "11:00"]  # 11:30 would end 12:15
    assert all(end - start == timedelta(minutes=45) for start, end in slots)


def test_a_window_off_the_grid_starts_slots_at_the_next_half_hour():
    assert walls(free_slots([(1, "09:10", "11:00")], "UTC", *TUESDAY), "UTC") == ["09:30", "10:00"]


def test_a_session_exactly_filling_the_end_of_a_window_fits():
    assert walls(free_slots([(1, "09:00", "09:45")], "UTC", *TUESDAY), "UTC") == ["09:00"]


def test_a_window_too_short_for_a_session_gives_no_slots():
    assert free_slots([(1, "09:00", "09:40")], "UTC", *TUESDAY) == []
    # Five more minutes and the same call lists the session, so the empty list above is the rule.
    assert walls(free_slots([(1, "09:00", "09:45")], "UTC", *TUESDAY), "UTC") == ["09:00"]


def test_touching_windows_form_one_stretch():
    slots = free_slots([(1, "09:00", "10:00"), (1, "10:00", "11:00")], "UTC", *TUESDAY)
    assert walls(slots, "UTC") == ["09:00", "09:30", "10:00"]


def test_a_window_ending_at_midnight_runs_on_into_the_next_morning():
    windows = [(1, "23:00", "24:00"), (2, "00:00", "01:00")]
    slots = free_slots(windows, "UTC", utc(2026, 1, 13), utc(2026, 1, 15))
    assert starts(slots) == [utc(2026, 1, 13, 23), utc(2026, 1, 13, 23, 30), utc(2026, 1, 14, 0)]


def test_only_starts_inside_the_range_are_listed():
    slots = free_slots(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 10), utc(2026, 1, 13, 11))
    assert walls(slots, "UTC") == ["10:00", "10:30"]


def test_slots_come_every_week_on_the_windows_weekday():
    slots = free_slots([(1, "09:00", "09:45")], "UTC", utc(2026, 1, 1), utc(2026, 2, 1))
    assert starts(slots) == [utc(2026, 1, d, 9) for d in (6, 13, 20, 27)]


def test_length_and_step_are_settings():
    slots = free_slots(TUESDAY_MORNING, "UTC", *TUESDAY, length_minutes=60, step_minutes=60)
    assert walls(slots, "UTC") == ["09:00", "10:00", "11:00"]


def test_no_windows_no_slots():
    assert free_slots([], "UTC", *TUESDAY) == []
    assert len(free_slots(TUESDAY_MORNING, "UTC", *TUESDAY)) == 5  # the same day with a window


def test_an_empty_range_has_no_slots():
    assert free_slots(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 12), utc(2026, 1, 13, 9)) == []
    assert free_slots(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 10), utc(2026, 1, 13, 10)) == []
    # The same bounds the right way round hold the whole morning.
    assert walls(free_slots(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 9), utc(2026, 1, 13, 12)), "UTC") == \
        ["09:00", "09:30", "10:00", "10:30", "11:00"]


def test_windows_come_from_api_objects_too():
    windows = weekly_windows([{"weekday": 1, "start": "09:00", "end": "12:00"}])
    slots = free_slots(windows, "UTC", *TUESDAY)
    assert walls(slots, "UTC") == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert slots == free_slots(TUESDAY_MORNING, "UTC", *TUESDAY)


# --- busy time -----------------------------------------------------------------------------------

def test_slots_overlapping_a_booking_are_not_free():
    busy = [(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10, 45))]
    # 09:30 would end 10:15 (overlap); 10:00, 10:30 overlap; 11:00 starts after 10:45.
    assert walls(free_slots(TUESDAY_MORNING, "UTC", *TUESDAY, busy=busy), "UTC") == ["09:00", "11:00"]


def test_a_slot_may_start_when_a_busy_interval_ends():
    busy = [(utc(2026, 1, 13, 9), utc(2026, 1, 13, 9, 30))]
    assert walls(free_slots(TUESDAY_MORNING, "UTC", *TUESDAY, busy=busy), "UTC") == \
        ["09:30", "10:00", "10:30", "11:00"]


def test_busy_intervals_in_any_order_and_zone_are_respected():
    busy = [(local(NY, 2026, 1, 13, 6), local(NY, 2026, 1, 13, 6, 45)),  # 11:00–11:45 UTC
            (utc(2026, 1, 13, 9), utc(2026, 1, 13, 9, 45))]
    assert walls(free_slots(TUESDAY_MORNING, "UTC", *TUESDAY, busy=busy), "UTC") == ["10:00"]


# --- zones and DST -----------------------------------------------------------------------------------

def test_a_london_providers_0900_is_0400_in_new_york_in_the_utc_output():
    slots = free_slots([(1, "09:00", "09:45")], LONDON, *TUESDAY)
    assert starts(slots) == [utc(2026, 1, 13, 9)]
    assert slots[0][0].astimezone(ZoneInfo(NY)).strftime("%H:%M") == "04:00"


def test_a_summer_london_0900_is_0800_utc():
    assert starts(free_slots([(1, "09:00", "09:45")], LONDON, utc(2026, 7, 14), utc(2026, 7, 15))) == [utc(2026, 7, 14, 8)]


def test_a_half_hour_grid_follows_local_time_in_a_quarter_hour_zone():
    # Kathmandu is UTC+05:45: local 09:00 is 03:15 UTC.
    slots = free_slots([(1, "09:00", "10:00")], "Asia/Kathmandu", *TUESDAY)
    assert starts(slots) == [utc(2026, 1, 13, 3, 15)]


def test_on_a_spring_forward_night_no_slot_falls_in_the_missing_hour():
    # New York, Sunday 8 March 2026: 02:00 jumps to 03:00, so 02:00 and 02:30 do not exist.
    slots = free_slots([(6, "01:00", "05:00")], NY, utc(2026, 3, 8), utc(2026, 3, 9))
    assert walls(slots, NY) == ["01:00", "01:30", "03:00", "03:30", "04:00"]


def test_a_spring_forward_window_has_its_real_length():
    # 01:00–05:00 that night is three real hours; 01:30 EST + 45 min is 03:15 EDT, inside it,
    # and 04:30 would end 05:15.
    slots = free_slots([(6, "01:00", "05:00")], NY, utc(2026, 3, 8), utc(2026, 3, 9))
    assert slots[1] == (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 15))
    assert slots[-1] == (utc(2026, 3, 8, 8), utc(2026, 3, 8, 8, 45))


def test_london_spring_forward_skips_0100_and_0130():
    slots = free_slots([(6, "00:00", "03:00")], LONDON, utc(2026, 3, 29), utc(2026, 3, 30))
    assert walls(slots, LONDON) == ["00:00", "00:30", "02:00"]


def test_on_a_fall_back_night_0130_happens_twice_and_each_real_instant_is_listed_once():
    # New York, Sunday 1 November 2026: 02:00 EDT falls back to 01:00 EST.
    slots = free_slots([(6, "01:00", "03:00")], NY, utc(2026, 11, 1), utc(2026, 11, 2))
    first_0130, second_0130 = local(NY, 2026, 11, 1, 1, 30, fold=0), local(NY, 2026, 11, 1, 1, 30, fold=1)
    assert second_0130 - first_0130 == timedelta(hours=1)
    assert walls(slots, NY) == ["01:00", "01:30", "01:00", "01:30", "02:00"]  # 02:30 would end 03:15
    assert first_0130 in starts(slots) and second_0130 in starts(slots)
    assert starts(slots) == sorted(set(starts(slots)))


def test_both_occurrences_of_a_repeated_time_are_on_the_slot_grid():
    assert is_on_slot(local(NY, 2026, 11, 1, 1, 30, fold=0), NY)
    assert is_on_slot(local(NY, 2026, 11, 1, 1, 30, fold=1), NY)


def test_a_busy_first_0130_leaves_the_second_0130_free():
    first = local(NY, 2026, 11, 1, 1, 30, fold=0)
    busy = [(first, first + timedelta(minutes=45))]
    slots = free_slots([(6, "01:00", "03:00")], NY, utc(2026, 11, 1), utc(2026, 11, 2), busy=busy)
    assert first not in starts(slots)
    assert local(NY, 2026, 11, 1, 1, 30, fold=1) in starts(slots)
    # Busy is 05:30–06:15 UTC: 01:00 EDT (05:00) and 01:00 EST (06:00) overlap it as well.
    assert starts(slots) == [local(NY, 2026, 11, 1, 1, 30, fold=1), local(NY, 2026, 11, 1, 2, 0)]


def test_every_listed_slot_passes_the_booking_checks():
    windows = [(d, "08:00", "20:00") for d in range(7)]
    every_day = ["08:00", "08:30"] + [f"{h:02d}:{m:02d}" for h in range(9, 19) for m in (0, 30)] + ["19:00"]
    for tz in (NY, LONDON, "Asia/Kathmandu", "Australia/Lord_Howe"):
        slots = free_slots(windows, tz, utc(2026, 3, 1), utc(2026, 4, 10))
        # Each whole local day inside the range lists 08:00 … 19:00 (19:30 would end 20:15),
        # DST nights included (NY 8 Mar, London 29 Mar, Lord Howe 5 Apr): 23 slots a day.
        by_day = {}
        for start, _ in slots:
            wall = start.astimezone(ZoneInfo(tz))
            by_day.setdefault(wall.date(), []).append(wall.strftime("%H:%M"))
        whole_days = sorted(by_day)[1:-1]
        assert len(whole_days) >= 38, tz
        for day in whole_days:
            assert by_day[day] == every_day, (tz, day)
        for start, end in slots:
            check_slot(windows, tz, start, end)


# --- is_on_slot, within_availability, check_slot ------------------------------------------------

@pytest.mark.parametrize("instant, on_slot", [
    (local(LONDON, 2026, 1, 13, 9, 0), True),
    (local(LONDON, 2026, 1, 13, 9, 30), True),
    (local(LONDON, 2026, 1, 13, 9, 15), False),
    (local(LONDON, 2026, 1, 13, 9, 0, 1), False),
    (local(LONDON, 2026, 1, 13, 9, 0) + timedelta(microseconds=1), False),
])
def test_is_on_slot_needs_the_hour_or_half_hour_to_the_second(instant, on_slot):
    assert is_on_slot(instant, LONDON) is on_slot


def test_is_on_slot_uses_the_providers_local_clock():
    assert is_on_slot(utc(2026, 1, 13, 3, 15), "Asia/Kathmandu")      # 09:00 local
    assert not is_on_slot(utc(2026, 1, 13, 3, 0), "Asia/Kathmandu")   # 08:45 local


def test_within_availability_needs_the_whole_session_inside():
    assert within_availability(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 11), utc(2026, 1, 13, 11, 45))
    assert not within_availability(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 11, 30), utc(2026, 1, 13, 12, 15))
    assert not within_availability(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 8, 30), utc(2026, 1, 13, 9, 15))
    assert not within_availability(TUESDAY_MORNING, "UTC", utc(2026, 1, 14, 9), utc(2026, 1, 14, 9, 45))


def test_within_availability_across_midnight_windows():
    windows = [(1, "23:00", "24:00"), (2, "00:00", "01:00")]
    assert within_availability(windows, "UTC", utc(2026, 1, 13, 23, 30), utc(2026, 1, 14, 0, 15))


def test_check_slot_refuses_an_off_grid_time_first():
    with pytest.raises(DomainError) as raised:
        check_slot(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 9, 10), utc(2026, 1, 13, 9, 55))
    assert raised.value.code == "not_on_slot"


def test_check_slot_refuses_a_time_outside_availability():
    with pytest.raises(DomainError) as raised:
        check_slot(TUESDAY_MORNING, "UTC", utc(2026, 1, 13, 14), utc(2026, 1, 13, 14, 45))
    assert raised.value.code == "outside_availability"


# --- claim keys -----------------------------------------------------------------------------------

def test_a_45_minute_session_at_1000_claims_1000_and_1030():
    assert claim_keys(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10, 45)) == ["2026-01-13T10:00Z", "2026-01-13T10:30Z"]


def test_a_session_at_1030_claims_1030_and_1100_so_it_collides_with_one_at_1000():
    at_1000 = claim_keys(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10, 45))
    at_1030 = claim_keys(utc(2026, 1, 13, 10, 30), utc(2026, 1, 13, 11, 15))
    assert at_1030 == ["2026-01-13T10:30Z", "2026-01-13T11:00Z"]
    assert set(at_1000) & set(at_1030)


def test_back_to_back_sessions_on_the_grid_do_not_collide():
    assert not set(claim_keys(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10, 30))) & \
        set(claim_keys(utc(2026, 1, 13, 10, 30), utc(2026, 1, 13, 11, 15)))
    assert not set(claim_keys(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10, 45))) & \
        set(claim_keys(utc(2026, 1, 13, 11), utc(2026, 1, 13, 11, 45)))


def test_claim_keys_are_utc_whatever_zone_the_instant_carries():
    assert claim_keys(local(NY, 2026, 1, 13, 5), local(NY, 2026, 1, 13, 5, 45)) == \
        ["2026-01-13T10:00Z", "2026-01-13T10:30Z"]


def test_an_off_grid_session_claims_every_granule_it_touches():
    assert claim_keys(utc(2026, 1, 13, 10, 15), utc(2026, 1, 13, 11)) == ["2026-01-13T10:00Z", "2026-01-13T10:30Z"]


def test_overlapping_sessions_always_share_a_claim_key():
    base = utc(2026, 1, 13, 8)
    for a in range(0, 240, 15):
        for b in range(0, 240, 15):
            first = (base + timedelta(minutes=a), base + timedelta(minutes=a + 45))
            second = (base + timedelta(minutes=b), base + timedelta(minutes=b + 45))
            overlap = first[0] < second[1] and second[0] < first[1]
            if overlap:
                assert set(claim_keys(*first)) & set(claim_keys(*second)), (a, b)


def test_a_finer_step_claims_more_granules():
    assert claim_keys(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10, 45), step_minutes=15) == \
        ["2026-01-13T10:00Z", "2026-01-13T10:15Z", "2026-01-13T10:30Z"]


def test_an_empty_claim_is_a_programming_error():
    with pytest.raises(ValueError):
        claim_keys(utc(2026, 1, 13, 10), utc(2026, 1, 13, 10))
