"""Calendar attachments (.ics, RFC 5545 / iTIP) built with the `icalendar` library.

One UID per booking series (a booking and its reschedules), SEQUENCE increasing with each
update, METHOD:REQUEST for a confirmed time and METHOD:CANCEL for a withdrawn one. Times are
written in UTC; the recipient's own zone appears in the description text. No clinical content.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

REQUEST, CANCEL = "REQUEST", "CANCEL"


def uid(series_id: str) -> str:
    return f"{series_id}@haven"


def local_text(instant: datetime, tz: str | None) -> str:
    """e.g. "Wed 25 Nov 2026, 10:00 (America/New_York)"."""
    zone = tz or "UTC"
    try:
        local = instant.astimezone(ZoneInfo(zone))
    except Exception:  # an unknown zone on an old profile: say UTC rather than fail the email
        zone, local = "UTC", instant
    return f"{local:%a %d %b %Y, %H:%M} ({zone})"


def build(*, series_id: str, sequence: int, method: str, starts_at: datetime, ends_at: datetime,
          summary: str, organizer: str, attendees: list[str], recipient_tz: str | None, stamp: datetime,
          url: str | None = None) -> str:
    """The .ics text for one event of a booking series."""
    from icalendar import Calendar, Event, vCalAddress

    if method not in (REQUEST, CANCEL):
        raise ValueError(method)
    calendar = Calendar()
    calendar.add("prodid", "-//Haven//Live sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid(series_id))
    event.add("sequence", int(sequence))
    event.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    event.add("dtstart", starts_at.astimezone(ZoneInfo("UTC")))
    event.add("dtend", ends_at.astimezone(ZoneInfo("UTC")))
    event.add("summary", summary)
    event.add("description", f"{summary}, {local_text(starts_at, recipient_tz)}."
                             + (f" Join from {url}" if url else ""))
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    organizer_address = vCalAddress(f"mailto:{organizer}")
    organizer_address.params["cn"] = "Haven"
    event.add("organizer", organizer_address)
    for address in attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["role"] = "REQ-PARTICIPANT"
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical().decode()


def attachment(text: str, method: str) -> dict:
    """The outbox's attachment shape (`notify.send(..., attachments=[...])`)."""
    return {"filename": "invite.ics" if method == REQUEST else "cancel.ics",
            "content_type": f"text/calendar; method={method}; charset=UTF-8", "data": text}
