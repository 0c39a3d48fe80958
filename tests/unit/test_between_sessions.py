"""Between sessions: journal, moods and their weekly means, goals, homework reminders, talkcasts."""
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.between_sessions import (
    DEFAULT_TALKCAST_VOICE, EMOTIONS, MAX_LIST_DAYS, TALKCAST_VOICES, GoalDraft, HomeworkDraft, MoodDraft,
    goal_draft, goal_status, half_up_mean, homework_draft, homework_reminder_at, journal_entry_draft,
    list_window, mood_draft, parse_local_date, talkcast_draft, talkcast_voice, weekly,
)
from chalicelib.domain.errors import DomainError

UTC = timezone.utc


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def local(tz, *parts):
    return datetime(*parts, tzinfo=ZoneInfo(tz))


def mood(at, score=5):
    return {"created_at": at, "score": score}


@contextmanager
def refused(code="validation_error", field=None):
    """Expect a DomainError with `code` (and `details.field`, when given)."""
    with pytest.raises(DomainError) as raised:
        yield raised
    assert raised.value.code == code
    if field is not None:
        assert raised.value.details.get("field") == field


# --- weekly means -------------------------------------------------------------------------------

def test_a_check_in_counts_in_the_week_of_its_local_monday_in_auckland():
    tz = "Pacific/Auckland"  # NZDT, UTC+13 in November
    sunday_late = utc(2026, 11, 22, 10, 30)   # Sun 23:30 in Auckland
    monday_early = utc(2026, 11, 22, 11, 30)  # Mon 00:30 in Auckland, still Sunday in UTC
    assert monday_early.astimezone(ZoneInfo(tz)).weekday() == 0
    assert weekly([mood(sunday_late, 4), mood(monday_early, 8)], tz) == [
        {"week": "2026-11-16", "mean": 4.0, "count": 1},
        {"week": "2026-11-23", "mean": 8.0, "count": 1},
    ]


def test_a_check_in_counts_in_the_week_of_its_local_monday_in_los_angeles():
    tz = "America/Los_Angeles"  # PST, UTC−8 in November
    sunday_evening = utc(2026, 11, 23, 5)  # Monday in UTC, Sun 21:00 in Los Angeles
    monday_midnight = utc(2026, 11, 23, 8)  # Mon 00:00 in Los Angeles: the new week
    assert weekly([mood(sunday_evening, 3), mood(monday_midnight, 7)], tz) == [
        {"week": "2026-11-16", "mean": 3.0, "count": 1},
        {"week": "2026-11-23", "mean": 7.0, "count": 1},
    ]


def test_weeks_follow_the_offset_of_each_day_when_clocks_fall_back():
    tz = "America/Los_Angeles"  # back from PDT (−7) to PST (−8) on Sun 1 Nov 2026
    saturday_pdt = local(tz, 2026, 10, 31, 23, 30)
    sunday_night_pst = utc(2026, 11, 2, 7, 30)  # Sun 23:30 PST; with PDT's offset it would be Monday
    monday_pst = utc(2026, 11, 2, 8, 30)  # Mon 00:30 PST
    assert weekly([mood(monday_pst, 6), mood(sunday_night_pst, 2), mood(saturday_pdt, 4)], tz) == [
        {"week": "2026-10-26", "mean": 3.0, "count": 2},
        {"week": "2026-11-02", "mean": 6.0, "count": 1},
    ]


def test_weeks_follow_the_offset_of_each_day_when_clocks_spring_forward():
    tz = "America/Los_Angeles"  # from PST (−8) to PDT (−7) on Sun 8 Mar 2026
    sunday_pdt = local(tz, 2026, 3, 8, 23, 0)
    monday_pdt = utc(2026, 3, 9, 7, 30)  # Mon 00:30 PDT; with PST's offset it would be Sunday
    assert weekly([mood(sunday_pdt, 5), mood(monday_pdt, 9)], tz) == [
        {"week": "2026-03-02", "mean": 5.0, "count": 1},
        {"week": "2026-03-09", "mean": 9.0, "count": 1},
    ]


