"""Email templates: subject, text and HTML for each notice. No clinical content, no message text.

Parameters are ids, times and links only; HTML values are escaped.
"""
from __future__ import annotations

import html
from string import Template

_FOOTER = ("\n\nHaven is not a crisis service. If you are in danger or thinking about harming yourself, "
           "call your local emergency number, or in the US call or text 988.")

TEMPLATES: dict[str, tuple[str, str]] = {
    "new_message": (
        "You have a new message on Haven",
        "You have a new message in your Haven room. Open the Haven app to read it.",
    ),
    "reply_overdue_provider": (
        "A client is waiting for your reply",
        "A client message in one of your Haven rooms has waited past the reply promise "
        "(due $due_at). Please reply in the Haven app.\n\nRoom: $room_id",
    ),
    # The clinical record: urgent alerts carry ids only: no scores, no answers, no message text.
    "risk_questionnaire_provider": (
        "Urgent: a client may be at risk",
        "A client's answers before an upcoming session suggest they may be at risk. Please open Haven now, "
        "review the session's questionnaire and acknowledge this alert within $ack_minutes minutes; "
        "if it is not acknowledged, Haven's operations team is told.\n\nBooking: $booking_id",
    ),
    "risk_unacknowledged_ops": (
        "Risk alert not acknowledged: booking $booking_id",
        "A questionnaire risk alert for booking $booking_id was not acknowledged by its provider "
        "($provider_id) by $due_at. Please follow it up with the provider.",
    ),
    "risk_message_provider": (
        "Urgent: a message may need your attention",
        "A client message in one of your Haven rooms may show risk of harm. Please open the Haven app and "
        "read the room now.\n\nRoom: $room_id",
    ),
    "risk_message_unread_ops": (
        "Flagged message unread: room $room_id",
        "A client message flagged for risk in room $room_id has not been read by its provider ($provider_id) "
        "within an hour. Please follow it up with the provider.",
    ),
    "reply_overdue_ops": (
        "Reply promise missed: room $room_id",
        "A client message in room $room_id has not been answered one working day after it was due "
        "($due_at). Provider: $provider_id.",
    ),
    # matching and continuity of care
    "care_matched": (
        "You have a Haven provider",
        "Good news: $provider_name will be your $provider_kind. Your room is ready in the Haven app.",
    ),
    "care_provider_changed": (
        "Your new Haven provider",
        "Your care has moved to $provider_name, your new $provider_kind. Your room and everything in it "
        "stay the same. Sessions booked with your previous provider have been cancelled and their "
        "credits returned.",
    ),
    "care_new_client": (
        "You have a new client on Haven",
        "A client has been matched with you. Open the Haven app to welcome them.\n\nRoom: $room_id",
    ),
    "care_client_moved": (
        "A client has moved to another provider",
        "A client's care has moved on, so you no longer have access to room $room_id. "
        "Their future sessions with you have been cancelled.",
    ),
    "care_finding_provider": (
        "We are finding you a new Haven provider",
        "Your $provider_kind is no longer available on Haven. We are looking for a new one for you and "
        "will email you as soon as they are ready. Your room and its history stay with you.",
    ),
    "care_waiting_ops": (
        "A client has waited 48 hours for a match",
        "Client $client_id has waited for a $provider_kind since $since ($reason) and nobody passes the "
        "matching filters. Assign one with PUT /ops/assignments.",
    ),
    # between sessions and data rights (issue 15): dates only, never the homework's words
    "homework_reminder": (
        "Homework due tomorrow",
        "You have homework from your provider due tomorrow, $due. Open the Haven app to see it, "
        "and mark it done there when you have finished it.",
    ),
    "export_ready": (
        "Your Haven data export is ready",
        "The copy of your Haven data you asked for is ready. Download it from the Haven app "
        "(Settings, Your data) before $available_until; after that it is deleted. If you did not "
        "ask for it, contact us.",
    ),
}


def render(name: str, params: dict) -> tuple[str, str, str]:
    """(subject, text, html) for a template and its parameters."""
    if name in _CUSTOM:
        return _CUSTOM[name](params)
    subject, text = TEMPLATES[name]
    safe = {k: "" if v is None else str(v) for k, v in (params or {}).items()}
    subject = Template(subject).safe_substitute(safe)
    text_body = Template(text).safe_substitute(safe) + _FOOTER
    html_body = _html(subject, Template(text).safe_substitute({k: html.escape(v) for k, v in safe.items()}),
                      params.get("action_url"), params.get("action_label"))
    return subject, text_body, html_body


def _html(title: str, text: str, action_url: str | None = None, action_label: str | None = None) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line.strip())
    button = ""
    if action_url:
        button = (f'<p><a href="{html.escape(action_url, quote=True)}" style="background:#2f6f5e;color:#fff;'
                  f'padding:10px 18px;border-radius:6px;text-decoration:none">{html.escape(action_label or "Open")}'
                  f"</a></p>")
    return (f"<!doctype html><html><body style=\"font-family:sans-serif;max-width:560px;margin:auto\">"
            f"<h2>{html.escape(title)}</h2>{paragraphs}{button}"
            f"<p style=\"color:#666;font-size:12px\">{html.escape(_FOOTER.strip())}</p></body></html>")


# Templates that need code (calendar attachments, links) register a renderer here.
_CUSTOM: dict = {}


def register(name: str):
    def deco(fn):
        _CUSTOM[name] = fn
        return fn
    return deco
