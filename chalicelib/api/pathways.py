"""Care-pathway routes: referrals (ops), redeeming a code (client), session requests (members)."""
from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api import models
from chalicelib.api.routing import MEMBER, route
from chalicelib.identity import CLIENT, OPS, PROVIDER

bp = Blueprint(__name__)


def _now():
    return wiring.clock()()


@route(bp, "/ops/referrals", "POST", roles=(OPS,), body=models.NewReferral, status=201, idempotent=True,
       summary="Issue a referral: the person is emailed a referral code (never shown to ops)")
def issue_referral(caller, body):
    from chalicelib.services.pathways import referrals

    return referrals.issue(caller, body, _now())


@route(bp, "/ops/referrals/{referral_id}/reissue", "POST", roles=(OPS,), idempotent=True,
       summary="Email a new code for an issued referral; the old code is void")
def reissue_referral(referral_id, caller):
    from chalicelib.services.pathways import referrals

    return referrals.reissue(caller, referral_id, _now())


@route(bp, "/clients/me/referral", "POST", roles=(CLIENT,), body=models.RedeemReferral,
       summary="Redeem a referral code → the caller's profile with the referral plan")
def redeem_referral(caller, body):
    from chalicelib.services import clients
    from chalicelib.services.pathways import referrals

    now = _now()
    return clients.me(caller, now, user=referrals.redeem(caller, body["code"], now))


@route(bp, "/session-requests", "POST", roles=(CLIENT,), body=models.NewSessionRequest, status=201,
       idempotent=True, summary="Ask a provider for a session at one of 3 preferred times")
def create_request(caller, body):
    from chalicelib.services.pathways import requests

    command = requests.NewRequestCommand(provider_id=body["provider_id"], modality=body["modality"],
                                         preferred=body["preferred"], note=body.get("note"))
    return requests.create(caller, command, _now())


@route(bp, "/session-requests", "GET", roles=MEMBER, query=models.SessionRequestsQuery,
       summary="The caller's session requests (client: sent; provider: received), newest first")
def list_requests(caller, query):
    from chalicelib.services.pathways import request_views

    return request_views.list_requests(caller, query, _now())


@route(bp, "/session-requests/{request_id}", "GET", roles=MEMBER, summary="One session request")
def get_request(request_id, caller):
    from chalicelib.services.pathways import request_views

    return request_views.get(caller, request_id, _now())


@route(bp, "/session-requests/{request_id}/proposals", "POST", roles=(PROVIDER,), body=models.Proposals,
       idempotent=True, summary="Provider: propose 1–3 start times; they are held until the request ends")
def propose(request_id, caller, body):
    from chalicelib.services.pathways import requests

    return requests.propose(caller, request_id, body["starts_at"], _now())


@route(bp, "/session-requests/{request_id}/decline", "POST", roles=(PROVIDER,), body=models.DeclineRequest,
       body_required=False, idempotent=True, summary="Provider: decline a request; optional body {\"reason\"}")
def decline(request_id, caller, body):
    from chalicelib.services.pathways import requests

    return requests.decline(caller, request_id, body.get("reason"), _now())


@route(bp, "/session-requests/{request_id}/accept", "POST", roles=(CLIENT,), body=models.AcceptProposal,
       status=201, idempotent=True, summary="Client: accept one proposed time → the booking (confirmed)")
def accept(request_id, caller, body):
    from chalicelib.services.pathways import requests

    command = requests.AcceptCommand(starts_at=body["starts_at"], purchase=bool(body.get("purchase")))
    return requests.accept(caller, request_id, command, _now())


@route(bp, "/session-requests/{request_id}/withdraw", "POST", roles=(CLIENT,), idempotent=True,
       summary="Client: withdraw an open request; held times are released")
def withdraw(request_id, caller):
    from chalicelib.services.pathways import requests

    return requests.withdraw(caller, request_id, _now())
