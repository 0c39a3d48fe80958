"""Routes anyone may call (health, the OpenAPI document, crisis resources), and signing out."""
from chalice import Blueprint, Response

from chalicelib.api import models
from chalicelib.api.openapi import openapi_document
from chalicelib.api.routing import PUBLIC, SIGNED_IN, route
from chalicelib.domain import crisis

bp = Blueprint(__name__)


@route(bp, "/health", "GET", roles=PUBLIC, summary="Liveness")
def health():
    return {"status": "ok"}


@route(bp, "/openapi.json", "GET", roles=PUBLIC, summary="This API as an OpenAPI 3 document")
def openapi():
    return openapi_document()


@route(bp, "/crisis-resources", "GET", roles=PUBLIC, query=models.CrisisQuery,
       summary="Crisis hotlines for a region (Haven is not a crisis service)")
def crisis_resources(query):
    return crisis.resources_for(query.get("region"))


@route(bp, "/sign-out", "POST", roles=SIGNED_IN, status=204, body_required=False,
       summary="Refuse the caller's tokens issued before now (and end their refresh tokens) → 204")
def sign_out(caller):
    from chalicelib.services import access

    access.sign_out(caller)
    return Response(body="", status_code=204)
