"""Routes anyone may call: health, the OpenAPI document, crisis resources."""
from chalice import Blueprint

from chalicelib.api import models
from chalicelib.api.openapi import openapi_document
from chalicelib.api.routing import PUBLIC, route
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
