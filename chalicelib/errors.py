"""Every error Haven answers with: one hierarchy, stable `code` strings, one HTTP status each.

Routes never build error bodies themselves: they raise these, and `api.routing` maps them to
`{"error": {"code", "message"}}` in one place. The OpenAPI document lists `CODES`.
"""
from __future__ import annotations

# code -> HTTP status. The single list of error codes (SPEC §3 plus our additions).
CODES: dict[str, int] = {
    "validation_error": 400,
    "bad_request": 400,  # API Gateway refused the request before Haven saw it (a gateway response)
    "invalid_cursor": 400,
    "not_on_slot": 400,
    "outside_availability": 400,
    "too_soon": 400,
    "too_far": 400,
    "in_the_past": 400,
    "modality_not_allowed": 400,
    "media_mismatch": 400,
    "too_young": 400,
    "range_too_large": 400,
    "after_program_end": 400,
    "not_licensed": 400,
    "language_mismatch": 400,
    "at_capacity": 400,
    "not_preferred": 400,
    "unauthorized": 401,
    "no_credit": 402,
    "no_plan": 402,
    "forbidden": 403,
    "mfa_required": 403,
    "not_your_provider": 403,
    "psychiatry_video_only": 403,
    "discharged": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "slot_taken": 409,
    "invalid_state": 409,
    "already_active": 409,
    "cannot_cancel": 409,
    "not_needed": 409,
    "upload_missing": 409,
    "already_used": 409,
    "outside_join_window": 409,
    "idempotency_mismatch": 409,
    "request_in_progress": 409,
    "already_exists": 409,
    "already_submitted": 409,
    "questionnaire_required": 409,
    "already_rated": 409,
    "not_yet_visible": 409,
    "not_registered": 409,
    "link_expired": 410,
    "code_expired": 410,
    "export_expired": 410,
    "too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,  # API Gateway's throttling and the WAF rate rule (gateway responses)
    "internal_error": 500,
    "speech_unavailable": 502,
    "meeting_unavailable": 502,  # Chime refused or failed to start the session's meeting
}


class HavenError(Exception):
    """An error a caller can act on. `code` is stable; `message` is for a person."""

    code = "internal_error"

    def __init__(self, message: str, code: str | None = None, *, details: dict | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if self.code not in CODES:
            raise ValueError(f"unknown error code {self.code!r}")
        self.message = message
        self.details = details or {}

    @property
    def status(self) -> int:
        return CODES[self.code]

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class ValidationError(HavenError):
    code = "validation_error"


class Unauthorized(HavenError):
    code = "unauthorized"


class Forbidden(HavenError):
    code = "forbidden"


class NotFound(HavenError):
    code = "not_found"

    def __init__(self, what: str = "resource"):
        super().__init__(f"No such {what}.")


class Conflict(HavenError):
    code = "invalid_state"


class PaymentRequired(HavenError):
    code = "no_credit"


def invalid_state(what: str, state: str, wanted: str = "") -> HavenError:
    """409 naming the current state, as SPEC §3 asks."""
    tail = f"; it must be {wanted}" if wanted else ""
    return HavenError(f"The {what} is {state}{tail}.", "invalid_state", details={"state": state})
