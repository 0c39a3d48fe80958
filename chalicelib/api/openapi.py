"""The OpenAPI 3 document served at `/openapi.json`, generated from the route table.

Nothing here is written by hand per route: paths, parameters, roles and request schemas come from
`routing.ROUTES` (filled by the `route` decorator) and the request models' own JSON schemas; what
each route answers comes from `models.RESPONSES`; the error envelope lists every stable error
code from `chalicelib.errors.CODES`, per status.
"""
from __future__ import annotations

from typing import Any

from chalicelib.api import models
from chalicelib.api.idempotency import MAX_KEY_CHARS
from chalicelib.api.routing import PUBLIC, ROUTES
from chalicelib.errors import CODES

_STATUS_TEXT = {400: "Bad request", 401: "No valid token", 402: "Payment required", 403: "Refused for this caller",
                404: "Not found", 405: "Method not allowed", 409: "Conflict", 410: "Gone", 413: "Too large",
                415: "Unsupported media type", 429: "Too many requests"}


def _error_schema(codes: list[str]) -> dict:
    return {
        "type": "object",
        "description": "The error envelope (SPEC §3)",
        "properties": {"error": {"type": "object", "properties": {
            "code": {"type": "string", "enum": sorted(codes)},
            "message": {"type": "string", "description": "for a person"},
            "details": {"type": "object", "description": "e.g. the `field` at fault"}},
            "required": ["code", "message"]}},
        "required": ["error"],
    }


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict:
    return {"application/json": {"schema": _ref(name)}}


def _operation_id(path: str, method: str) -> str:
    return f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}" or "root"


def _success(spec, answer, schemas: dict) -> dict:
    """The documented success answer of one route (`models.RESPONSES`)."""
    if answer is None:  # a route that never succeeds (cancelling a messaging session: always 409)
        return {}
    if answer == models.NO_CONTENT:
        return {str(spec.status): {"description": "No content"}}
    if answer == models.HTML:
        return {str(spec.status): {"description": "An HTML page",
                                   "content": {"text/html": {"schema": {"type": "string"}}}}}
    schemas.setdefault(answer.name, answer.json_schema())
    return {str(spec.status): {"description": "Success", "content": _json(answer.name)}}


def _refusals(spec) -> dict:
    """The 4xx answers: the ones every such route can give by status, then any other 4xx."""
    statuses = []
    if spec.body is not None or spec.query is not None:
        statuses.append(400)
    if spec.roles != PUBLIC:
        statuses += [401, 403]
    if spec.path_params:
        statuses.append(404)
    page = {"text/html": {"schema": {"type": "string"}}} if spec.produces == "text/html" else {}
    # (an emailed link answers its refusals as a page, and in the envelope before the view runs)
    out = {str(status): {"description": _STATUS_TEXT[status], "content": {**page, **_json(f"Error{status}")}}
           for status in statuses}
    out["4XX"] = {"description": "Refused (the code says why)", "content": {**page, **_json("Error")}}
    for status, code in models.OTHER_ANSWERS.get((spec.path, spec.method), {}).items():
        out[str(status)] = {"description": f"`{code}`", "content": {"application/json": {
            "schema": _error_schema([code])}}}
    return out


def openapi_document() -> dict:
    """OpenAPI 3 for every registered route, built from the route table and the models."""
    schemas: dict[str, dict] = {"Error": _error_schema(list(CODES))}  # every stable code (SPEC §3)
    for status in (400, 401, 403, 404):
        schemas[f"Error{status}"] = _error_schema([c for c, s in CODES.items() if s == status])
    paths: dict[str, dict] = {}
    for (path, method), spec in sorted(ROUTES.items()):
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": _operation_id(path, method),
            "responses": {**_success(spec, models.RESPONSES.get((path, method)), schemas), **_refusals(spec)},
        }
        parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                      for p in spec.path_params]
        if spec.query is not None:
            parameters += spec.query.parameters()
        if spec.idempotent:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "maxLength": MAX_KEY_CHARS}})
        if parameters:
            operation["parameters"] = parameters
        if spec.body is not None:
            schemas.setdefault(spec.body.name, spec.body.json_schema())
            operation["requestBody"] = {"required": spec.body_required, "content": _json(spec.body.name)}
        elif spec.query is not None and "application/x-www-form-urlencoded" in spec.content_types:
            # an emailed link's form posts its fields in the body (the query string works too)
            operation["requestBody"] = {"required": False, "content": {"application/x-www-form-urlencoded": {
                "schema": {**spec.query.json_schema(), "additionalProperties": True}}}}
        if spec.roles == PUBLIC:
            operation["security"] = []
        else:
            operation["x-haven-roles"] = list(spec.roles)
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "Haven API", "version": "1",
                 "description": "JSON in and out (`Content-Type: application/json`); times are ISO 8601 with "
                                "an offset; errors use the envelope `{\"error\": {\"code\", \"message\"}}`. "
                                "Response objects may gain fields: ignore the ones you do not know."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"cognito": []}],
    }
