"""The `Idempotency-Key` of the request being served, as a short digest (None without one).

A request that committed its change and then died leaves its key "in progress"; after the
Lambda's timeout the client's retry runs the command again. Commands that must answer that retry
with the first result (not with the conflict their own first attempt made) read `current()`:
they derive the id of what they create from it, or record it with the change in the same
transaction, and recognise it on the retry. A leaf module: the route layer binds it, services read it.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("haven_request_key", default=None)


def current() -> str | None:
    """A digest of (caller, operation, Idempotency-Key) of the keyed request being served."""
    return _current.get()


def derived(prefix: str, length: int = 24) -> str | None:
    """A deterministic id for what this keyed request creates (the same on its retry)."""
    key = _current.get()
    if key is None:
        return None
    return prefix + hashlib.sha256(f"{prefix}|{key}".encode()).hexdigest()[:length]


@contextlib.contextmanager
def bound(scoped_key: str):
    """While serving a keyed request; `scoped_key` is `<caller>|<operation>|<Idempotency-Key>`."""
    token = _current.set(hashlib.sha256(scoped_key.encode()).hexdigest()[:32])
    try:
        yield
    finally:
        _current.reset(token)
