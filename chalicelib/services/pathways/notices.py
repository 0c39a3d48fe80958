"""The emails and room messages of care pathways, as outbox records (SPEC §2 Email delivery).

Recorded in the transaction of the change they follow, under deterministic ids made of ids only
(never an address), delivered right after the commit and retried by the deadlines sweep. Their
parameters are ids, times, zones and counts: never a note, a decline reason or anything clinical.
Times are shown in the recipient's zone: preferred times in the provider's, proposals in the
client's.

The referral ("prescription") email carries the code, which is never stored: the outbox keeps
the code's random id and the email is rendered with the signing key, as emailed links are.
"""
from __future__ import annotations

import html
from datetime import datetime
from string import Template

from chalicelib import wiring
from chalicelib.adapters import ics, templates
from chalicelib.clock import iso, parse_iso
from chalicelib.domain import discharges as rules_d
from chalicelib.domain import referrals as rules_r
from chalicelib.domain import request_plans as rp
from chalicelib.domain import session_requests as sr
from chalicelib.services import outbox
from chalicelib.store.models import NotificationModel

_FOOTER = ("Haven is not a crisis service. If you are in danger or thinking about harming yourself, "
           "call your local emergency number, or in the US call or text 988.")
_APP = "the Haven app"

# template -> (subject, text). `$preferred` and `$proposals` are lists of times in the recipient's zone.
TEXTS: dict[str, tuple[str, str]] = {
    "referral_prescription": (
        "Your Haven referral code",
        "You have been referred to Haven$referrer_line for up to $sessions live session(s) "
        "($modalities) with a licensed therapist.\n\nYour referral code: $code\n\n"
        "To use it: sign up in $app (or sign in), then enter the code under \"I have a referral code\" "
        "when you create your profile, or later in your profile settings "
        "(for developers: POST /clients/me/referral {\"code\": \"...\"}). "
        "Case, spaces and hyphens do not matter. The code can be used once, before $redeem_by. "
        "Your program runs for six months from the day you redeem it."),
    "session_request_received": (
        "New session request",
        "A client would like a $modality session and shared when they are available "
        "(your time):\n$preferred\n\nPlease propose up to three start times inside these, "
        "or decline, in $app before $respond_by."),
    "session_request_proposed": (
        "Your provider proposed session times",
        "Your provider proposed these times for a $modality session (your time):\n$proposals\n\n"
        "The times are held for you. Accept one in $app before $accept_by."),
    "session_request_declined": (
        "Your session request was declined",
        "Your provider cannot take your request for a $modality session at the times you shared. "
        "You can ask again with other times, or ask another provider, in $app."),
    "session_request_provider_unavailable": (
        "Your session request has ended",
        "The provider you asked is no longer available, so your request for a $modality session has "
        "ended and any times held for you were released. You can ask another provider in $app."),
    "session_request_expired": (
        "Your session request expired",
        "Your provider did not answer your request for a $modality session in time. "
        "You can ask again, or ask another provider, in $app."),
    "session_request_lapsed": (
        "The proposed session times were released",
        "The times your provider proposed for a $modality session were not accepted before $accept_by, "
        "so they have been released. You can ask again in $app."),
    "session_request_withdrawn": (
        "A session request was withdrawn",
        "A client withdrew their request for a $modality session; the times you proposed are free again."),
    "session_request_nudge_provider": (
        "Reminder: a session request is waiting for your answer",
        "A client's request for a $modality session is waiting for your answer (their times, in "
        "yours):\n$preferred\n\nPlease propose times or decline in $app before $respond_by."),
    "session_request_nudge_client": (
        "Reminder: choose one of the proposed session times",
        "Your provider proposed these times for a $modality session (your time):\n$proposals\n\n"
        "Accept one in $app before $accept_by; after that they are released."),
    "discharge_notice": (
        "Your Haven referral program: notice",
        "$why, so your Haven referral program will close on $at. $keep\n\n"
        "You will still be able to read your room, records and history afterwards."),
    "discharged": (
        "Your Haven referral program has closed",
        "Your Haven referral program closed on $at. You can still read your room, records and history, "
        "keep your journal and moods, and export your data. If you have a new referral code, you can "
        "redeem it in $app to start again."),
    "discharged_provider": (
        "A client's referral program has closed",
        "The referral program of client $client_id closed on $at. You can still post closing words in "
        "the client's room."),
}

WHY = {
    rules_d.NO_FIRST_BOOKING: "No session has been booked since your referral started",
    rules_d.NO_FOLLOW_UP: "No follow-up session has been booked since your last session",
    rules_d.PROGRAM_ENDED: "Your six-month referral program is coming to its end",
}
KEEP = {
    rules_d.NO_FIRST_BOOKING: "Book a session (or ask for one) before then and your program stays open.",
    rules_d.NO_FOLLOW_UP: "Book a session (or ask for one) before then and your program stays open.",
    rules_d.PROGRAM_ENDED: "",
}
ROOM_TEXTS = {
    "discharge_notice": "Notice: this referral program will close on {at} unless a session is booked. "
                        "The room stays readable afterwards.",
    "discharge_notice_program_ended": "Notice: this referral program reaches its end on {at}. "
                                      "The room stays readable afterwards.",
    "discharged": "This referral program has closed. The room stays readable; the provider may still post.",
}


def _when(value: str | None, tz: str | None) -> str:
    return ics.local_text(parse_iso(value), tz) if value else ""


