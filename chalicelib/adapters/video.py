"""Join links for live sessions: a pluggable adapter (`wiring.get("video")`).

`LocalVideo` is the stand-in used locally and in tests: each participant gets a URL under the
stack's public base URL, signed so it cannot be made up for another booking or person. A real
provider (Chime, a hosted video SaaS) replaces it behind the same two methods. Chat sessions
happen in the room, so their link is the room.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable


class LocalVideo:
    def __init__(self, base_url: str, key: Callable[[], bytes]):
        self.base_url = base_url.rstrip("/")
        self._key = key

    def _sig(self, booking_id: str, participant_id: str) -> str:
        mac = hmac.new(self._key(), f"join:{booking_id}:{participant_id}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def join_url(self, *, booking_id: str, room_id: str, modality: str, participant_id: str, role: str) -> str:
        if modality == "chat":
            return self.room_url(room_id)
        return f"{self.base_url}/join/{booking_id}?as={role}&sig={self._sig(booking_id, participant_id)}"

    def room_url(self, room_id: str) -> str:
        return f"{self.base_url}/rooms/{room_id}"

    def join_page(self, booking_id: str) -> str:
        """Where a reminder email sends people: the booking's join page."""
        return f"{self.base_url}/join/{booking_id}"
