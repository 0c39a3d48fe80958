"""The `Idempotency-Key` header: a create-or-spend route runs once per (caller, key).

A retry with the same key and the same request gets the first answer again (status and body as
stored); the same key with a different request is 409 `idempotency_mismatch`; a retry while the
first is still running is 409 `request_in_progress`. Built on powertools' idempotency utility with
the DynamoDB persistence store from `wiring` ("idempotency_store"), created on first use. The
answer kept is sealed with the caller's own data key (it repeats what they wrote).
"""
from __future__ import annotations

import json

from chalice import Response

from chalicelib import wiring
from chalicelib.api.encoding import dumps, json_default
from chalicelib.errors import HavenError, ValidationError

MAX_KEY_CHARS = 200


def run_once(caller, key: str, operation: str, path_args: dict, body, call, status: int,
             lambda_context=None) -> Response:
    """Run a create-or-spend call once per (caller, Idempotency-Key): a retry gets the first answer,
    the same key with a different request is 409 `idempotency_mismatch` (powertools idempotency)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError, IdempotencyValidationError)

    if len(key) > MAX_KEY_CHARS:
        raise ValidationError(f"`Idempotency-Key` may be at most {MAX_KEY_CHARS} characters.")
    request = {"key": f"{caller.id}|{operation}|{key}",
               "payload": json.loads(json.dumps({"path": path_args, "body": body}, default=json_default))}
    from chalicelib import request_key

    try:
        with request_key.bound(request["key"]):  # a retry after a crash past the commit rebuilds the answer
            stored = _execute_once(request=request, call=call, status=status, lambda_context=lambda_context)
    except IdempotencyValidationError:
        raise HavenError("This Idempotency-Key was already used for a different request.", "idempotency_mismatch")
    except IdempotencyAlreadyInProgressError:
        raise HavenError("A request with this Idempotency-Key is still being processed; retry shortly.",
                         "request_in_progress")
    return Response(body=_unseal(caller.id, stored), status_code=stored["status"],
                    headers={"Content-Type": "application/json"})


PURPOSE = "idempotency-record"


def _seal(owner_id: str, body: str) -> str:
    """SPEC §2: what a caller wrote is encrypted wherever Haven keeps it, idempotency records
    included: the answer kept for retries is sealed with the caller's own data key."""
    import base64

    return base64.b64encode(wiring.get("user_cipher").encrypt(owner_id, body, purpose=PURPOSE)).decode()


def _unseal(owner_id: str, stored: dict) -> str:
    import base64

    if "sealed" not in stored:  # an answer kept before answers were sealed
        return stored["body"]
    return wiring.get("user_cipher").decrypt(owner_id, base64.b64decode(stored["sealed"]), purpose=PURPOSE)


# Built on the first keyed request, once per container: the idempotency utility stays out of the
# import (cold start), and the persistence store is whatever `wiring` holds by then.
_ONCE = None
_CONFIG = None


def _execute_once(*, request: dict, call, status: int, lambda_context=None) -> dict:
    global _ONCE, _CONFIG
    if _ONCE is None:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        s = wiring.settings()
        config = _CONFIG = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="payload",
                                             expires_after_seconds=s.idempotency_ttl_hours * 3600)

        def execute(request: dict, call, status: int) -> dict:
            # A HavenError propagates: powertools then deletes the record, so a retry is re-evaluated.
            return {"status": status, "sealed": _seal(request["key"].split("|", 1)[0], dumps(call()))}

        _ONCE = idempotent_function(execute, data_keyword_argument="request",
                                    persistence_store=wiring.get("idempotency_store"), config=config)
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        _CONFIG.register_lambda_context(lambda_context)  # lets an abandoned in-progress record expire
    return _ONCE(request=request, call=call, status=status)
