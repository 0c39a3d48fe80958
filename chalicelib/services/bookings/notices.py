"""The emails of live sessions: templates, calendar attachments and outbox records.

Booking changes record their emails *inside* the transaction that makes the change (outbox
items with deterministic ids: booking id, version and template, never an address), and send
them right after it commits; whatever fails to send is retried by the deadlines sweep. So a
notice exists if and only if its change happened, and is sent at least once.

Parameters are ids, times and links only: no names, no notes, no clinical content. The
confirm/decline link is never stored: the outbox keeps only the link's random id, and the
token (id + HMAC with the signing key) is rebuilt when the email is rendered.
"""
from __future__ import annotations

import hashlib
import hmac
import html
from datetime import datetime

from chalicelib import wiring
from chalicelib.adapters import ics, templates
from chalicelib.clock import iso, parse_iso
from chalicelib.domain import booking_plans as plans
from chalicelib.services import outbox
from chalicelib.store import bookings as store
from chalicelib.store.models import NotificationModel

_FOOTER = ("Haven is not a crisis service. If you are in danger or thinking about harming yourself, "
           "call your local emergency number, or in the US call or text 988.")

# template -> (subject, text). `$when` is the session's start in the recipient's zone.
TEXTS: dict[str, tuple[str, str]] = {
    "booking_requested": ("New session request for $when",
                          "A client asked for a $modality session on $when ($minutes minutes). "
                          "Please confirm or decline it before $confirm_by."),
    "booking_confirmed": ("Session confirmed: $when",
                          "Your $modality session on $when ($minutes minutes) is confirmed. "
                          "A calendar invitation is attached."),
    "booking_declined": ("Session request declined",
                         "Your request for a $modality session on $when was declined by the provider. "
                         "The session credit has been returned. You can book another time in the Haven app."),
    "booking_expired": ("Session request expired",
                        "Your request for a $modality session on $when was not confirmed in time, so it has "
                        "expired. The session credit has been returned. You can book another time in the Haven app."),
    "booking_cancelled": ("Session cancelled: $when",
                          "The $modality session on $when has been cancelled ($by)."),
    "booking_rescheduled": ("Session moved to $when",
                            "The $modality session on $old_when has been moved to $when ($minutes minutes). $next"),
    "booking_reminder_long": ("Reminder: session tomorrow, $when",
                              "Reminder: your $modality session is on $when ($minutes minutes)."),
    "booking_reminder_short": ("Your session starts soon: join now",
                               "Your $modality session starts at $when and is open to join now."),
    "booking_unresolved_ops": ("Session without outcome: booking $booking_id",
                               "Booking $booking_id (provider $provider_id, client $client_id) ended at $ends_at "
                               "with no outcome recorded 24 hours later. It is now unresolved."),
    "booking_provider_no_show_ops": ("Provider no-show reported: booking $booking_id",
                                     "The client of booking $booking_id reported that provider $provider_id did not "
                                     "come to the session at $starts_at. The credit was returned."),
}
ACTION_LABELS = {"booking_requested": "Confirm or decline", "booking_reminder_short": "Go to the join page"}


def link_token(link_id: str) -> str:
    """The emailed token: a random id and its HMAC under the signing key."""
    mac = hmac.new(wiring.get("signing_key"), f"link:{link_id}".encode(), hashlib.sha256).hexdigest()
    return f"{link_id}.{mac[:43]}"


