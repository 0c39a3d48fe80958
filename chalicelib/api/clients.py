"""Client profile routes."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import route
from chalicelib.identity import CLIENT
from chalicelib.services import clients

bp = Blueprint(__name__)


@route(bp, "/clients/me", "POST", roles=(CLIENT,), body=models.ClientProfile,
       summary="Register or update the caller's client profile (adults only)")
def register(caller, body):
    return clients.register(caller, body, wiring.clock()())


@route(bp, "/clients/me", "GET", roles=(CLIENT,), summary="The caller's profile, plan, credits and rooms")
def me(caller):
    return clients.me(caller, wiring.clock()())
