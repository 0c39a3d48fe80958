"""Operations routes: providers, plans, assignments."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import route
from chalicelib.identity import OPS
from chalicelib.services import ops, providers

bp = Blueprint(__name__)


@route(bp, "/ops/providers", "POST", roles=(OPS,), body=models.NewProvider, status=201,
       summary="Create a provider (and their Cognito user in group `providers`)")
def create_provider(caller, body):
    return providers.create(body, wiring.clock()())


@route(bp, "/ops/clients/{client_id}/plan", "PUT", roles=(OPS,), body=models.Plan, summary="Set a client's plan")
def set_plan(client_id, caller, body):
    return ops.set_plan(client_id, body, wiring.clock()())


@route(bp, "/ops/assignments", "PUT", roles=(OPS,), body=models.Assignment,
       summary="Assign a client to a provider; creates (or hands over) the client's room")
def assign(caller, body):
    return ops.assign(body, wiring.clock()())