def _span(item: dict, tz: str | None) -> str:
    """e.g. "- Wed 25 Nov 2026, 08:00 to 12:00 (America/New_York)"."""
    start, end = ics.local_text(parse_iso(item["starts_at"]), tz), ics.local_text(parse_iso(item["ends_at"]), tz)
    head, _, zone = start.rpartition(" (")
    end_time = end.rpartition(" (")[0].rpartition(", ")[2]
    return f"- {head} to {end_time} ({zone}"


def _render(name: str, params: dict) -> tuple[str, str, str]:
    subject_t, text_t = TEXTS[name]
    tz = params.get("tz")
    values = {k: "" if v is None else str(v) for k, v in params.items() if not isinstance(v, (list, dict))}
    values["app"] = _APP
    for key in ("respond_by", "accept_by", "redeem_by", "at"):
        if params.get(key):
            values[key] = _when(params[key], tz)
    values["preferred"] = "\n".join(_span(p, tz) for p in params.get("preferred") or [])
    values["proposals"] = "\n".join(f"- {ics.local_text(parse_iso(p), tz)}" for p in params.get("proposals") or [])
    if params.get("code_id"):  # the prescription: the code is derived again, never stored
        values["code"] = rules_r.code_for(params["code_id"], wiring.get("signing_key"))
    values["referrer_line"] = f" by {params['referrer']}" if params.get("referrer") else ""
    if params.get("reason"):
        values["why"], values["keep"] = WHY.get(params["reason"], ""), KEEP.get(params["reason"], "")
    subject = Template(subject_t).safe_substitute(values)
    body = Template(text_t).safe_substitute(values)
    text = f"{body}\n\n{_FOOTER}"
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
    page = (f'<!doctype html><html><body style="font-family:sans-serif;max-width:560px;margin:auto">'
            f"<h2>{html.escape(subject)}</h2>{paragraphs}"
            f'<p style="color:#666;font-size:12px">{html.escape(_FOOTER)}</p></body></html>')
    return subject, text, page


def register_templates() -> None:
    """Called by `bootstrap.start`."""
    for name in TEXTS:
        templates.register(name)(lambda params, _n=name: _render(_n, params))


# --- referral codes -------------------------------------------------------------------------------

def prescription(referral, code_id: str, now: datetime) -> NotificationModel:
    """The referral email for one code of a referral (`referral.version` names the code: a
    reissue is a new version, so a new email)."""
    params = {"code_id": code_id, "referral_id": referral.id, "sessions": int(referral.sessions),
              "modalities": ", ".join(referral.modalities), "referrer": referral.referrer,
              "redeem_by": iso(parse_iso(referral.redeem_by)), "tz": "UTC"}
    return outbox.record(f"referral:{referral.id}:v{int(referral.version)}:prescription", "referral_prescription",
                         referral.email, params, now)


# --- session requests -----------------------------------------------------------------------------

def _request_params(r: rp.Request, role: str, session_minutes: int) -> dict:
    tz = r.client_tz if role == "client" else r.provider_tz
    preferred = [{"starts_at": iso(a), "ends_at": iso(b)} for a, b in sr.preferred_intervals(r.preferred, r.client_tz)]
    return {"request_id": r.id, "modality": r.modality, "tz": tz, "preferred": preferred,
            "proposals": [iso(p) for p in r.proposals], "respond_by": iso(r.respond_by),
            "accept_by": iso(r.accept_by), "minutes": session_minutes}


def request_records(change, people: dict, now: datetime) -> list[NotificationModel]:
    """Outbox records of a request change's notices; `people` maps `client`/`provider` to profiles
    (addresses are read when the email is recorded, never copied onto the request)."""
    out = []
    minutes = wiring.settings().session_minutes
    for n in change.notices:
        if not isinstance(n, rp.RequestNotice):
            continue
        for role in n.roles:
            person = people.get(role)
            if person is None or not person.email:
                continue
            params = {**_request_params(n.request, role, minutes), **dict(n.extra)}
            out.append(outbox.record(f"session_request:{n.request.id}:{n.event}:{role}", n.template, person.email,
                                     params, now))
    return out


# --- discharges -------------------------------------------------------------------------------------

def discharge_notice(client, found: rules_d.Deadline, rooms, now: datetime) -> list[NotificationModel]:
    stem = f"discharge:{client.id}:{found.notice_key}"
    out = [outbox.record(f"{stem}:notice:client", "discharge_notice", client.email,
                         {"reason": found.reason, "at": iso(found.at), "tz": client.timezone or "UTC"}, now)]
    text_id = "discharge_notice_program_ended" if found.reason == rules_d.PROGRAM_ENDED else "discharge_notice"
    at = ics.local_text(found.at, client.timezone or "UTC")
    for room in rooms:
        out.append(outbox.room_message(f"{stem}:notice:room:{room.id}", room.id, ROOM_TEXTS[text_id].format(at=at),
                                       now, to="client"))
    return out


def discharged(client, referral_id: str, reason: str, at: datetime, rooms, providers: dict,
               now: datetime) -> list[NotificationModel]:
    stem = f"discharge:{client.id}:{referral_id}:discharged"
    out = [outbox.record(f"{stem}:client", "discharged", client.email,
                         {"reason": reason, "at": iso(at), "tz": client.timezone or "UTC"}, now)]
    for room in rooms:
        provider = providers.get(room.provider_id)
        if provider is not None and provider.email:
            out.append(outbox.record(f"{stem}:provider:{provider.id}", "discharged_provider", provider.email,
                                     {"client_id": client.id, "reason": reason, "at": iso(at),
                                      "tz": provider.timezone or "UTC"}, now))
        out.append(outbox.room_message(f"{stem}:room:{room.id}", room.id, ROOM_TEXTS["discharged"], now))
    return out
