"""The join page (SPEC §2 "Live sessions on real media"): what a participant's join link opens.

`GET /join/{token}` answers an HTML page and changes nothing (mail scanners follow links):
- a genuine link inside the join window of a video or audio session: the meeting page, whose
  script (`/join-assets/join.js`, amazon-chime-sdk-js bundled by the Makefile) previews the camera
  and microphone, asks `POST /join/{token}` for the Chime credentials and joins;
- a chat session's link inside the window: the page says the session happens in the room (the
  script still POSTs, which records the join as `POST /bookings/{id}/join` does);
- before the window: when it opens, in the recipient's time zone and in words ("today at 09:50");
- after it, or for a cancelled / moved / unconfirmed session: what happened, no meeting;
- a forged, mistyped or unknown link: 404.

`POST /join/{token}` verifies the link and answers exactly what `POST /bookings/{id}/join` answers
for that participant (the same service call, as a `Caller` made from the link). The token is never
logged; ids only.
"""
from __future__ import annotations

import hashlib
import html
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from chalicelib import wiring
from chalicelib.adapters import ics
from chalicelib.clock import iso
from chalicelib.domain import bookings as rules
from chalicelib.errors import NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger
from chalicelib.store import bookings as store

ASSET = Path(__file__).resolve().parents[1] / "assets" / "join.js"  # built by `make` (web/join)

_STYLE = ("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f7f6;margin:0;"
          "color:#1d2b28}main{max-width:760px;margin:32px auto;background:#fff;border-radius:12px;"
          "padding:28px;box-shadow:0 2px 12px rgba(0,0,0,.08)}h1{font-size:1.4rem;margin-top:0}"
          "dl{display:grid;grid-template-columns:auto 1fr;gap:6px 16px}dt{color:#5b6b67}dd{margin:0}"
          ".videos{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:16px 0}"
          "video{width:100%;background:#1d2b28;border-radius:8px;aspect-ratio:4/3;object-fit:cover}"
          ".label{color:#5b6b67;font-size:.85rem}.actions{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}"
          "button{font-size:1rem;padding:10px 22px;border-radius:8px;border:0;cursor:pointer;"
          "background:#e9ecea;color:#1d2b28}button.primary{background:#2f6f5e;color:#fff}"
          "button.leave{background:#a33;color:#fff}button[hidden]{display:none}"
          "#status{padding:12px 14px;border-radius:8px;background:#eef4f2}"
          "[data-state=cannot-connect] #status,[data-state=no-permission] #status,[data-state=no-devices] #status,"
          "[data-state=refused] #status{background:#fbeaea;color:#7a1f1f}"
          ".note{color:#5b6b67;font-size:.85rem;margin-top:28px}")

_CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' blob: mediastream:; "
        "connect-src 'self' https://*.chime.aws wss://*.chime.aws https://*.amazonaws.com wss://*.amazonaws.com; "
        "worker-src blob:; child-src blob:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Robots-Tag": "noindex", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Permissions-Policy": "camera=(self), microphone=(self), display-capture=()",
           "Content-Security-Policy": _CSP}


# --- the script --------------------------------------------------------------------------------

_loaded: list[tuple[str, str]] = []


def _asset() -> tuple[str, str] | None:
    """Read once per process (a missing bundle is looked for again next time)."""
    if not _loaded:
        try:
            text = ASSET.read_text(encoding="utf-8")
        except OSError:
            return None
        _loaded.append((text, hashlib.sha256(text.encode()).hexdigest()[:16]))
    return _loaded[0]


def script() -> tuple[str, str] | None:
    """(the bundled script, its version) or None when it was not built (`make` builds it)."""
    return _asset()


def _script_tag() -> str:
    asset = _asset()
    version = asset[1] if asset else "missing"
    # relative: the page is /join/{token}, so this is /join-assets/join.js under any stage prefix
    return f'<script src="../join-assets/join.js?v={version}" defer></script>'


# --- the page ----------------------------------------------------------------------------------

def _html(title: str, body: str, *, state: str, data: dict | None = None, with_script: bool = False) -> str:
    attrs = "".join(f' data-{k}="{html.escape(str(v), quote=True)}"' for k, v in (data or {}).items())
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
            f"<title>{html.escape(title)} · Haven</title><style>{_STYLE}</style>"
            f"{_script_tag() if with_script else ''}</head>"
            f'<body data-state="{html.escape(state, quote=True)}"{attrs}><main id="join">'
            f"<h1>{html.escape(title)}</h1>{body}<p class=\"note\">Haven is not a crisis service. In an "
            f"emergency call your local emergency number (in the US, call or text 988).</p></main></body></html>")


def _message(status: int, title: str, text: str, state: str, **data) -> tuple[int, str]:
    return status, _html(title, f'<p id="status" role="status">{html.escape(text)}</p>', state=state, data=data)


NOT_FOUND = (404, "Link not found", "This join link is not valid. Open the Haven app to see your sessions.",
             "not-found")


def _local(instant: datetime, tz: str) -> datetime:
    try:
        return instant.astimezone(ZoneInfo(tz))
    except Exception:
        return instant.astimezone(ZoneInfo("UTC"))


def _zone(tz: str | None) -> str:
    try:
        ZoneInfo(tz or "UTC")
        return tz or "UTC"
    except Exception:
        return "UTC"


