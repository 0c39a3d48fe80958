"""Between-sessions rules (SPEC §2 "Between sessions"): journal, moods, goals, homework, talkcasts.

Pure checks and arithmetic for what a client and their provider write between sessions. Each
`*_draft` function takes the request's values, refuses bad ones with
`DomainError("validation_error", message, field=...)`, and returns a frozen dataclass of
clean values for the service to store. Where SPEC is silent we chose, and hold to here:

- Text lengths count Unicode code points (SPEC §2 "General"). Text is kept exactly as sent
  (never stripped), but text that is only whitespace counts as empty and is refused, and so
  is text with unpaired surrogates (it could not be stored as UTF-8).
- Journal entries: 1..20,000 code points; `shared` is a boolean, default false (private).
- Mood check-ins: `score` an integer 1..10 (true/false and 7.0 are refused); `emotions` a
  list of distinct names from `EMOTIONS`, exactly as spelt there (lower case), in the order
  given, empty or absent meaning none; `note` optional, 1..2,000 code points, `null` or
  absent meaning none.
- Mood lists take local dates in the client's time zone, `from` inclusive and `to`
  exclusive (`list_window`), at most `MAX_LIST_DAYS` days at a time (400 `range_too_large`).
  A mood belongs to the local date (client's zone, as the zone is when the list is asked
  for) of its `created_at`; `weekly` groups by the Monday of that date's week.
- Weekly means have one decimal, rounded half up on exact decimal arithmetic (2.25 → 2.3,
  never binary float's 2.2), returned as a float for JSON.
- Goals: title 1..200 code points, optional `due` (a local date), status `open` (new) or
  `done`; either may be set again (a done goal can be reopened).
- Homework: title 1..200 code points, instructions 1..5,000, `due` a local date (required).
  A due date before the client's local today is refused (400 `in_the_past`) when the service
  passes `today`; due today is allowed (its reminder moment has passed, so it is skipped).
- The homework reminder is at `HOMEWORK_REMINDER_TIME` (09:00) client time on the day
  before `due`. Where that wall time does not exist (a spring-forward gap) it is the first
  instant after the gap, i.e. the moment the clocks jump; where it happens twice, the first.
- Talkcasts: title 1..200 code points, script 1..3,000 code points (Polly's limit for plain
  text), `voice` one of `TALKCAST_VOICES` (Polly `VoiceId`, matched ignoring case, answered
  in Polly's spelling), default `DEFAULT_TALKCAST_VOICE`; always the neural engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo

from chalicelib.domain.errors import DomainError
from chalicelib.domain.wallclock import parse_hhmm, to_utc, wall_to_utc, zone

JOURNAL_MAX_CHARS = 20_000
MOOD_SCORE_MIN, MOOD_SCORE_MAX = 1, 10
MOOD_NOTE_MAX_CHARS = 2_000
EMOTIONS = ("happy", "calm", "hopeful", "grateful", "tired", "anxious", "sad", "angry", "lonely",
            "stressed", "overwhelmed", "numb")
MAX_LIST_DAYS = 366  # a year of moods per request, leap years included
TITLE_MAX_CHARS = 200
GOAL_STATUSES = ("open", "done")
HOMEWORK_INSTRUCTIONS_MAX_CHARS = 5_000
HOMEWORK_REMINDER_TIME = "09:00"
TALKCAST_SCRIPT_MAX_CHARS = 3_000
TALKCAST_ENGINE = "neural"


class Voice(NamedTuple):
    """An Amazon Polly voice: its `VoiceId`, BCP 47 language code and gender, as Polly lists them."""
    id: str
    language_code: str
    gender: str


# Neural-capable Polly voices (checked against Polly's voice list, and moto's copy of it).
TALKCAST_VOICES: dict[str, Voice] = {voice.id: voice for voice in (
    Voice("Joanna", "en-US", "Female"),
    Voice("Matthew", "en-US", "Male"),
    Voice("Ruth", "en-US", "Female"),
    Voice("Stephen", "en-US", "Male"),
    Voice("Amy", "en-GB", "Female"),
    Voice("Brian", "en-GB", "Male"),
    Voice("Arthur", "en-GB", "Male"),
    Voice("Olivia", "en-AU", "Female"),
    Voice("Lupe", "es-US", "Female"),
    Voice("Pedro", "es-US", "Male"),
    Voice("Lucia", "es-ES", "Female"),
    Voice("Sergio", "es-ES", "Male"),
    Voice("Mia", "es-MX", "Female"),
)}
DEFAULT_TALKCAST_VOICE = "Joanna"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat alone also takes 2026-W01-1, 20260105
_VOICES_BY_LOWER = {name.lower(): voice for name, voice in TALKCAST_VOICES.items()}


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("validation_error", message, field=field)


def _text(value: Any, field: str, max_chars: int) -> str:
    """Text of 1..max_chars code points, not only whitespace, encodable as UTF-8."""
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be text.")
    if not value.strip():
        raise _invalid(field, f"{field} must not be empty.")
    if len(value) > max_chars:
        raise _invalid(field, f"{field} must be at most {max_chars:,} characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(field, f"{field} contains characters that are not valid Unicode.") from None
    return value


def _optional_text(value: Any, field: str, max_chars: int) -> str | None:
    return None if value is None else _text(value, field, max_chars)


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(field, f"{field} must be true or false.")
    return value


def parse_local_date(value: Any, field: str = "date") -> date:
    """A calendar date: a `date` (not a datetime) or the text `YYYY-MM-DD`."""
    if isinstance(value, datetime):
        raise _invalid(field, f"{field} must be a date (YYYY-MM-DD), not a time.")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid(field, f"{field} must be a date in the form YYYY-MM-DD.")


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return zone(tz)
    except ValueError:
        raise _invalid("timezone", f"Unknown time zone {tz!r}.") from None


# --- journal ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalEntryDraft:
    text: str
    shared: bool


def journal_entry_draft(text: Any, shared: Any = False) -> JournalEntryDraft:
    """A journal entry: 1..20,000 code points, private unless `shared` is true."""
    return JournalEntryDraft(_text(text, "text", JOURNAL_MAX_CHARS), _bool(shared, "shared"))


# --- moods --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MoodDraft:
    score: int
    emotions: tuple[str, ...]
    note: str | None


def mood_score(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("score", "score must be a whole number from 1 to 10.")
    if not MOOD_SCORE_MIN <= value <= MOOD_SCORE_MAX:
        raise _invalid("score", "score must be from 1 to 10.")
    return value


def mood_emotions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise _invalid("emotions", "emotions must be a list.")
    seen: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in EMOTIONS:
            raise _invalid("emotions", f"emotions must be chosen from: {', '.join(EMOTIONS)}.")
        if item in seen:
            raise _invalid("emotions", f"{item!r} is listed twice.")
        seen.append(item)
    return tuple(seen)


def mood_draft(score: Any, emotions: Any = None, note: Any = None) -> MoodDraft:
    """A mood check-in: score 1..10, distinct emotions from `EMOTIONS`, an optional note."""
    return MoodDraft(mood_score(score), mood_emotions(emotions), _optional_text(note, "note", MOOD_NOTE_MAX_CHARS))


def list_window(from_date: Any, to_date: Any, tz: str | ZoneInfo, *,
                max_days: int = MAX_LIST_DAYS) -> tuple[datetime, datetime]:
    """The UTC instants `[start, end)` covering local dates `from` (inclusive) to `to` (exclusive).

    Each bound is the local midnight of its date in `tz`, with its real offset on that day, so
    a window across a DST change is 23 or 25 hours longer or shorter as the wall clock says.
    A midnight inside a spring-forward gap is the instant the clocks jump (the day's first
    instant). `to` must be after `from`; more than `max_days` days is 400 `range_too_large`.
    """
    first, last = parse_local_date(from_date, "from"), parse_local_date(to_date, "to")
    if last <= first:
        raise _invalid("to", "to must be a later date than from.")
    if (last - first).days > max_days:
        raise DomainError("range_too_large", f"Ask for at most {max_days} days at a time.", max_days=max_days)
    zone_info = _zone(tz)
    return wall_to_utc(first, 0, zone_info), wall_to_utc(last, 0, zone_info)


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, Mapping) else getattr(item, name)


def _instant(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    return to_utc(value)


def half_up_mean(scores: list[int]) -> float:
    """The mean to one decimal, half up on exact decimals (2.25 → 2.3), as a float for JSON."""
    mean = Decimal(sum(scores)) / Decimal(len(scores))
    return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def week_of(day: date) -> date:
    """The Monday of `day`'s week (ISO weeks start on Monday)."""
    return day - timedelta(days=day.weekday())


