"""Local wall-clock times and weekly windows, turned into real UTC instants.

Providers speak in wall-clock terms ("Mondays 09:00–17:00, Europe/London"); Haven stores and
compares instants in UTC. Everything that crosses between the two goes through here, so DST is
handled once:

- a wall time that does not exist (inside a spring-forward gap) resolves to the instant the
  clocks jump, i.e. the first instant whose wall time is not earlier than the one asked for;
- a wall time that happens twice (fall-back) resolves to its first occurrence (`fold=0`);
- "24:00" means the next day's 00:00, so a window may run to midnight.

Windows accept either `(weekday, "HH:MM", "HH:MM")` tuples or the API's
`{"weekday", "start", "end"}` objects; `weekday` is 0 = Monday … 6 = Sunday.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
MINUTES_PER_DAY = 24 * 60

_HHMM = re.compile(r"([01][0-9]|2[0-4]):([0-5][0-9])")


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; ValueError (not ZoneInfoNotFoundError) when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def parse_hhmm(text: str, *, allow_24: bool = False) -> int:
    """Minutes after midnight for "HH:MM"; "24:00" only where `allow_24` (a window's end)."""
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a HH:MM time: {text!r}")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and (minutes != 0 or not allow_24):
        raise ValueError(f"{text!r} is only allowed as 24:00 ending a window")
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class Window:
    """A weekly window in wall-clock minutes: `start` inclusive, `end` exclusive, end ≤ 1440."""
    weekday: int
    start: int
    end: int

    def as_dict(self) -> dict:
        return {"weekday": self.weekday, "start": format_hhmm(self.start), "end": format_hhmm(self.end)}


def parse_window(item) -> Window:
    if isinstance(item, Window):
        return item
    if isinstance(item, dict):
        weekday, start, end = item.get("weekday"), item.get("start"), item.get("end")
    else:
        try:
            weekday, start, end = item
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a window: {item!r}") from error
    if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0 (Monday) … 6 (Sunday), not {weekday!r}")
    start_minutes = parse_hhmm(start)
    end_minutes = parse_hhmm(end, allow_24=True)
    if end_minutes <= start_minutes:
        # Overnight windows are not supported: split them at midnight (… "24:00" and "00:00" …).
        raise ValueError(f"a window must end after it starts: {start}–{end}")
    return Window(weekday, start_minutes, end_minutes)


def parse_windows(items: Iterable) -> tuple[Window, ...]:
    """Validated windows, overlapping or touching ones on a weekday merged, sorted.

    Merging means an hour listed in two windows is counted once, and a session may run across
    the seam of two touching windows (09:00–12:00 and 12:00–17:00 are one stretch).
    """
    merged: list[Window] = []
    for window in sorted(parse_window(item) for item in items):
        last = merged[-1] if merged else None
        if last and last.weekday == window.weekday and window.start <= last.end:
            merged[-1] = Window(last.weekday, last.start, max(last.end, window.end))
        else:
            merged.append(window)
    return tuple(merged)


def _wall(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(minutes=minutes)


def is_real(local: datetime) -> bool:
    """Whether an aware local datetime names a wall time that actually occurs."""
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(tzinfo=None)


def wall_to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The instant at `minutes` after local midnight of `day` (minutes may be 1440)."""
    naive = _wall(day, minutes)
    first = naive.replace(tzinfo=tz, fold=0)
    if is_real(first):
        return first.astimezone(UTC)
    # In a spring-forward gap: fold=1 maps before the jump, fold=0 after it. The jump itself is
    # the first instant whose wall time is not earlier than the one asked for; find it exactly.
    low = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(first.astimezone(UTC).timestamp())
    low, high = min(low, high), max(low, high)
    while low < high:
        middle = (low + high) // 2
        wall = datetime.fromtimestamp(middle, UTC).astimezone(tz).replace(tzinfo=None)
        if wall >= naive:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(high, UTC)


def wall_instants(day: date, minutes: int, tz: ZoneInfo) -> list[datetime]:
    """Every real instant whose wall time is `minutes` after midnight of `day`: none in a
    spring-forward gap, two on a fall-back repeat, otherwise one. UTC, ascending."""
    naive = _wall(day, minutes)
    found: list[datetime] = []
    for fold in (0, 1):
        local = naive.replace(tzinfo=tz, fold=fold)
        if is_real(local):
            instant = local.astimezone(UTC)
            if instant not in found:
                found.append(instant)
    return sorted(found)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return to_utc(instant).astimezone(tz).date()


def to_utc(instant: datetime) -> datetime:
    """An aware datetime in UTC; naive datetimes are a programming error here."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("an instant must carry a time zone (use UTC)")
    return instant.astimezone(UTC)


def dates_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def day_intervals(windows: tuple[Window, ...], day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The windows of `day`'s weekday as UTC intervals with their real lengths."""
    intervals = []
    for window in windows:
        if window.weekday == day.weekday():
            start, end = wall_to_utc(day, window.start, tz), wall_to_utc(day, window.end, tz)
            if end > start:
                intervals.append((start, end))
    return intervals


def merge_intervals(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, with overlapping and touching intervals joined (so a window ending 24:00 runs
    on into one starting 00:00 the next day)."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def iso_z(instant: datetime) -> str:
    """UTC ISO 8601 with `Z`, as the API writes times (for error details and keys)."""
    return to_utc(instant).strftime("%Y-%m-%dT%H:%M:%SZ")