def when_text(instant: datetime, now: datetime, tz: str | None) -> str:
    """A moment as a person says it, in their zone: "today at 09:50 (Europe/Paris)",
    "tomorrow at 09:50 (…)", or "on Wed 25 Nov 2026 at 09:50 (…)"."""
    zone = _zone(tz)
    local, today = _local(instant, zone), _local(now, zone).date()
    if local.date() == today:
        day = "today"
    elif local.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"on {local:%a %d %b %Y}"
    return f"{day} at {local:%H:%M} ({zone})"


def _in_words(delta: timedelta) -> str:
    minutes = max(1, int((delta.total_seconds() + 59) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n][:2]
    return " and ".join(words)


def _details(b, tz: str) -> str:
    rows = [("When", ics.local_text(b.starts_at, tz)), ("Length", f"{wiring.settings().session_minutes} minutes"),
            ("Kind", f"{b.modality} session")]
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows) + "</dl>"


def resolve(token: str):
    """(booking, role) of a genuine link to an existing booking, else None. Nothing is read for a
    forged token."""
    found = wiring.get("video").verify(token)
    if found is None:
        return None
    booking_id, role = found
    b = store.find(booking_id)
    if b is None:
        return None
    return b, role


_MEETING = ('<div class="videos"><div><video id="local-video" autoplay muted playsinline></video>'
            '<div class="label">You (preview)</div></div>'
            '<div><video id="remote-video" autoplay playsinline></video>'
            '<div class="label" id="remote-label">The other participant</div></div></div>'
            '<audio id="meeting-audio" autoplay></audio>'
            '<p id="status" role="status" aria-live="polite">Loading the meeting…</p>'
            '<div class="actions">'
            '<button id="join-button" class="primary" type="button" hidden>Join the session</button>'
            '<button id="mute-button" type="button" hidden>Mute</button>'
            '<button id="camera-button" type="button" hidden>Turn camera off</button>'
            '<button id="leave-button" class="leave" type="button" hidden>Leave</button>'
            '<button id="retry-button" type="button" hidden>Try again</button></div>')


def show(token: str, now: datetime) -> tuple[int, str]:
    found = resolve(token)
    if found is None:
        return _message(*NOT_FOUND)
    b, role = found
    tz = b.client_tz if role == "client" else b.provider_tz
    state = rules.effective_status(b.view(), now, wiring.settings().outcome_grace_hours)
    opens, closes = rules.join_window(b.view(), wiring.settings().join_opens_minutes)
    logger.info("join page", extra={"booking_id": b.id, "role": role})
    if state == rules.PENDING:
        return _message(409, "Not confirmed yet", "This session is not confirmed yet, so it cannot be joined. "
                        "You will get a calendar invitation once it is confirmed.", "not-confirmed")
    if state == rules.RESCHEDULED:
        return _message(410, "Session moved", "This session was moved to another time. Use the link in the "
                        "newest email about it, or open the Haven app.", "moved")
    gone = {rules.CANCELLED: "cancelled", rules.LATE_CANCELLED: "cancelled", rules.DECLINED: "declined",
            rules.EXPIRED: "not confirmed in time"}
    if state in gone:
        return _message(410, "No session", f"This session was {gone[state]}, so there is nothing to join.",
                        "cancelled")
    if state != rules.CONFIRMED or now >= closes:
        return _message(410, "Session over", "This session has ended. Open the Haven app to see it.", "ended")
    if now < opens:
        minutes = wiring.settings().join_opens_minutes
        text = (f"You can join {when_text(opens, now, tz)}, in {_in_words(opens - now)}: the session opens "
                f"{minutes:g} minutes before it starts {when_text(b.starts_at, now, tz)}. Come back then with "
                "this same link; this page also opens the meeting by itself at that time if you leave it open.")
        body = f'<p id="status" role="status">{html.escape(text)}</p>' + _details(b, tz)
        # 409 like `POST /join` outside the window (the link is valid only inside it); the page
        # still says when it opens and opens the meeting by itself then
        return 409, _html("Not open yet", body, state="not-yet", with_script=True,
                          data={"opens-at": iso(opens), "modality": b.modality})
    if b.modality == "chat":
        text = ("This is a chat session: it happens in writing in your room in the Haven app. Open the app "
                "and go to your room; the session is open now.")
        body = f'<p id="status" role="status">{html.escape(text)}</p>' + _details(b, tz)
        return 200, _html("Your chat session", body, state="chat", with_script=True, data={"modality": "chat"})
    title = "Your video session" if b.modality == "video" else "Your audio session"
    return 200, _html(title, _details(b, tz) + _MEETING, state="loading", with_script=True,
                      data={"modality": b.modality, "ends-at": iso(closes)})


def join(token: str, now: datetime) -> dict:
    """The join answer for the link's participant (as `POST /bookings/{id}/join`)."""
    from chalicelib.services.bookings import commands

    found = wiring.get("video").verify(token)
    if found is None:
        raise NotFound("join link")
    booking_id, role = found
    b = store.find(booking_id)
    if b is None:
        raise NotFound("join link")
    participant = Caller(id=b.client_id if role == "client" else b.provider_id, email="", role=role)
    answer = commands.join(participant, booking_id, now)
    logger.info("joined from the join link", extra={"booking_id": booking_id, "role": role})
    return answer