def weekly(moods: Iterable[Any], tz: str | ZoneInfo) -> list[dict]:
    """`[{"week": "YYYY-MM-DD" (the local Monday), "mean", "count"}]`, oldest week first.

    Each mood is a mapping or an object with `created_at` (an aware datetime, or ISO text with
    an offset) and `score`. It counts in the week of its local date in `tz`, so a check-in on
    Monday 00:30 in Auckland is that Monday's week even though it is still Sunday in UTC.
    Weeks without check-ins are left out.
    """
    zone_info = _zone(tz)
    weeks: dict[date, list[int]] = {}
    for mood in moods:
        local_day = _instant(_field(mood, "created_at")).astimezone(zone_info).date()
        weeks.setdefault(week_of(local_day), []).append(int(_field(mood, "score")))
    return [{"week": monday.isoformat(), "mean": half_up_mean(scores), "count": len(scores)}
            for monday, scores in sorted(weeks.items())]


# --- goals --------------------------------------------------------------------------------

@dataclass(frozen=True)
class GoalDraft:
    title: str
    due: date | None
    status: str = "open"


def _not_past(due: date, today: date | None, field: str) -> date:
    if today is not None and due < today:
        raise DomainError("in_the_past", f"{field} must not be before today ({today.isoformat()}).", field=field)
    return due


