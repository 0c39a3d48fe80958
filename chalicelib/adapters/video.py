"""Join links for live sessions (`wiring.get("video")`): one per participant and booking.

A join link is `<public base URL>/join/<token>`, the token `<booking id>.<c|p>.<mac>`: the booking,
the participant's side (client or provider) and an HMAC-SHA256 of both under the signing key
(domain `join:`, 40 hex characters). It names no person and carries no expiry: the booking's two
participants never change, and the join window (from `join_opens_minutes` before the start until
the end) is checked each time the link is used, so the same link is good for every reminder, the
`.ics` and the join answer, reusable inside the window and refused outside it. A forged or
mistyped token fails its signature before anything is read. Tokens are never logged or stored:
notices store the booking id and the recipient's side and render the link when they are sent.

The link opens the join page (`services/join_page.py`), which gets the Chime credentials by
POSTing to the same link. For a chat session the API's join answer is the room (`room_url`);
the page of a chat session's link says the session happens in the room.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Callable

_SIDES = {"client": "c", "provider": "p"}
_ROLES = {v: k for k, v in _SIDES.items()}
_TOKEN = re.compile(r"(bk_[0-9a-f]{1,40})\.([cp])\.([0-9a-f]{40})")


class JoinLinks:
    def __init__(self, base_url: str, key: Callable[[], bytes]):
        self.base_url = base_url.rstrip("/")
        self._key = key

    def _mac(self, booking_id: str, side: str) -> str:
        return hmac.new(self._key(), f"join:{booking_id}:{side}".encode(), hashlib.sha256).hexdigest()[:40]

    def token(self, booking_id: str, role: str) -> str:
        side = _SIDES[role]
        return f"{booking_id}.{side}.{self._mac(booking_id, side)}"

    def link(self, booking_id: str, role: str) -> str:
        """The participant's join link (`role`: client | provider)."""
        return f"{self.base_url}/join/{self.token(booking_id, role)}"

    def verify(self, token: str) -> tuple[str, str] | None:
        """(booking id, role) of a genuine token, else None."""
        match = _TOKEN.fullmatch(token or "")
        if match is None:
            return None
        booking_id, side, mac = match.groups()
        if not hmac.compare_digest(self._mac(booking_id, side), mac):
            return None
        return booking_id, _ROLES[side]

    def join_url(self, *, booking_id: str, room_id: str, modality: str, participant_id: str, role: str) -> str:
        """The `join_url` of the API's join answer: the participant's join link (the room for chat)."""
        if modality == "chat":
            return self.room_url(room_id)
        return self.link(booking_id, role)

    def room_url(self, room_id: str) -> str:
        return f"{self.base_url}/rooms/{room_id}"

