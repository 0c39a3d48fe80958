"""The one route decorator, the authentication middleware, error mapping and the OpenAPI document.

Every route is declared with `route(...)`: its roles, request model and query model are
recorded once, used to check and parse each request, and rendered into `/openapi.json`.
Order of checks (SPEC §1): token (401) → role (403) → body/query (400) → the service (404/409/...).
"""
from __future__ import annotations

import functools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from chalice import CORSConfig, Response

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.errors import CODES, HavenError, Unauthorized, ValidationError, Forbidden
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


def _json_default(value: Any):
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(type(value).__name__)


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        body=json.dumps(body, default=_json_default, ensure_ascii=False),
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
                    return _idempotent(caller, key, f"{method} {path}", path_args, kwargs.get("body"),
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


def _idempotent(caller, key: str, operation: str, path_args: dict, body, call, status: int,
                lambda_context=None) -> Response:
    """Run a create-or-spend call once per (caller, Idempotency-Key): a retry gets the first answer,
    the same key with a different request is 409 `idempotency_mismatch` (powertools idempotency)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError, IdempotencyValidationError)

    if len(key) > 200:
        raise ValidationError("`Idempotency-Key` may be at most 200 characters.")
    request = {"key": f"{caller.id}|{operation}|{key}",
               "payload": json.loads(json.dumps({"path": path_args, "body": body}, default=_json_default))}
    try:
        stored = _execute_once(request=request, call=call, status=status, lambda_context=lambda_context)
    except IdempotencyValidationError:
        raise HavenError("This Idempotency-Key was already used for a different request.", "idempotency_mismatch")
    except IdempotencyAlreadyInProgressError:
        raise HavenError("A request with this Idempotency-Key is still being processed; retry shortly.",
                         "request_in_progress")
    return Response(body=_unseal(caller.id, stored), status_code=stored["status"],
                    headers={"Content-Type": "application/json"})


def _seal(owner_id: str, body: str) -> str:
    """SPEC §2: what a caller wrote is encrypted wherever Haven keeps it, idempotency records
    included: the stored answer is sealed with the caller's own data key."""
    import base64

    return base64.b64encode(wiring.get("idempotency_cipher").encrypt(owner_id, body)).decode()


def _unseal(owner_id: str, stored: dict) -> str:
    import base64

    if "sealed" not in stored:  # an answer kept before answers were sealed
        return stored["body"]
    return wiring.get("idempotency_cipher").decrypt(owner_id, base64.b64decode(stored["sealed"]))


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
            body = json.dumps(call(), default=_json_default, ensure_ascii=False)
            return {"status": status, "sealed": _seal(request["key"].split("|", 1)[0], body)}

        _ONCE = idempotent_function(execute, data_keyword_argument="request",
                                    persistence_store=wiring.get("idempotency_store"), config=config)
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        _CONFIG.register_lambda_context(lambda_context)  # lets an abandoned in-progress record expire
    return _ONCE(request=request, call=call, status=status)


def register_middleware(app) -> None:
    @app.middleware("http")
    def authenticate(event, get_response):
        started = time.perf_counter()
        context = event.context or {}
        correlation = _correlation_id(event.headers or {}, context)
        logger.set_correlation_id(correlation)
        spec = ROUTES.get((context.get("resourcePath"), event.method))
        logger.append_keys(route=f"{event.method} {context.get('resourcePath')}")
        response = None
        try:
            try:
                if spec is not None and spec.roles != PUBLIC:
                    event.haven_caller = _authenticate(event.headers or {})
                    logger.append_keys(caller_id=event.haven_caller.id, role=event.haven_caller.role)
                response = get_response(event)
            except HavenError as error:  # 401 (or 403 mfa_required) before the route runs
                response = error_response(error)
            except Exception:  # never a bare 500 page: the envelope, and the traceback in the log
                logger.exception("unhandled error")
                response = error_response(HavenError("Something went wrong on our side; try again.",
                                                     "internal_error"))
            if response.status_code >= 500:
                metrics.add_metric(name="ServerError", unit="Count", value=1)
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
            logger.remove_keys(["route", "caller_id", "role"])
            try:
                if metrics.metric_set:
                    metrics.flush_metrics()
            except Exception:  # a metrics problem must not fail a request
                pass


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
    # SPEC §2: MFA is required for providers and ops. Cognito sets MFA per pool (optional, so
    # clients need not enrol); staff without an enrolled authenticator are refused here.
    if caller.role in (PROVIDER, OPS) and wiring.settings().require_staff_mfa \
            and not wiring.get("cognito").has_totp(caller.id, caller.email):
        raise HavenError("Providers and ops must set up an authenticator app (MFA) before using Haven.",
                         "mfa_required")
    return caller


def openapi_document() -> dict:
    """OpenAPI 3 for every registered route, built from the route table and request models."""
    error_schema = {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string", "enum": sorted(CODES)}, "message": {"type": "string"}},
            "required": ["code", "message"]}},
        "required": ["error"],
    }
    paths: dict[str, dict] = {}
    for (path, method), spec in sorted(ROUTES.items()):
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}"
                           or "root",
            "responses": {
                str(spec.status): {"description": "Success",
                                   "content": {spec.produces: {"schema": {}}}},
                "4XX": {"description": "Refused",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                      for p in spec.path_params]
        if spec.query is not None:
            parameters += spec.query.parameters()
        if spec.idempotent:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "maxLength": 200}})
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            operation["requestBody"] = {"required": spec.body_required, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{spec.body.name}"}}}}
        if spec.roles == PUBLIC:
            operation["security"] = []
        else:
            operation["x-haven-roles"] = list(spec.roles)
        paths.setdefault(path, {})[method.lower()] = operation
    schemas = {"Error": error_schema}
    for spec in ROUTES.values():
        if spec.body is not None:
            schemas[spec.body.name] = spec.body.json_schema()
    return {
        "openapi": "3.0.3",
        "info": {"title": "Haven API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"cognito": []}],
    }
