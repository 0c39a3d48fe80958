"""The independent oracle: what SPEC promises, computed from a scenario's own facts (its bookings,
messages, outages and sweep runs) — never by calling Haven's functions — and the reading of what
people actually received (email as the mail service saw it).

    read_email(to, subject, text) -> Email    what an email is about: its kind, the session's
                                               start (parsed back from the local time it shows,
                                               so a DST-wrong rendering shows up), a booking or room id
    reply_due(at, tz, holidays, ...)           SPEC's reply promise, minute by minute on the wall clock
    period_start(at, tz, anchor_day)           the billing period a session draws its credit from
    inbox(endpoint) -> [Email]                 what the emulator's SES accepted (the real mail adapter)
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc

# subject -> kind; the session time is read from the subject, or from the text when the subject has none
_KINDS = [
    ("requested", re.compile(r"^New session request for (?P<when>.+)$")),
    ("confirmed", re.compile(r"^Session confirmed: (?P<when>.+)$")),
    ("declined", re.compile(r"^Session request declined$")),
    ("expired", re.compile(r"^Session request expired$")),
    ("cancelled", re.compile(r"^Session cancelled: (?P<when>.+)$")),
    ("rescheduled", re.compile(r"^Session moved to (?P<when>.+)$")),
    ("remind_long", re.compile(r"^Reminder: session tomorrow, (?P<when>.+)$")),
    ("remind_short", re.compile(r"^Your session starts soon: join now$")),
    ("unresolved", re.compile(r"^Session without outcome: booking (?P<booking>\S+)$")),
    ("provider_no_show", re.compile(r"^Provider no-show reported: booking (?P<booking>\S+)$")),
    ("alert", re.compile(r"^You have a new message on Haven$")),
    ("reply_overdue", re.compile(r"^A client is waiting for your reply$")),
    ("reply_overdue_ops", re.compile(r"^Reply promise missed: room (?P<room>\S+)$")),
]
_WHEN = re.compile(r"([A-Z][a-z]{2} \d{2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}) \(([A-Za-z_/+\-0-9]+)\)")
_ROOM = re.compile(r"\broom[: ]+(room_[0-9a-f]+)", re.IGNORECASE)
_DUE = re.compile(r"\(due (\d{4}-\d{2}-\d{2}T[\d:.]+Z)\)|\((\d{4}-\d{2}-\d{2}T[\d:.]+Z)\)")

BOOKING_KINDS = ("requested", "confirmed", "declined", "expired", "cancelled", "rescheduled", "remind_long",
                 "remind_short", "unresolved", "provider_no_show")


@dataclass(frozen=True)
class Email:
    to: str
    kind: str
    starts: frozenset = frozenset()  # the session's start as UTC instants the shown local time can mean
    booking_id: str | None = None
    room_id: str | None = None
    due_at: datetime | None = None
    subject: str = ""
    at: datetime | None = None  # when it went out (the flaky mailer's clock), if known
    via: str = ""  # the SES operation that sent it (SendEmail | SendRawEmail), for the emulator's inbox


def local_instants(text: str, zone: str) -> frozenset:
    """Every UTC instant a shown local time can mean: two inside a DST fall-back hour, none in a
    spring-forward gap (then the text is wrong for any instant)."""
    naive = datetime.strptime(text, "%a %d %b %Y, %H:%M")
    tz = ZoneInfo(zone)
    out = set()
    for fold in (0, 1):
        aware = naive.replace(tzinfo=tz, fold=fold)
        back = aware.astimezone(UTC)
        if back.astimezone(tz).replace(tzinfo=None) == naive:  # a real wall time in that zone
            out.add(back)
    return frozenset(out)


def read_email(to: str, subject: str, text: str, at: datetime | None = None) -> Email:
    subject = " ".join((subject or "").split())
    for kind, pattern in _KINDS:
        match = pattern.match(subject)
        if not match:
            continue
        groups = match.groupdict()
        when_text = groups.get("when")
        starts: frozenset = frozenset()
        source = when_text if when_text else text or ""
        if kind == "rescheduled" or when_text:
            found = _WHEN.search(when_text or "")
        else:
            found = _WHEN.search(source)
        if found:
            starts = local_instants(found.group(1), found.group(2))
        room = groups.get("room") or (_ROOM.search(text or "").group(1) if _ROOM.search(text or "") else None)
        due = None
        if kind in ("reply_overdue", "reply_overdue_ops"):
            m = _DUE.search(text or "")
            if m:
                due = datetime.fromisoformat((m.group(1) or m.group(2)).replace("Z", "+00:00"))
        return Email(to, kind, starts, groups.get("booking"), room, due, subject, at)
    return Email(to, "other", frozenset(), None, None, None, subject, at)


def inbox(endpoint_url: str) -> list[Email]:
    """What the emulator's SES accepted, read as people would read it (simple and raw messages)."""
    out = []
    for message in _sent_mail(endpoint_url):
        if "raw_data" in message:
            parsed = email.message_from_string(message["raw_data"], policy=email.policy.default)
            text_part = parsed.get_body(preferencelist=("plain",))
            text = text_part.get_content() if text_part is not None else ""
            tos = message.get("destinations") or [parsed["To"]]
            if isinstance(tos, dict):
                tos = tos.get("ToAddresses") or []
            # moto adds the To header's addresses to the API's Destinations: one email per address
            for to in sorted({email.utils.parseaddr(str(t))[1] for t in tos}):
                out.append(replace(read_email(str(to), str(parsed["Subject"]), text), via="SendRawEmail"))
            continue
        dest = message.get("destinations") or {}
        tos = dest.get("ToAddresses") if isinstance(dest, dict) else dest
        body = message.get("body") or ""
        text = re.sub(r"<[^>]+>", " ", body)
        for to in tos or []:
            out.append(replace(read_email(to, message.get("subject") or "", text), via="SendEmail"))
    return out


