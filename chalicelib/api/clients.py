"""Client profile routes."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import route
from chalicelib.identity import CLIENT
from chalicelib.services import clients, matching

bp = Blueprint(__name__)


@route(bp, "/clients/me", "POST", roles=(CLIENT,), body=models.ClientProfile,
       summary="Register or update the caller's client profile (adults only)")
def register(caller, body):
    return clients.register(caller, body, wiring.clock()())


@route(bp, "/clients/me", "GET", roles=(CLIENT,), summary="The caller's profile, plan, credits and rooms")
def me(caller):
    return clients.me(caller, wiring.clock()())


@route(bp, "/clients/me/intake", "PUT", roles=(CLIENT,), body=models.Intake,
       summary="What the client needs; matches them with a provider (`matched`, with reasons) or `waiting`")
def intake(caller, body):
    return matching.intake(caller, body, wiring.clock()())


@route(bp, "/clients/me/provider-change", "POST", roles=(CLIENT,), body=models.ProviderChange, idempotent=True,
       summary="Change provider: a new one takes over the same room, or the current one stays while Haven looks")
def provider_change(caller, body):
    return matching.change_provider(caller, body, wiring.clock()())