def test_the_week_across_new_year_is_one_week_named_by_its_monday_in_december():
    tz = "Europe/London"
    moods = [
        mood(utc(2027, 1, 4, 0, 0), 10),        # Monday: the next week
        mood(utc(2026, 12, 31, 23, 59), 2),
        mood(utc(2027, 1, 1, 0, 0), 3),
        mood(utc(2026, 12, 28, 0, 0), 4),       # the Monday itself
        mood(utc(2027, 1, 3, 23, 59, 59), 5),   # the Sunday, last second
        mood(utc(2026, 12, 27, 12, 0), 1),      # the Sunday before
    ]
    assert weekly(moods, tz) == [
        {"week": "2026-12-21", "mean": 1.0, "count": 1},
        {"week": "2026-12-28", "mean": 3.5, "count": 4},
        {"week": "2027-01-04", "mean": 10.0, "count": 1},
    ]


def test_new_year_in_auckland_comes_while_utc_is_still_in_the_old_year():
    tz = "Pacific/Auckland"
    first_monday_of_2027 = utc(2027, 1, 3, 11, 30)  # Mon 4 Jan 00:30 NZDT
    last_sunday = utc(2027, 1, 3, 10, 30)  # Sun 3 Jan 23:30 NZDT
    assert [w["week"] for w in weekly([mood(first_monday_of_2027), mood(last_sunday)], tz)] == \
        ["2026-12-28", "2027-01-04"]


@pytest.mark.parametrize("scores, mean", [
    ([2, 2, 2, 3], 2.3),      # 2.25: half up, where float rounding gives 2.2
    ([1, 2], 1.5),
    ([3, 3, 4], 3.3),         # 3.333…
    ([4, 5, 5], 4.7),         # 4.666…
    ([1, 1, 2, 2, 2, 2, 2, 2], 1.8),  # 1.75
    ([2] * 19 + [9], 2.4),       # 2.35 exactly: half up
    ([10], 10.0),
])
def test_weekly_means_round_half_up_to_one_decimal(scores, mean):
    monday = utc(2026, 11, 23, 12)
    moods = [mood(monday + timedelta(minutes=i), s) for i, s in enumerate(scores)]
    assert weekly(moods, "UTC") == [{"week": "2026-11-23", "mean": mean, "count": len(scores)}]


def test_a_half_up_mean_is_a_plain_json_number():
    assert round(2.25, 1) == 2.2  # why Decimal: binary floats round this half to even
    assert json.dumps(half_up_mean([2, 2, 2, 3])) == "2.3"


def test_weekly_reads_objects_and_iso_text_and_is_empty_without_moods():
    @dataclass
    class Stored:
        created_at: datetime
        score: int

    assert weekly([], "Europe/London") == []
    assert weekly([Stored(utc(2026, 11, 23, 9), 6), {"created_at": "2026-11-24T09:00:00Z", "score": 7}],
                  "Europe/London") == [{"week": "2026-11-23", "mean": 6.5, "count": 2}]


def test_weekly_refuses_an_unknown_time_zone():
    with refused(field="timezone"):
        weekly([mood(utc(2026, 11, 23))], "Mars/Olympus_Mons")


# --- the list window --------------------------------------------------------------------------

def test_the_window_runs_from_local_midnight_to_local_midnight():
    start, end = list_window("2026-11-23", "2026-11-30", "Pacific/Auckland")
    assert (start, end) == (utc(2026, 11, 22, 11), utc(2026, 11, 29, 11))


def test_a_window_over_the_fall_back_day_is_25_hours_long():
    start, end = list_window(date(2026, 11, 1), date(2026, 11, 2), "America/Los_Angeles")
    assert (start, end) == (utc(2026, 11, 1, 7), utc(2026, 11, 2, 8))
    assert end - start == timedelta(hours=25)


