"""The OpenAPI 3 document served at `/openapi.json`, generated from the route table.

Nothing here is written by hand per route: paths, parameters, roles and request schemas come from
`routing.ROUTES` (filled by the `route` decorator) and the request models' own JSON schemas; the
error envelope lists every stable error code from `chalicelib.errors.CODES`.
"""
from __future__ import annotations

from typing import Any

from chalicelib.api.idempotency import MAX_KEY_CHARS
from chalicelib.api.routing import PUBLIC, ROUTES
from chalicelib.errors import CODES


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
                               "schema": {"type": "string", "maxLength": MAX_KEY_CHARS}})
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
