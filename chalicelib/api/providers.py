"""Provider directory and provider self-service routes."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import SIGNED_IN, route
from chalicelib.identity import PROVIDER
from chalicelib.services import providers

bp = Blueprint(__name__)


@route(bp, "/providers", "GET", roles=SIGNED_IN, query=models.DirectoryQuery,
       summary="Provider directory; filters region, language, kind, focus")
def directory(caller, query):
    return providers.directory(query)


@route(bp, "/providers/me", "GET", roles=(PROVIDER,), summary="The caller's own provider profile")
def me(caller):
    return providers.own_profile(caller)


@route(bp, "/providers/me/availability", "PUT", roles=(PROVIDER,), body=models.Availability,
       summary="Set weekly availability and reply-promise working hours")
def set_availability(caller, body):
    return providers.set_availability(caller, body, wiring.clock()())


@route(bp, "/providers/{provider_id}", "GET", roles=SIGNED_IN, summary="A provider's public profile")
def profile(provider_id, caller):
    return providers.public_profile(provider_id)