def test_a_window_over_the_spring_forward_day_is_23_hours_long():
    start, end = list_window("2026-03-29", "2026-03-30", "Europe/London")
    assert (start, end) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))


def test_a_local_midnight_that_does_not_exist_starts_the_window_when_the_clocks_jump():
    # Chile springs forward at 24:00: 6 Sep 2026 begins at 01:00 −03, i.e. 04:00 UTC.
    start, _ = list_window("2026-09-06", "2026-09-07", "America/Santiago")
    assert start == utc(2026, 9, 6, 4)
    assert start.astimezone(ZoneInfo("America/Santiago")).date() == date(2026, 9, 6)


def test_the_window_holds_exactly_the_instants_whose_local_date_is_in_range():
    tz = ZoneInfo("America/Los_Angeles")
    start, end = list_window("2026-10-31", "2026-11-03", "America/Los_Angeles")
    tick = timedelta(microseconds=1)
    assert (start - tick).astimezone(tz).date() == date(2026, 10, 30)
    assert start.astimezone(tz).date() == date(2026, 10, 31)
    assert (end - tick).astimezone(tz).date() == date(2026, 11, 2)
    assert end.astimezone(tz).date() == date(2026, 11, 3)


def test_the_window_is_given_in_utc():
    start, end = list_window("2026-11-23", "2026-11-24", "Europe/Paris")
    assert start.tzinfo == UTC and end.tzinfo == UTC


@pytest.mark.parametrize("first, last", [("2026-11-23", "2026-11-23"), ("2026-11-24", "2026-11-23")])
def test_to_must_come_after_from(first, last):
    with refused(field="to"):
        list_window(first, last, "UTC")


def test_a_window_may_span_a_year_and_no_more():
    assert list_window("2028-01-01", "2029-01-01", "UTC")  # 366 days, a leap year
    with refused("range_too_large"):
        list_window(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=MAX_LIST_DAYS + 1), "UTC")


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "2026-W48-1", "20261123", "2026-11-23T00:00:00Z",
                                   datetime(2026, 11, 23, tzinfo=UTC), None, 20261123, ""])
def test_list_dates_must_be_calendar_dates(value):
    with refused(field="from"):
        list_window(value, "2026-12-01", "UTC")


def test_parse_local_date_takes_a_date_or_its_iso_text():
    assert parse_local_date("2026-11-23") == date(2026, 11, 23) == parse_local_date(date(2026, 11, 23))


# --- homework reminders -----------------------------------------------------------------------

@pytest.mark.parametrize("due, expected", [
    (date(2026, 3, 8), utc(2026, 3, 7, 14)),    # Sat 09:00 EST (−5)
    (date(2026, 3, 9), utc(2026, 3, 8, 13)),    # Sun 09:00 EDT (−4): clocks sprang forward at 02:00 that day
    (date(2026, 11, 1), utc(2026, 10, 31, 13)),  # Sat 09:00 EDT
    (date(2026, 11, 2), utc(2026, 11, 1, 14)),  # Sun 09:00 EST: clocks fell back at 02:00 that day
])
def test_the_homework_reminder_is_at_nine_new_york_time_the_day_before(due, expected):
    assert homework_reminder_at(due, "America/New_York") == expected


@pytest.mark.parametrize("due, expected", [
    (date(2026, 3, 29), utc(2026, 3, 28, 9)),   # Sat 09:00 GMT
    (date(2026, 3, 30), utc(2026, 3, 29, 8)),   # Sun 09:00 BST: clocks went forward at 01:00
    (date(2026, 10, 25), utc(2026, 10, 24, 8)),  # Sat 09:00 BST
    (date(2026, 10, 26), utc(2026, 10, 25, 9)),  # Sun 09:00 GMT: clocks went back at 02:00
])
def test_the_homework_reminder_is_at_nine_london_time_the_day_before(due, expected):
    assert homework_reminder_at(due, "Europe/London") == expected


