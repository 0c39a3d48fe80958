"""Scenario helpers for the care-pathway tests: referrals and referral clients, session requests
and the times they talk about. The clock starts Mon 2026-11-23 09:00Z; clients live in New York
(UTC−5 in late November), so a part of the day is 5 hours later in UTC: Wednesday 25 November's
morning is 13:00–17:00Z, its afternoon 17:00–22:00Z, its evening 22:00–02:00Z."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.functional.booking_world import EVERY_DAY, z

CODE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}\b")
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]

WED = "2026-11-25"
THU = "2026-11-26"
FRI = "2026-11-27"
PREFERRED = [{"date": WED, "part": "morning"}, {"date": THU, "part": "afternoon"}, {"date": FRI, "part": "evening"}]
WED_10_NY = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)   # inside Wednesday morning (NY)
WED_11_NY = datetime(2026, 11, 25, 16, 0, tzinfo=timezone.utc)
THU_14_NY = datetime(2026, 11, 26, 19, 0, tzinfo=timezone.utc)   # inside Thursday afternoon (NY)


def issue(api, ops, email: str, *, sessions: int = 4, modalities=("video", "audio", "chat"), referrer=None,
          expect: int = 201) -> dict:
    body = {"email": email, "sessions": sessions, "modalities": list(modalities)}
    if referrer is not None:
        body["referrer"] = referrer
    reply = api.post("/ops/referrals", ops, body)
    assert reply.status == expect, reply.json
    return reply.json


def prescriptions(email: str) -> list[dict]:
    """The referral emails the emulator's SES accepted for `email` (the real mail, read back)."""
    from tests.functional.conftest import mail_to

    return [m for m in mail_to(email) if m.get("subject") == "Your Haven referral code"]


def sent(email: str | None = None) -> list[dict]:
    """Emails delivered through the outbox (to `email`), rendered by the templates SES got them
    from, oldest first: `{"template", "to", "subject", "body"}` (the text part). Reading the
    outbox table keeps these tests off the emulator's whole-state dump."""
    from chalicelib.adapters import templates
    from chalicelib.store.models import NotificationModel

    out = []
    for n in NotificationModel.scan():
        if n.template == "room_message" or n.status != "sent" or (email is not None and n.to != email):
            continue
        params = {k: v for k, v in (n.params or {}).items() if k != "_attachments"}
        subject, text, _html = templates.render(n.template, params)
        out.append({"id": n.id, "template": n.template, "to": n.to, "subject": subject, "body": text,
                    "created_at": n.created_at})
    return sorted(out, key=lambda m: (m["created_at"], m["id"]))


def code_from_email(email: str) -> str:
    """The code of the latest referral email sent to `email` (the code is stored nowhere)."""
    found = [m for m in sent(email) if m["template"] == "referral_prescription"]
    assert found, f"no referral email to {email}"
    codes = CODE.findall(found[-1]["body"])
    assert codes, found[-1]
    return codes[0]


def referral_client(world, api, *, sessions: int = 4, modalities=("video", "audio", "chat"), **profile):
    """A client who registered with a referral code: (user, referral)."""
    user = world.cognito.sign_up()
    referral = issue(api, world.ops, user.email, sessions=sessions, modalities=modalities)
    body = {"name": "Riley Referral", "date_of_birth": "1990-04-21", "timezone": "America/New_York",
            "region": "US-NY", "languages": ["en"], **profile, "referral_code": code_from_email(user.email)}
    reply = api.post("/clients/me", user, body)
    assert reply.status == 200, reply.json
    return user, referral


def provider(world, api, *, windows=None, tz: str = "America/New_York", **fields):
    user = world.provider(timezone=tz, **fields)
    reply = api.put("/providers/me/availability", user, {"timezone": tz, "windows": windows or EVERY_DAY})
    assert reply.status == 200, reply.json
    return user


def ask(api, client, provider_id: str, *, preferred=None, modality: str = "video", note=None, expect: int = 201):
    body = {"provider_id": provider_id, "modality": modality, "preferred": preferred or PREFERRED}
    if note is not None:
        body["note"] = note
    reply = api.post("/session-requests", client, body)
    assert reply.status == expect, reply.json
    return reply.json


def propose(api, provider, request_id: str, *starts: datetime, expect: int = 200):
    reply = api.post(f"/session-requests/{request_id}/proposals", provider, {"starts_at": [z(s) for s in starts]})
    assert reply.status == expect, reply.json
    return reply.json


def request_status(api, user, request_id: str) -> str:
    reply = api.get(f"/session-requests/{request_id}", user)
    assert reply.status == 200, reply.json
    return reply.json["status"]


def mails(email: str, subject_part: str) -> list[dict]:
    return [m for m in sent(email) if subject_part in m["subject"]]


def after(dt: datetime, **delta) -> datetime:
    return dt + timedelta(**delta)


# --- the authorization table's care-pathway rows ----------------------------------------------------

def _caller(user, role):
    from chalicelib.identity import Caller

    return Caller(user.id, user.email, role)


def fresh_request(ctx, proposed: bool = False) -> str:
    """A session request of the table's pair, made once per row (proposed when asked)."""
    from chalicelib import wiring
    from chalicelib.services.pathways import requests
    from tests.functional.booking_world import _ready

    if "request_id" not in ctx:
        _ready(ctx)
        now = wiring.clock()()
        command = requests.NewRequestCommand(provider_id=ctx["provider"].id, modality="video", preferred=PREFERRED)
        ctx["request_id"] = requests.create(_caller(ctx["client"], "client"), command, now)["id"]
        if proposed:
            requests.propose(_caller(ctx["provider"], "provider"), ctx["request_id"], [WED_10_NY], now)
    return ctx["request_id"]


def request_body(proposed: bool = False, body=None):
    def make(ctx, who):
        fresh_request(ctx, proposed)
        return body(ctx, who) if callable(body) else body
    return make


def new_request_body(ctx, who):
    from tests.functional.booking_world import _ready

    _ready(ctx)
    return {"provider_id": ctx["provider"].id, "modality": "video", "preferred": PREFERRED}


def referral_body(ctx, who):
    if "referral_id" not in ctx:
        from chalicelib import wiring
        from chalicelib.services.pathways import referrals

        ops = ctx["users"]["ops"]
        ctx["referral_id"] = referrals.issue(_caller(ops, "ops"), {"email": "table@example.com", "sessions": 2,
                                                                   "modalities": ["video"]}, wiring.clock()())["id"]
    return None