def _sent_mail(endpoint_url: str) -> list[dict]:
    """moto's sent messages: read in memory when the emulator runs in this process (the tests'
    case; `/moto-api/data.json` dumps every service's state and costs ~100 ms), else over HTTP."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import RawMessage, ses_backends

        from chalicelib import settings

        backend = ses_backends[DEFAULT_ACCOUNT_ID][settings.get().region]
        out = []
        for m in list(backend.sent_messages):
            if isinstance(m, RawMessage):
                out.append({"raw_data": m.raw_data, "destinations": list(m.destinations)})
            elif hasattr(m, "subject"):
                out.append({"subject": m.subject, "body": m.body, "destinations": m.destinations})
        if out or not _served_elsewhere(endpoint_url):
            return out
    except Exception:  # pragma: no cover - another process's emulator
        pass
    from infra.provision import sent_mail

    return sent_mail(endpoint_url)


def _served_elsewhere(endpoint_url: str) -> bool:
    from tests.support import aws

    stack = aws._stack
    return stack is None or stack.get("aws_endpoint_url") != endpoint_url


# --- SPEC rules, computed on their own ----------------------------------------------------------

WEEKDAYS_9_TO_5 = tuple((d, time(9), time(17)) for d in range(5))


def reply_due(at: datetime, zone: str, *, holidays: frozenset[date] = frozenset(),
              hours=WEEKDAYS_9_TO_5, working_minutes: int = 8 * 60) -> datetime:
    """SPEC §2 reply promise: due when `working_minutes` of the provider's working time have passed,
    counted minute by minute of real time on the provider's wall clock (so a DST change moves the
    UTC due time, never the working time), skipping holidays."""
    tz = ZoneInfo(zone)
    t = at.astimezone(UTC).replace(second=0, microsecond=0)
    if t < at:
        t += timedelta(minutes=1)
    left = working_minutes
    step = timedelta(minutes=1)
    while left > 0:
        local = t.astimezone(tz)
        if local.date() not in holidays and any(
                local.weekday() == d and a <= local.time() < b for d, a, b in hours):
            left -= 1
        t += step
    return t


def working(at: datetime, zone: str, *, holidays: frozenset[date] = frozenset(), hours=WEEKDAYS_9_TO_5) -> bool:
    local = at.astimezone(ZoneInfo(zone))
    return local.date() not in holidays and any(local.weekday() == d and a <= local.time() < b for d, a, b in hours)


def period_start(at: datetime, zone: str, anchor: date) -> date:
    """The monthly billing period (from `anchor`'s day of month, in the client's zone) holding `at`."""
    local = at.astimezone(ZoneInfo(zone)).date()
    day = anchor.day
    year, month = local.year, local.month
    if local.day < day:
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return date(year, month, min(day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31))


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