def test_the_reminder_for_new_years_day_in_auckland_falls_on_an_earlier_utc_day():
    assert homework_reminder_at(date(2027, 1, 1), "Pacific/Auckland") == utc(2026, 12, 30, 20)


def test_a_reminder_time_inside_a_spring_forward_gap_moves_to_the_jump():
    # 02:30 does not exist in New York on 8 Mar 2026: clocks go from 02:00 EST to 03:00 EDT.
    assert homework_reminder_at(date(2026, 3, 9), "America/New_York", at="02:30") == utc(2026, 3, 8, 7)


def test_a_reminder_time_that_happens_twice_is_its_first_occurrence():
    # 01:30 happens twice in New York on 1 Nov 2026: first in EDT (05:30 UTC), then in EST.
    assert homework_reminder_at(date(2026, 11, 2), "America/New_York", at="01:30") == utc(2026, 11, 1, 5, 30)


def test_the_reminder_is_an_aware_utc_instant_and_takes_iso_text():
    reminder = homework_reminder_at("2026-11-24", "Europe/Berlin")
    assert reminder == utc(2026, 11, 23, 8) and reminder.tzinfo == UTC


# --- journal ----------------------------------------------------------------------------------

def test_a_journal_entry_is_private_unless_shared():
    assert journal_entry_draft("Slept better.").shared is False
    assert journal_entry_draft("Slept better.", shared=True).shared is True


@pytest.mark.parametrize("text", ["a", "x" * 20_000, "😀" * 20_000, "  kept as written \n"])
def test_journal_text_is_1_to_20000_code_points(text):
    assert journal_entry_draft(text).text == text


@pytest.mark.parametrize("text", ["", "   \n\t", "x" * 20_001, "😀" * 20_001, None, 42, "bad \ud800 surrogate"])
def test_journal_text_out_of_bounds_is_refused(text):
    with refused(field="text"):
        journal_entry_draft(text)


@pytest.mark.parametrize("shared", ["true", 1, None])
def test_journal_shared_must_be_a_boolean(shared):
    with refused(field="shared"):
        journal_entry_draft("text", shared)


# --- moods ------------------------------------------------------------------------------------

def test_a_mood_check_in_keeps_score_emotions_in_order_and_note():
    assert mood_draft(7, ["calm", "tired"], "long day") == MoodDraft(7, ("calm", "tired"), "long day")
    assert mood_draft(1) == MoodDraft(1, (), None)
    assert mood_draft(10, [], None) == MoodDraft(10, (), None)


@pytest.mark.parametrize("score", [0, 11, -1, True, False, 5.0, 5.5, "5", None])
def test_a_mood_score_is_a_whole_number_from_1_to_10(score):
    with refused(field="score"):
        mood_draft(score)


def test_every_listed_emotion_is_accepted():
    assert mood_draft(5, list(EMOTIONS)).emotions == EMOTIONS
    assert len(EMOTIONS) == 12


@pytest.mark.parametrize("emotions", [["happy", "happy"], ["Happy"], ["joyful"], "happy", [1], [None], {"happy": 1}])
def test_emotions_come_from_the_fixed_list_once_each(emotions):
    with refused(field="emotions"):
        mood_draft(5, emotions)


def test_a_mood_note_is_at_most_2000_code_points():
    assert mood_draft(5, note="é" * 2_000).note == "é" * 2_000
    for note in ("é" * 2_001, "", "  ", 3):
        with refused(field="note"):
            mood_draft(5, note=note)


# --- goals and homework -----------------------------------------------------------------------

def test_a_new_goal_is_open_with_an_optional_due_date():
    assert goal_draft("Walk every morning") == GoalDraft("Walk every morning", None, "open")
    assert goal_draft("Call my sister", "2026-12-01").due == date(2026, 12, 1)


@pytest.mark.parametrize("title", ["", " ", "t" * 201, None])
def test_a_goal_title_is_1_to_200_code_points(title):
    with refused(field="title"):
        goal_draft(title)


