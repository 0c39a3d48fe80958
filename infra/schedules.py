"""The app's scheduled functions, their EventBridge expressions, and the events they receive.

Used by the local runner (which fires the schedules, since neither `chalice local` nor the
emulator does) and by `make invoke`. Schedules are read from the Chalice app itself
(`app.event_sources`), so a new `@app.schedule` is picked up without listing it here.
"""
from __future__ import annotations

import calendar
import copy
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Schedule:
    name: str
    expression: str

    def next_after(self, moment: datetime) -> datetime:
        return next_fire(self.expression, moment)


def scheduled_functions(chalice_app) -> list[Schedule]:
    from chalice.app import ScheduledEventConfig

    found = []
    for source in chalice_app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            if not isinstance(expression, str):
                expression = expression.to_string()
            found.append(Schedule(source.name, expression))
    return found


# --- expressions ----------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def rate_seconds(expression: str) -> int | None:
    match = _RATE.match(expression.strip())
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    if value < 1:
        raise ValueError(f"{expression}: the rate must be positive")
    return value * _UNITS[unit]


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """Values of one AWS cron field; None for `*`/`?` (any)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if "/" in text else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"cron field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"unsupported cron value {text!r} (L, W and # are not supported locally)")
    return int(text)


class Cron:
    """AWS cron: minutes hours day-of-month month day-of-week year, in UTC; days of week 1-7 = SUN-SAT."""

    def __init__(self, expression: str):
        match = re.match(r"^cron\((.*)\)$", expression.strip())
        fields = match.group(1).split() if match else []
        if len(fields) != 6:
            raise ValueError(f"{expression}: expected cron(minutes hours day-of-month month day-of-week year)")
        self.minutes = _field(fields[0], 0, 59)
        self.hours = _field(fields[1], 0, 23)
        self.days = _field(fields[2], 1, 31)
        self.months = _field(fields[3], 1, 12, _MONTHS)
        self.weekdays = _field(fields[4], 1, 7, _DAYS)
        self.years = _field(fields[5], 1970, 2199)

    @staticmethod
    def _ok(values: set[int] | None, value: int) -> bool:
        return values is None or value in values

    def _day_ok(self, moment: datetime) -> bool:
        aws_weekday = (moment.isoweekday() % 7) + 1  # Sunday 1 ... Saturday 7
        return (self._ok(self.years, moment.year) and self._ok(self.months, moment.month)
                and self._ok(self.days, moment.day) and self._ok(self.weekdays, aws_weekday))

    def next_after(self, moment: datetime) -> datetime:
        candidate = moment.astimezone(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if not self._day_ok(candidate):
                candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
            elif not self._ok(self.hours, candidate.hour):
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
            elif not self._ok(self.minutes, candidate.minute):
                candidate += timedelta(minutes=1)
            else:
                return candidate
        raise ValueError("the cron expression never fires")


def next_fire(expression: str, after: datetime) -> datetime:
    """When a schedule fires next after `after` (rates count from `after`)."""
    seconds = rate_seconds(expression)
    if seconds is not None:
        return after + timedelta(seconds=seconds)
    if expression.strip().startswith("cron("):
        return Cron(expression).next_after(after)
    raise ValueError(f"unsupported schedule expression {expression!r}")


# --- events ---------------------------------------------------------------------------------

def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with `Z` or an offset (a time without one is refused)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no offset: add Z (UTC) or +hh:mm")
    return moment.astimezone(timezone.utc)


def scheduled_event(name: str, moment: datetime, region: str = "us-east-1",
                    account_id: str = ACCOUNT_ID) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a schedule's function receives, as of `moment`.
    Based on events/<name>.json when it exists."""
    path = EVENTS / f"{name}.json"
    if path.exists():
        event = json.loads(path.read_text())
    else:
        event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    event = copy.deepcopy(event)
    event["id"] = str(uuid.uuid4())
    event["time"] = iso_z(moment)
    event["region"] = region
    event["account"] = account_id
    event["resources"] = [f"arn:aws:events:{region}:{account_id}:rule/haven-{name}"]
    return event


def lambda_context(name: str):
    from chalice.local import LambdaContext

    return LambdaContext(name, memory_size=512, max_runtime_ms=300_000)


def handler_for(chalice_app, name: str) -> Callable[[dict, Any], Any]:
    try:
        return chalice_app.handler_map[name]
    except KeyError:
        known = ", ".join(s.name for s in scheduled_functions(chalice_app))
        raise KeyError(f"no scheduled function {name!r} (known: {known})") from None


def invoke(chalice_app, name: str, moment: datetime, region: str = "us-east-1") -> Any:
    """Run one scheduled function in this process as of `moment`, as Lambda would."""
    return handler_for(chalice_app, name)(scheduled_event(name, moment, region), lambda_context(name))
