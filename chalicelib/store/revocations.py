"""Revocations (SPEC Safety: "access ends when it should, without an extra call per request").

Each container keeps the whole (small) list in memory and reads it again at most once a minute, so
a revoked token is refused within a minute by every container, and no request pays a read for it.
A container that records a revocation itself knows it at once.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable

from chalicelib.store.models import RevocationModel

SCOPE = "all"
TOKEN_LIFETIME = timedelta(hours=1)  # Cognito ID tokens; a revocation outlives every token it refuses


def sub_subject(sub: str) -> str:
    return f"sub:{sub}"


def user_subject(username: str) -> str:
    return f"user:{username.lower()}"


def record(subject: str, before: datetime, reason: str) -> None:
    """Refuse `subject`'s tokens issued before `before` — to the second, that second included (a
    later revocation only moves it later)."""
    seconds = int(before.timestamp())
    try:
        RevocationModel(SCOPE, subject).update(
            actions=[RevocationModel.before.set(seconds), RevocationModel.reason.set(reason),
                     RevocationModel.expires.set(before + TOKEN_LIFETIME + timedelta(minutes=10))],
            condition=RevocationModel.before.does_not_exist() | (RevocationModel.before < seconds))
    except Exception as error:  # an earlier revocation that is already later: nothing to do
        from chalicelib.store.errors import condition_failed

        if not condition_failed(error):
            raise


class Revocations:
    """The container's view of the list, refreshed at most every `refresh_seconds`."""

    def __init__(self, refresh_seconds: float = 60, clock: Callable[[], float] = time.monotonic,
                 load: Callable[[], dict[str, int]] | None = None):
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._load = load or _load
        self._known: dict[str, int] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def _current(self) -> dict[str, int]:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self.refresh_seconds:
            with self._lock:
                if self._loaded_at is None or now - self._loaded_at >= self.refresh_seconds:
                    self._known = self._load()
                    self._loaded_at = now
        return self._known

    def refuses(self, caller) -> bool:
        known = self._current()
        issued = int(getattr(caller, "issued_at", 0) or 0)
        subjects = {sub_subject(caller.id)} | {user_subject(name) for name in (caller.username, caller.email) if name}
        for subject in subjects:
            before = known.get(subject)
            # token times are whole seconds: a token of the revocation's own second is refused too
            if before is not None and issued <= before:
                return True
        return False

    def remember(self, subject: str, before: datetime) -> None:
        self._known = {**self._known, subject: max(int(before.timestamp()), self._known.get(subject, 0))}


def _load() -> dict[str, int]:
    return {item.subject: int(item.before) for item in RevocationModel.query(SCOPE, consistent_read=True)}
