"""The one error type domain rules raise.

`DomainError` is a `chalicelib.errors.HavenError`, so a rule violation raised deep in a
service reaches the API's single error mapping with its stable `code` and HTTP status
without any translation layer. `chalicelib.errors` is plain Python (no AWS), so importing
it keeps the domain pure. Codes must be listed in `chalicelib.errors.CODES`.
"""
from __future__ import annotations

from chalicelib.errors import HavenError


class DomainError(HavenError):
    """A broken rule: `code` is stable (`too_soon`, `invalid_state`, ...), `message` is for a person.

    `details` carries machine-readable context, e.g. `{"state": "expired"}` for `invalid_state`.
    """

    def __init__(self, code: str, message: str, **details):
        super().__init__(message, code, details=details or None)


class TooFar(DomainError):
    """A booking beyond the end of the next billing period."""

    def __init__(self, message: str = "Sessions can be booked up to the end of your next billing period.", **details):
        super().__init__("too_far", message, **details)


def invalid_state(state: str, action: str, what: str = "booking") -> DomainError:
    """409 `invalid_state` whose message names the current state (SPEC §3)."""
    return DomainError("invalid_state", f"The {what} is {state}; it cannot be {action}.", state=state)
