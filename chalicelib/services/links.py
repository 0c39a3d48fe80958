"""Emailed confirm/decline links (SPEC §2 Links in email).

A token is a random id (256 bits) and its HMAC under the signing key; only its SHA-256 is
stored. A forged or mistyped token is refused by its signature before any read. GET renders
the request and two buttons (forms that POST) and changes nothing, since mail scanners follow
GETs. POST acts once: the link is marked used in the same transaction as the booking change,
conditioned on not being used yet. Tokens are never logged.
"""
from __future__ import annotations

import html
from datetime import datetime

from chalicelib import wiring
from chalicelib.adapters import ics
from chalicelib.clock import sortable
from chalicelib.errors import HavenError
from chalicelib.identity import PROVIDER, Caller
from chalicelib.observability import logger
from chalicelib.services.bookings import notices
from chalicelib.services import bookings
from chalicelib.store import bookings as store

_STYLE = ("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f7f6;margin:0;"
          "color:#1d2b28}main{max-width:520px;margin:48px auto;background:#fff;border-radius:12px;"
          "padding:32px;box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin-top:0}"
          "dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px}dt{color:#5b6b67}dd{margin:0}"
          ".actions{display:flex;gap:12px;margin-top:24px}form{margin:0}button{font-size:1rem;"
          "padding:10px 22px;border-radius:8px;border:0;cursor:pointer}.confirm{background:#2f6f5e;"
          "color:#fff}.decline{background:#e9ecea;color:#1d2b28}.note{color:#5b6b67;font-size:.85rem;"
          "margin-top:28px}")


def _html(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
            f"<title>{html.escape(title)} · Haven</title><style>{_STYLE}</style></head><body><main>"
            f"<h1>{html.escape(title)}</h1>{body}<p class=\"note\">Haven is not a crisis service. In an "
            f"emergency call your local emergency number (in the US, call or text 988).</p></main></body></html>")


def _message(status: int, title: str, text: str) -> tuple[int, str]:
    return status, _html(title, f"<p>{html.escape(text)}</p>")


UNKNOWN = (404, "Link not found", "This link is not valid. Open the Haven app to see your sessions.")
USED = (409, "Link already used", "This link has already been used. Open the Haven app to see the session.")
EXPIRED = (410, "Link expired", "This link has expired. Open the Haven app to see the session.")


def _resolve(token: str, now: datetime):
    """(link, booking) or an error page."""
    if not notices.token_is_signed(token):
        return None, _message(*UNKNOWN)
    link = store.link(notices.token_hash(token))
    if link is None:
        return None, _message(*UNKNOWN)
    if link.used_at:
        return None, _message(*USED)
    if sortable(now) >= link.expires_at:
        return None, _message(*EXPIRED)
    booking = store.find(link.booking_id)
    if booking is None:
        return None, _message(*UNKNOWN)
    return (link, booking), None


def _details(booking) -> str:
    starts = booking.starts_at
    minutes = wiring.settings().session_minutes
    rows = [("When", ics.local_text(starts, booking.provider_tz)), ("Length", f"{minutes} minutes"),
            ("Kind", f"{booking.modality} session")]
    if booking.confirm_by:
        rows.append(("Answer by", ics.local_text(booking.confirm_by, booking.provider_tz)))
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows) + "</dl>"


def show(token: str, now: datetime) -> tuple[int, str]:
    found, page = _resolve(token, now)
    if page:
        return page
    link, booking = found
    state = bookings.status_now(booking, now)
    if state != "pending":
        return 409, _html("Nothing to answer", f"<p>This session request is {html.escape(state)}.</p>"
                                                + _details(booking))
    buttons = ('<div class="actions">'
               '<form method="post" action="?action=confirm"><input type="hidden" name="action" value="confirm">'
               '<button class="confirm" type="submit">Confirm</button></form>'
               '<form method="post" action="?action=decline"><input type="hidden" name="action" value="decline">'
               '<button class="decline" type="submit">Decline</button></form></div>')
    from chalicelib.store import users as user_store

    client = user_store.get(booking.client_id)  # the provider sees who asks (SPEC Safety)
    who = html.escape(client.name) if client is not None and client.name else "A client"
    return 200, _html("Session request", f"<p>{who} asked for a session with you.</p>" + _details(booking) + buttons)


def act(token: str, action: str | None, now: datetime) -> tuple[int, str]:
    if action not in ("confirm", "decline"):
        return _message(400, "Choose an action", "Use the Confirm or Decline button on the link's page.")
    found, page = _resolve(token, now)
    if page:
        return page
    link, booking = found
    provider = Caller(id=link.actor_id, email="", role=PROVIDER)
    try:
        if action == "confirm":
            bookings.confirm(provider, booking.id, now, link=link, read=booking)
        else:
            bookings.decline(provider, booking.id, now, link=link, read=booking)
    except HavenError as error:
        logger.info("link action refused", extra={"booking_id": booking.id, "code": error.code})
        if error.code == "already_used":
            return _message(*USED)
        return _message(error.status, "Nothing changed", error.message)
    logger.info("link action done", extra={"booking_id": booking.id, "action": action})
    if action == "confirm":
        return 200, _html("Session confirmed", "<p>Thank you. The session is confirmed and both of you will "
                                               "receive a calendar invitation.</p>" + _details(booking))
    return 200, _html("Session declined", "<p>The request was declined and the client has been told.</p>"
                                          + _details(booking))