def test_a_goal_title_of_200_code_points_is_accepted():
    assert goal_draft("t" * 200).title == "t" * 200


def test_a_goal_due_before_the_clients_today_is_in_the_past():
    assert goal_draft("Walk", "2026-11-23", today=date(2026, 11, 23)).due == date(2026, 11, 23)
    with refused("in_the_past", field="due"):
        goal_draft("Walk", "2026-11-22", today=date(2026, 11, 23))
    with refused(field="due"):
        goal_draft("Walk", "next week")


@pytest.mark.parametrize("status", ["open", "done"])
def test_a_goal_is_open_or_done(status):
    assert goal_status(status) == status


@pytest.mark.parametrize("status", ["closed", "DONE", None, True])
def test_other_goal_statuses_are_refused(status):
    with refused(field="status"):
        goal_status(status)


def test_homework_has_a_title_instructions_and_a_due_date():
    assert homework_draft("Thought record", "i" * 5_000, "2026-11-30") == \
        HomeworkDraft("Thought record", "i" * 5_000, date(2026, 11, 30))


@pytest.mark.parametrize("title, instructions, due, field", [
    ("", "Write it down", "2026-11-30", "title"),
    ("t" * 201, "Write it down", "2026-11-30", "title"),
    ("Thought record", "", "2026-11-30", "instructions"),
    ("Thought record", "i" * 5_001, "2026-11-30", "instructions"),
    ("Thought record", "Write it down", None, "due"),
    ("Thought record", "Write it down", "30/11/2026", "due"),
])
def test_homework_out_of_bounds_is_refused(title, instructions, due, field):
    with refused(field=field):
        homework_draft(title, instructions, due)


def test_homework_due_before_the_clients_today_is_in_the_past():
    assert homework_draft("T", "I", "2026-11-23", today=date(2026, 11, 23)).due == date(2026, 11, 23)
    with refused("in_the_past", field="due"):
        homework_draft("T", "I", "2026-11-22", today=date(2026, 11, 23))


# --- talkcasts --------------------------------------------------------------------------------

def test_a_talkcast_without_a_voice_uses_the_default_neural_voice():
    draft = talkcast_draft("Breathing", "Breathe in for four.")
    assert draft.voice.id == DEFAULT_TALKCAST_VOICE == "Joanna"
    assert draft.voice.language_code == "en-US" and draft.engine == "neural"


def test_a_talkcast_voice_is_matched_ignoring_case_and_answered_as_polly_spells_it():
    assert talkcast_voice("matthew").id == "Matthew"
    assert talkcast_voice("Lupe").language_code == "es-US"


def test_the_voice_list_has_english_and_spanish_voices_with_language_codes():
    languages = [voice.language_code for voice in TALKCAST_VOICES.values()]
    assert sum(code.startswith("en-") for code in languages) >= 8
    assert sum(code.startswith("es-") for code in languages) >= 3
    assert all(name == voice.id for name, voice in TALKCAST_VOICES.items())
    assert DEFAULT_TALKCAST_VOICE in TALKCAST_VOICES


@pytest.mark.parametrize("voice", ["Kevin", "Conchita", "", 7, "Joanna "])
def test_a_voice_not_in_the_list_is_refused(voice):
    with refused(field="voice"):
        talkcast_voice(voice)


def test_a_talkcast_script_is_1_to_3000_code_points():
    assert talkcast_draft("T", "s" * 3_000).script == "s" * 3_000
    for script in ("", "s" * 3_001, None):
        with refused(field="script"):
            talkcast_draft("T", script)
    with refused(field="title"):
        talkcast_draft("t" * 201, "script")


def test_a_refusal_is_a_400_validation_error_naming_the_field():
    with pytest.raises(DomainError) as raised:
        mood_draft(11)
    assert raised.value.status == 400
    assert raised.value.body()["error"]["code"] == "validation_error"
    assert raised.value.body()["error"]["details"] == {"field": "score"}
