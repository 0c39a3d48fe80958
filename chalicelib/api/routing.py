"""The one route decorator: roles, request parsing and validation, responses and error mapping.

Every route is declared with `route(...)`: its roles, request model and query model are
recorded once in `ROUTES`, used to check and parse each request, and rendered into
`/openapi.json` (`api.openapi`). The token is checked before the route runs (`api.middleware`).
Order of checks (SPEC §1): token (401) → role (403) → body/query (400) → the service (404/409/...).
A `HavenError` from anywhere below becomes its status and the error envelope here, in one place.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from chalice import CORSConfig, Response

from chalicelib import wiring
from chalicelib.api.encoding import dumps
from chalicelib.api.idempotency import run_once
from chalicelib.errors import HavenError, ValidationError, Forbidden
from chalicelib.identity import CLIENT, OPS, PROVIDER
from chalicelib.observability import logger, metrics

PUBLIC = "public"  # no token needed
SIGNED_IN = (CLIENT, PROVIDER, OPS)
MEMBER = (CLIENT, PROVIDER)


@dataclass
class RouteSpec:
    path: str
    method: str
    roles: Any
    summary: str
    body: Any = None
    query: Any = None
    status: int = 200
    idempotent: bool = False
    produces: str = "application/json"
    body_required: bool = True
    path_params: list[str] = field(default_factory=list)
    content_types: tuple[str, ...] = ("application/json",)


ROUTES: dict[tuple[str, str], RouteSpec] = {}


def _cors() -> CORSConfig:
    """CORS for the client apps' origins. API Gateway's preflight names the first origin; the
    middleware answers each request with the caller's origin when it is one of ours."""
    origins = wiring.settings().cors_origins
    return CORSConfig(allow_origin=origins[0] if origins else "null",
                      allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-Id"],
                      expose_headers=["X-Correlation-Id"], max_age=600)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(error: HavenError) -> Response:
    return json_response(error.body(), error.status)


MAX_BODY_BYTES = 256 * 1024  # the largest body SPEC implies is a 20,000-character text
MAX_DEPTH = 16


def parse_json_body(raw: bytes | None) -> Any:
    """The request's JSON, refused with 400 when it could not be stored as is: malformed, nested
    deeper than any request needs, or holding text that is not valid Unicode (a lone surrogate
    such as "\\ud800" is valid JSON but cannot be encoded, encrypted or stored)."""
    if raw in (None, b""):
        raise ValidationError("A JSON body is required.")
    if len(raw) > MAX_BODY_BYTES:
        raise HavenError(f"The body may be at most {MAX_BODY_BYTES // 1024} KiB.", "too_large")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError("The body is not valid JSON.")
    _check_structure(value)
    return value


def _check_structure(value: Any) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationError(f"The body is nested too deeply (at most {MAX_DEPTH} levels).")
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Text must be valid Unicode (it holds a lone surrogate, e.g. \\ud800).")


JSON_ONLY = ("application/json",)
ANY_BODY = ("application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
            "text/html", "application/xml", "application/octet-stream")


def route(bp, path: str, method: str, *, roles, summary: str, body=None, query=None, status: int = 200,
          idempotent: bool = False, produces: str = "application/json", cors=None, body_required: bool = True,
          content_types: tuple[str, ...] = JSON_ONLY, own_idempotency: bool = False):
    """Register a view. The view is called as `view(caller=..., body=..., query=..., **path_params)`
    and returns a JSON-able value (or a chalice Response for HTML).

    `idempotent`: the `Idempotency-Key` cache answers retries. `own_idempotency`: the route accepts
    the header too (it is documented) but the service makes the retry safe itself, so no response
    is cached (the clinical record: a cached answer would hold its text)."""
    def decorate(view: Callable):
        params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        ROUTES[(path, method)] = RouteSpec(path, method, roles, summary, body, query, status,
                                           idempotent or own_idempotency, produces, path_params=params,
                                           body_required=body_required, content_types=tuple(content_types))

        # A GET carries no body: whatever content type a browser or scanner names is not refused.
        accepted = list(content_types) if method != "GET" else list(dict.fromkeys([*content_types, *ANY_BODY]))

        @bp.route(path, methods=[method], cors=cors if cors is not None else _cors(), content_types=accepted)
        @functools.wraps(view)
        def handler(**path_args):
            request = bp.current_request
            caller = getattr(request, "haven_caller", None)
            try:
                if roles != PUBLIC and (caller is None or caller.role not in roles):
                    raise Forbidden("Your role cannot use this route.")
                kwargs = {}
                if body is not None:
                    raw = request.raw_body
                    if not body_required and (raw is None or not raw.strip()):
                        kwargs["body"] = body.validate({})  # an optional body left out entirely
                    else:
                        kwargs["body"] = body.validate(parse_json_body(raw))
                if query is not None:
                    kwargs["query"] = query.validate(request.query_params or {})
                if roles != PUBLIC:
                    kwargs["caller"] = caller
                key = (request.headers or {}).get("idempotency-key") if idempotent else None
                if key:
                    return run_once(caller, key, f"{method} {path}", path_args, kwargs.get("body"),
                                    lambda: view(**path_args, **kwargs), status,
                                    getattr(bp, "lambda_context", None))
                result = view(**path_args, **kwargs)
            except HavenError as error:
                metrics.add_metric(name=f"Error_{error.code}", unit="Count", value=1)
                logger.info("request refused", extra={"code": error.code, "status": error.status})
                return error_response(error)
            except Exception:  # the envelope, never a bare 500; the traceback (ids only) goes to the log
                logger.exception("unhandled error")
                metrics.add_metric(name="ServerError", unit="Count", value=1)
                return error_response(HavenError("Something went wrong on our side; try again.", "internal_error"))
            if isinstance(result, Response):
                return result
            return json_response(result, status)

        return handler
    return decorate


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def register_fallbacks(app) -> None:
    """Unknown paths and wrong methods answer in the error envelope (SPEC §3), the same locally and
    behind API Gateway: every other method of a known path is a route that answers 405
    `method_not_allowed`, and a greedy `/{proxy+}` answers 404 `not_found` for any unknown path
    (API Gateway prefers the specific resources). Call after every blueprint is registered."""
    known: dict[str, set[str]] = {}
    for path, method in ROUTES:
        known.setdefault(path, set()).add(method)

    def not_allowed(**_):
        return error_response(HavenError("This path does not take that method.", "method_not_allowed"))

    def not_found(**_):
        return error_response(HavenError("There is no such path in the Haven API.", "not_found"))

    for path, methods in sorted(known.items()):
        others = [m for m in METHODS if m not in methods]
        if others:
            app.route(path, methods=others, content_types=["application/json", "text/plain",
                                                            "application/x-www-form-urlencoded"],
                      name=f"fallback_405_{len(app.routes)}")(not_allowed)
    app.route("/{proxy+}", methods=list(METHODS), content_types=["application/json", "text/plain",
                                                                 "application/x-www-form-urlencoded"],
              name="fallback_404")(not_found)
