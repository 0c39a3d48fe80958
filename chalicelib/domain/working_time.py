"""The reply-promise calendar: a provider's working time, and deadlines counted in it.

SPEC §2 "Reply promise": a reply is due when one working day (a setting, default 8 hours) of
the provider's working time has passed, counted only inside their working hours, in their time
zone, skipping the public holidays of their `country` (no country, no holidays). With Mon–Fri
09:00–17:00, a message at Fri 16:00 is due Mon 16:00 and one at Sat 10:00 is due Mon 17:00.

Windows are wall-clock times in the provider's zone; each day's windows are turned into real
UTC instants (see `wallclock`), so a window on a DST-transition day has its real length
(00:00–24:00 on a spring-forward day is 23 hours of working time).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Iterator

from chalicelib.domain.wallclock import (
    Window, day_intervals, local_date, parse_windows, to_utc, zone,
)

# A calendar with windows may still find no working time for a long stretch (every window
# day a holiday is impossible in practice, but a bug in holiday data must not hang a sweep).
_MAX_IDLE_DAYS = 400


@lru_cache(maxsize=512)
def public_holidays(country: str | None, year: int) -> frozenset[date]:
    """The public holidays of `country` in `year`, cached per (country, year).

    `country` is ISO 3166-1 alpha-2 ("GB"), optionally with a subdivision ("US-NY", "GB-SCT")
    whose regional holidays are added when the library knows it. An unknown country has no
    holidays rather than failing: a provider's deadline must always be computable.
    """
    if not country:
        return frozenset()
    import holidays  # imported lazily: only sweeps and message posts need it

    code, _, subdivision = country.strip().upper().partition("-")
    for subdiv in ((subdivision, None) if subdivision else (None,)):
        try:
            return frozenset(holidays.country_holidays(code, subdiv=subdiv, years=year).keys())
        except (NotImplementedError, KeyError, ValueError):
            continue
    return frozenset()


@dataclass(frozen=True)
class WorkingCalendar:
    """A provider's working hours: IANA `timezone`, weekly `windows`, holiday `country`.

    `windows` accepts `(weekday, "HH:MM", "HH:MM")` tuples or `{"weekday","start","end"}`
    dicts and is stored parsed and merged; ValueError on a bad zone or window.
    """
    timezone: str
    windows: tuple[Window, ...] = field(default=())
    country: str | None = None

    def __post_init__(self):
        zone(self.timezone)  # fail at construction, not at the first deadline
        object.__setattr__(self, "windows", parse_windows(self.windows))
        object.__setattr__(self, "country", (self.country or "").strip().upper() or None)

    def is_holiday(self, day: date) -> bool:
        return day in public_holidays(self.country, day.year)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working time on a local date as UTC intervals (none on a holiday)."""
        if self.is_holiday(day):
            return []
        return day_intervals(self.windows, day, zone(self.timezone))


def _intervals_from(cal: WorkingCalendar, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals that end after `instant`, in order, clipped to start no earlier.

    Raises ValueError when the calendar has no windows or nothing turns up for a long stretch.
    """
    if not cal.windows:
        raise ValueError("the working calendar has no working hours")
    tz = zone(cal.timezone)
    # Start a day early: a local date's windows never leave that date, but starting one day
    # back costs nothing and keeps the loop obviously correct around offsets and midnight.
    day = local_date(instant, tz) - timedelta(days=1)
    idle = 0
    while True:
        found = False
        for start, end in cal.intervals_on(day):
            if end > instant:
                found = True
                yield max(start, instant), end
        idle = 0 if found else idle + 1
        if idle > _MAX_IDLE_DAYS:
            raise ValueError(f"no working time within {_MAX_IDLE_DAYS} days")
        day += timedelta(days=1)


def is_working(cal: WorkingCalendar, instant: datetime) -> bool:
    """Whether `instant` falls inside working time (window start inclusive, end exclusive)."""
    instant = to_utc(instant)
    day = local_date(instant, zone(cal.timezone))
    return any(start <= instant < end for start, end in cal.intervals_on(day))


def next_working_start(cal: WorkingCalendar, instant: datetime) -> datetime:
    """`instant` itself when it is working time, else the start of the next working stretch."""
    instant = to_utc(instant)
    start, _ = next(_intervals_from(cal, instant))
    return start


def add_working_time(cal: WorkingCalendar, start_utc: datetime, amount: float | int | timedelta) -> datetime:
    """The UTC instant when `amount` (hours, or a timedelta) of working time has passed since
    `start_utc`. Time outside windows, and on holidays, does not count.

    A deadline that runs out exactly at a window's end is that end (Sat 10:00 + 8 h is
    Mon 17:00, not Tue 09:00). ValueError when the calendar has no working hours.
    """
    remaining = amount if isinstance(amount, timedelta) else timedelta(hours=amount)
    if remaining < timedelta(0):
        raise ValueError("working time to add must not be negative")
    start_utc = to_utc(start_utc)
    if not cal.windows:
        raise ValueError("the working calendar has no working hours")
    if remaining == timedelta(0):
        return start_utc
    for start, end in _intervals_from(cal, start_utc):
        if remaining <= end - start:
            return start + remaining
        remaining -= end - start
    raise AssertionError("unreachable: _intervals_from never ends without raising")
