"""The HTTP middleware around every request: correlation id, token check, CORS origin, access log.

`register_middleware(app)` installs it on the Chalice app (app.py). Per request it
- sets the correlation id: the caller's `X-Correlation-Id` when it looks like an id, else API
  Gateway's request id; it is logged with every line and returned as a response header;
- authenticates the bearer token for any route not `PUBLIC` (401, or 403 `mfa_required` for staff
  without an authenticator) before the route runs, and leaves the caller on the request;
- answers with the caller's `Origin` when it is one of ours, also on a 401 the route never saw;
- turns anything unhandled into the error envelope, never a bare 500 page;
- writes one access-log line (route template, status, duration; ids only) and flushes metrics.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

from chalicelib import wiring
from chalicelib.api.routing import PUBLIC, ROUTES, error_response
from chalicelib.errors import HavenError, Unauthorized
from chalicelib.identity import OPS, PROVIDER
from chalicelib.observability import logger, metrics


def register_middleware(app) -> None:
    @app.middleware("http")
    def authenticate(event, get_response):
        started = time.perf_counter()
        context = event.context or {}
        correlation = _correlation_id(event.headers or {}, context)
        spec = ROUTES.get((context.get("resourcePath"), event.method))
        # per thread: `chalice local` serves requests side by side (on Lambda, one at a time)
        logger.thread_safe_append_keys(correlation_id=correlation,
                                       route=f"{event.method} {context.get('resourcePath')}")
        response = None
        try:
            try:
                if spec is not None and spec.roles != PUBLIC:
                    event.haven_caller = _authenticate(event.headers or {})
                    logger.thread_safe_append_keys(caller_id=event.haven_caller.id, role=event.haven_caller.role)
                response = get_response(event)
            except HavenError as error:  # 401 (or 403 mfa_required) before the route runs
                response = error_response(error)
            except Exception:  # never a bare 500 page: the envelope, and the traceback in the log
                logger.exception("unhandled error")
                response = error_response(HavenError("Something went wrong on our side; try again.",
                                                     "internal_error"))
            response = _enveloped(response)
            if response.status_code >= 500:
                metrics.add_metric(name="ServerError", unit="Count", value=1)
            if spec is None or spec.roles != PUBLIC:  # SPEC Safety: personal data is never cached
                response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("X-Correlation-Id", correlation)
            origin = (event.headers or {}).get("origin")
            if origin and origin in wiring.settings().cors_origins:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Vary"] = "Origin"
            return response
        finally:
            # One line per request for whoever is on call: route template, status, time; ids only.
            logger.info("request", extra={"status": response.status_code if response is not None else None,
                                          "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
            logger.thread_safe_clear_keys()
            try:
                if metrics.metric_set:
                    metrics.flush_metrics()
            except Exception:  # a metrics problem must not fail a request
                pass


# Chalice's own answers (a content type a route does not take, a method it does not have) in our envelope.
_CHALICE_CODES = {415: ("unsupported_media_type", "Send the body as application/json."),
                  405: ("method_not_allowed", "This path does not take that method."),
                  404: ("not_found", "There is no such path in the Haven API.")}


def _enveloped(response):
    if response.status_code not in _CHALICE_CODES:
        return response
    if str((response.headers or {}).get("Content-Type", "")).startswith("text/html"):
        return response  # a page of ours (an emailed link's 404), not Chalice's own answer
    body = response.body if isinstance(response.body, (str, bytes)) else ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if '"error"' in body[:20]:
        return response
    code, message = _CHALICE_CODES[response.status_code]
    return error_response(HavenError(message, code))


_CORRELATION = re.compile(r"[A-Za-z0-9._:-]{1,100}")


def _correlation_id(headers, context) -> str:
    """The caller's X-Correlation-Id when it looks like an id (it is logged), else API Gateway's."""
    given = headers.get("x-correlation-id") or ""
    if _CORRELATION.fullmatch(given):
        return given
    return context.get("requestId") or str(uuid.uuid4())


def _authenticate(headers) -> Any:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send `Authorization: Bearer <Cognito ID token>`.")
    caller = wiring.get("tokens").verify(token.strip())
    if wiring.get("revocations").refuses(caller):
        raise Unauthorized("This sign-in has ended (signed out or access removed); sign in again.")
    # SPEC §2: MFA is required for providers and ops. Cognito sets MFA per pool (optional, so
    # clients need not enrol); staff without an enrolled authenticator are refused here.
    if caller.role in (PROVIDER, OPS) and wiring.settings().require_staff_mfa \
            and not wiring.get("cognito").has_totp(caller.id, caller.username or caller.email):
        raise HavenError("Providers and ops must set up an authenticator app (MFA) before using Haven.",
                         "mfa_required")
    return caller