def goal_draft(title: Any, due: Any = None, *, today: date | None = None) -> GoalDraft:
    """A new goal, `open`: title 1..200 code points, optional due date (not before `today`, if given)."""
    clean_due = None if due is None else _not_past(parse_local_date(due, "due"), today, "due")
    return GoalDraft(_text(title, "title", TITLE_MAX_CHARS), clean_due)


def goal_status(value: Any) -> str:
    """`open` or `done` (a goal may be reopened)."""
    if value not in GOAL_STATUSES:
        raise _invalid("status", "status must be open or done.")
    return value


# --- homework -----------------------------------------------------------------------------

@dataclass(frozen=True)
class HomeworkDraft:
    title: str
    instructions: str
    due: date


def homework_draft(title: Any, instructions: Any, due: Any, *, today: date | None = None) -> HomeworkDraft:
    """Homework: title 1..200, instructions 1..5,000 code points, a due date (client's local date)
    not before `today` (the client's local today) when the service gives it."""
    return HomeworkDraft(
        _text(title, "title", TITLE_MAX_CHARS),
        _text(instructions, "instructions", HOMEWORK_INSTRUCTIONS_MAX_CHARS),
        _not_past(parse_local_date(due, "due"), today, "due"),
    )


def homework_reminder_at(due: date, tz: str | ZoneInfo, at: str = HOMEWORK_REMINDER_TIME) -> datetime:
    """The UTC instant of the homework reminder: `at` (09:00) client time the day before `due`.

    DST-correct: the offset is the one in force at that local moment. In a spring-forward gap
    the reminder is at the jump (the first valid instant after the missing wall time); on a
    repeated hour, at its first occurrence.
    """
    return wall_to_utc(parse_local_date(due, "due") - timedelta(days=1), parse_hhmm(at), _zone(tz))


# --- talkcasts ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TalkcastDraft:
    title: str
    script: str
    voice: Voice
    engine: str = TALKCAST_ENGINE


def talkcast_voice(value: Any) -> Voice:
    """A voice from `TALKCAST_VOICES` (ignoring case); None means `DEFAULT_TALKCAST_VOICE`."""
    if value is None:
        return TALKCAST_VOICES[DEFAULT_TALKCAST_VOICE]
    voice = _VOICES_BY_LOWER.get(value.lower()) if isinstance(value, str) else None
    if voice is None:
        raise _invalid("voice", f"voice must be one of: {', '.join(TALKCAST_VOICES)}.")
    return voice


def talkcast_draft(title: Any, script: Any, voice: Any = None) -> TalkcastDraft:
    """A talkcast: title 1..200, script 1..3,000 code points, a voice from the documented list."""
    return TalkcastDraft(_text(title, "title", TITLE_MAX_CHARS), _text(script, "script", TALKCAST_SCRIPT_MAX_CHARS),
                         talkcast_voice(voice))