def token_is_signed(token: str) -> bool:
    link_id, _, mac = token.partition(".")
    if not link_id or not mac or len(token) > 200:
        return False
    return hmac.compare_digest(link_token(link_id), token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _render(name: str, params: dict) -> tuple[str, str, str]:
    subject_t, text_t = TEXTS[name]
    values = {k: "" if v is None else str(v) for k, v in params.items() if not k.startswith("_")}
    if params.get("starts_at"):
        values["when"] = ics.local_text(parse_iso(params["starts_at"]), params.get("tz"))
    if params.get("old_starts_at"):
        values["old_when"] = ics.local_text(parse_iso(params["old_starts_at"]), params.get("tz"))
    if params.get("confirm_by"):
        values["confirm_by"] = ics.local_text(parse_iso(params["confirm_by"]), params.get("tz"))
    action_url = params.get("action_url")
    if params.get("join_as") in ("client", "provider"):  # the recipient's own join link, made now
        action_url = wiring.get("video").link(params["booking_id"], params["join_as"])
    if params.get("link_id"):
        action_url = f"{wiring.settings().public_base_url}/links/{link_token(params['link_id'])}"
    from string import Template

    subject = Template(subject_t).safe_substitute(values)
    body = Template(text_t).safe_substitute(values)
    text = body + (f"\n\n{ACTION_LABELS.get(name, 'Open')}: {action_url}" if action_url else "") + "\n\n" + _FOOTER
    button = ""
    if action_url:
        button = (f'<p><a href="{html.escape(action_url, quote=True)}" style="background:#2f6f5e;color:#fff;'
                  f'padding:10px 18px;border-radius:6px;text-decoration:none">'
                  f'{html.escape(ACTION_LABELS.get(name, "Open"))}</a></p>')
    page = (f'<!doctype html><html><body style="font-family:sans-serif;max-width:560px;margin:auto">'
            f"<h2>{html.escape(subject)}</h2><p>{html.escape(body)}</p>{button}"
            f'<p style="color:#666;font-size:12px">{html.escape(_FOOTER)}</p></body></html>')
    return subject, text, page


ROOM_TEXTS = {
    "expired": "The session request for {when} was not confirmed in time and has expired. "
               "The credit has been returned.",
    "remind_short": "Your {modality} session at {when} is open to join now: use your join link.",
    "remind_long": "Reminder: your {modality} session is on {when}. Your join link works from "
                   "{opens} minutes before the start.",
}
# whom each room note is addressed to (unread for them only); reminders are for both members
ROOM_TO = {"expired": "client"}


def register_templates() -> None:
    """Called by `bootstrap.start`: the booking emails render with code (links, local times)."""
    for name in TEXTS:
        templates.register(name)(lambda params, _n=name: _render(_n, params))


# --- outbox records of a planned change ----------------------------------------------------------

def _param(value):
    return iso(value) if isinstance(value, datetime) else value


def base_params(b: plans.Booking, role: str) -> dict:
    return {"booking_id": b.id, "modality": b.modality, "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at),
            "minutes": wiring.settings().session_minutes, "tz": b.client_tz if role == "client" else b.provider_tz}


def calendar(b: plans.Booking, role: str, method: str, sequence: int) -> dict:
    """What the email channel needs to render the `.ics` when it sends (the attendee is the
    recipient's address as it is then)."""
    return {"series_id": b.series_id, "sequence": sequence, "method": method, "starts_at": iso(b.starts_at),
            "ends_at": iso(b.ends_at), "summary": f"Haven {b.modality} session",
            "tz": b.client_tz if role == "client" else b.provider_tz,
            # the recipient's own join link is rendered into the .ics when it is sent (never stored)
            **({"booking_id": b.id, "join_as": role} if method == ics.REQUEST else {})}


def calendar_attachment(spec: dict, attendee: str | None, now: datetime) -> dict:
    s = wiring.settings()
    url = None
    if spec.get("join_as") in ("client", "provider") and spec.get("booking_id"):
        url = wiring.get("video").link(spec["booking_id"], spec["join_as"])
    text = ics.build(series_id=spec["series_id"], sequence=int(spec["sequence"]), method=spec["method"],
                     starts_at=parse_iso(spec["starts_at"]), ends_at=parse_iso(spec["ends_at"]),
                     summary=spec["summary"], organizer=s.mail_sender, attendees=[a for a in (attendee,) if a],
                     recipient_tz=spec.get("tz"), stamp=now, url=url)
    return ics.attachment(text, spec["method"])


def _email(n: plans.Notice, role: str, now: datetime) -> NotificationModel | None:
    b = n.booking
    key = store.notice_key(n.key_booking_id or b.id, n.event, n.version, role)
    if role == "ops":
        params = {"booking_id": b.id, "provider_id": b.provider_id, "client_id": b.client_id,
                  "starts_at": iso(b.starts_at), "ends_at": iso(b.ends_at), "tz": "UTC"}
        to = wiring.settings().ops_email
    else:
        # the member's address is read when the email is sent, never copied onto the booking
        params = {**base_params(b, role), **{k: _param(v) for k, v in n.extra.items() if k != "join_link"}}
        if n.extra.get("join_link"):
            params["join_as"] = role  # the link itself is made when the email is rendered
        to = outbox.user_address(b.client_id if role == "client" else b.provider_id)
        if n.ics_method:
            params["_ics"] = calendar(b, role, n.ics_method, n.sequence)
    guard = {"kind": "booking", "id": b.id, "version": n.version} if n.guarded else None
    return outbox.record(key, n.template, to, params, now, moot_at=n.moot_at, guard=guard)


def records(notices, now: datetime) -> list[NotificationModel]:
    """The outbox records of a change's notices: emails per recipient, room messages per room."""
    out = []
    for n in notices:
        if not isinstance(n, (plans.Notice, plans.RoomNote)):
            continue  # another entity's notice (a session request's): its service renders it
        if isinstance(n, plans.RoomNote):
            b = n.booking
            text = ROOM_TEXTS[n.text].format(when=ics.local_text(b.starts_at, b.client_tz), modality=b.modality,
                                             opens=wiring.settings().join_opens_minutes)
            # a reminder means something only while the booking is as it was and the session not over
            reminder = n.text.startswith("remind_") and n.version is not None
            out.append(outbox.room_message(store.notice_key(b.id, n.event, n.version, "room"), b.room_id, text,
                                           now, to=ROOM_TO.get(n.text),
                                           join_booking_id=b.id if n.join_link else None,
                                           join_provider_id=b.provider_id if n.join_link else None,
                                           moot_at=b.ends_at if reminder else None,
                                           guard={"kind": "booking", "id": b.id, "version": n.version}
                                           if reminder else None))
            continue
        for role in n.roles:
            item = _email(n, role, now)
            if item is not None:
                out.append(item)
    return out
