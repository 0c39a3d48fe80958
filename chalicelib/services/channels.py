"""The outbox's channels: how a recorded notice actually goes out (registered by `bootstrap`).

- `email`: a member recipient (`user:<id>`) is sent to the profile's address as it is now (SPEC:
  read when the email is sent), and their calendar file is made for that address; a recipient
  with no profile any more makes the notice moot.
- `room_message`: a system message in the room (for one member when the notice names `to`).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.adapters import templates
from chalicelib.services import outbox, rooms
from chalicelib.services.bookings import notices as booking_notices
from chalicelib.store import users as user_store


def send_email(to: str, template: str, params: dict, attachments, now: datetime) -> None:
    params = dict(params)
    calendar = params.pop("_ics", None)
    if to.startswith(outbox.USER):
        user = user_store.get(to[len(outbox.USER):])
        if user is None or not user.email:
            raise outbox.Moot("the recipient has no profile any more")
        to = user.email
    files_in = list(attachments or [])
    if calendar:
        files_in.append(booking_notices.calendar_attachment(calendar, to, now))
    subject, text, html = templates.render(template, params)
    files = [(a["filename"], a["content_type"], a["data"].encode()) for a in files_in]
    wiring.get("mailer").send(to, subject, text, html, files)


def post_room_message(room_id: str, template: str, params: dict, attachments, now: datetime) -> None:
    rooms.post_system(room_id, params["text"], now, to=params.get("to"))
