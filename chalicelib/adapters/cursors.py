"""Opaque, tamper-proof pagination cursors: HMAC-SHA256 over the position and the list it belongs to.

A cursor names its list (`scope`), so a cursor from another room or list is refused.
Cursors are never logged.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Callable

from chalicelib.errors import HavenError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    def __init__(self, key: Callable[[], bytes] | bytes):
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        key = self._key() if callable(self._key) else self._key
        return hmac.new(key, b"cursor:" + payload, hashlib.sha256).digest()

    def encode(self, scope: str, position: Any) -> str:
        payload = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, scope: str, cursor: str) -> Any:
        invalid = HavenError("The `next` cursor is not valid for this list; start again without it.",
                             "invalid_cursor")
        try:
            body, mac = cursor.split(".", 1)
            payload = _unb64(body)
            good = hmac.compare_digest(_unb64(mac), self._mac(payload))
        except (ValueError, TypeError):
            raise invalid
        if not good:
            raise invalid
        try:
            data = json.loads(payload)
        except ValueError:
            raise invalid
        if not isinstance(data, dict) or data.get("s") != scope:
            raise invalid
        return data.get("p")
