"""Operations routes: providers, plans, assignments, finding clients."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import route
from chalicelib.identity import OPS
from chalicelib.services import assignments, ops, providers

bp = Blueprint(__name__)


@route(bp, "/ops/providers", "POST", roles=(OPS,), body=models.NewProvider, status=201,
       summary="Create a provider (and their Cognito user in group `providers`)")
def create_provider(caller, body):
    return providers.create(body, wiring.clock()())


@route(bp, "/ops/clients/{client_id}/plan", "PUT", roles=(OPS,), body=models.Plan, summary="Set a client's plan")
def set_plan(client_id, caller, body):
    return ops.set_plan(client_id, body, wiring.clock()())


@route(bp, "/ops/assignments", "PUT", roles=(OPS,), body=models.Assignment,
       summary="Assign a client to a provider under the matching filters (unless `force`); creates or hands "
               "over the client's room")
def assign(caller, body):
    return assignments.assign(caller, body, wiring.clock()())


@route(bp, "/ops/providers", "GET", roles=(OPS,), query=models.OpsProvidersQuery,
       summary="Providers with `active_clients`, `capacity`, `accepting`, `gender`; `?active=` filters")
def list_providers(caller, query):
    return providers.ops_list(query)


@route(bp, "/ops/providers/{provider_id}", "PATCH", roles=(OPS,), body=models.ProviderPatch,
       summary="Change a provider's gender, accepting, capacity, licences, languages or focus areas")
def patch_provider(provider_id, caller, body):
    return providers.patch(provider_id, body, wiring.clock()())


@route(bp, "/ops/providers/{provider_id}/deactivate", "POST", roles=(OPS,),
       summary="Deactivate a provider: out of the directory and unbookable at once; their clients are re-matched "
               "by the deadlines sweep")
def deactivate_provider(provider_id, caller):
    return providers.deactivate(provider_id, wiring.clock()())


@route(bp, "/ops/clients", "GET", roles=(OPS,), query=models.ClientsByEmailQuery,
       summary="Find a client by email (exact, ignoring case)")
def find_clients(caller, query):
    return ops.find_clients(query)
