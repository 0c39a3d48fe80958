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


def parse_json_body(raw: bytes | None) -> Any:
    if raw in (None, b""):
        raise ValidationError("A JSON body is required.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The body is not valid JSON.")


def route(bp, path: str, method: str, *, roles, summary: str, body=None, query=None, status: int = 200,
          idempotent: bool = False, produces: str = "application/json", cors=None, body_required: bool = True):
    """Register a view. The view is called as `view(caller=..., body=..., query=..., **path_params)`
    and returns a JSON-able value (or a chalice Response for HTML)."""
    def decorate(view: Callable):
        params = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        ROUTES[(path, method)] = RouteSpec(path, method, roles, summary, body, query, status, idempotent,
                                           produces, path_params=params, body_required=body_required)

        @bp.route(path, methods=[method], cors=cors if cors is not None else _cors(),
                  content_types=["application/json", "text/plain", "application/x-www-form-urlencoded"])
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
