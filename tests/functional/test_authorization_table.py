"""Every route × every kind of caller → the status SPEC §1 asks for.

Callers: anonymous, the room's client, another client, the room's provider, another provider, ops.
401 before anything; 403 for a role that may never use the route; 404 for what the caller may not
see; success for the right member. Every registered route must appear here.
"""
import pytest

from chalicelib.api.routing import ROUTES

ANON, CLIENT, OTHER_CLIENT, PROVIDER, OTHER_PROVIDER, OPS = (
    "anonymous", "client", "other_client", "provider", "other_provider", "ops")
CALLERS = (ANON, CLIENT, OTHER_CLIENT, PROVIDER, OTHER_PROVIDER, OPS)


def everyone(status):
    return {c: status for c in CALLERS}


def signed_in(status, anon=401):
    return {ANON: anon, **{c: status for c in CALLERS[1:]}}


def only(allowed: dict, default=403):
    table = {ANON: 401, **{c: default for c in CALLERS[1:]}}
    table.update(allowed)
    return table


MEMBERS_ONLY = only({CLIENT: 200, PROVIDER: 200, OTHER_CLIENT: 404, OTHER_PROVIDER: 404})

# (method, path) -> (body or callable(ctx, caller) -> body, {caller: status})
TABLE = {
    ("GET", "/health"): (None, everyone(200)),
    ("GET", "/openapi.json"): (None, everyone(200)),
    ("GET", "/crisis-resources"): (None, everyone(200)),
    ("POST", "/sign-out"): (None, signed_in(204)),
    ("POST", "/clients/me"): (
        {"name": "A", "date_of_birth": "1990-01-01", "timezone": "UTC", "region": "GB", "languages": ["en"]},
        only({CLIENT: 200, OTHER_CLIENT: 200})),
    ("GET", "/clients/me"): (None, only({CLIENT: 200, OTHER_CLIENT: 200})),
    ("PUT", "/ops/clients/{client_id}/plan"): ({"kind": "eap", "live_credits": 2, "messaging_credits": 1},
                                               only({OPS: 200})),
    ("POST", "/ops/providers"): (
        lambda ctx, who: {"email": f"new-{who}@example.com", "name": "Dr N", "kind": "therapist",
                          "licensed_regions": ["GB"], "languages": ["en"], "timezone": "Europe/London"},
        only({OPS: 201})),
    ("PUT", "/ops/assignments"): (lambda ctx, who: {"client_id": ctx["client"].id, "provider_id": ctx["provider"].id},
                                  only({OPS: 200})),
    ("GET", "/providers"): (None, signed_in(200)),
    ("GET", "/providers/me"): (None, only({PROVIDER: 200, OTHER_PROVIDER: 200})),
    ("PUT", "/providers/me/availability"): ({"timezone": "UTC", "windows": []},
                                           only({PROVIDER: 200, OTHER_PROVIDER: 200})),
    ("GET", "/providers/{provider_id}"): (None, signed_in(200)),
    ("GET", "/rooms"): (None, only({CLIENT: 200, OTHER_CLIENT: 200, PROVIDER: 200, OTHER_PROVIDER: 200})),
    ("GET", "/rooms/{room_id}"): (None, MEMBERS_ONLY),
    ("POST", "/rooms/{room_id}/messages"): ({"kind": "text", "text": "hello"},
                                           {**MEMBERS_ONLY, CLIENT: 201, PROVIDER: 201}),
    ("GET", "/rooms/{room_id}/messages"): (None, MEMBERS_ONLY),
    ("POST", "/rooms/{room_id}/read"): (lambda ctx, who: {"message_id": ctx["message_id"]}, MEMBERS_ONLY),
    ("POST", "/rooms/{room_id}/media"): ({"kind": "audio", "content_type": "audio/mpeg", "size_bytes": 1000},
                                        {**MEMBERS_ONLY, CLIENT: 201, PROVIDER: 201}),
    # the client has no plan: 402 proves the caller got past every access check
    ("POST", "/rooms/{room_id}/messaging-sessions"): (None, only({CLIENT: 402, OTHER_CLIENT: 404})),
    ("DELETE", "/rooms/{room_id}/messaging-sessions/{session_id}"): (None, only({CLIENT: 409, OTHER_CLIENT: 404})),
}
# Routes added by later work register their rows here (same shape).
EXTRA: dict = {}

# Live sessions: acting routes get a fresh booking of the pair per caller (booking_world helpers).
from tests.functional.booking_world import booking_body, new_booking_body, next_time  # noqa: E402

_BOOKING_MEMBERS_409 = only({CLIENT: 409, PROVIDER: 409, OTHER_CLIENT: 404, OTHER_PROVIDER: 404})
EXTRA.update({
    ("POST", "/bookings"): (new_booking_body, only({CLIENT: 201, PROVIDER: 201, OTHER_CLIENT: 403,
                                                    OTHER_PROVIDER: 404})),
    ("GET", "/bookings"): (None, only({CLIENT: 200, OTHER_CLIENT: 200, PROVIDER: 200, OTHER_PROVIDER: 200})),
    ("GET", "/bookings/{booking_id}"): (booking_body(), MEMBERS_ONLY),
    ("POST", "/bookings/{booking_id}/confirm"): (booking_body(), only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("POST", "/bookings/{booking_id}/decline"): (booking_body(), only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("POST", "/bookings/{booking_id}/reschedule"): (
        booking_body(body=lambda ctx, who: {"starts_at": next_time(ctx)}),
        {**MEMBERS_ONLY, CLIENT: 201, PROVIDER: 201}),
    ("POST", "/bookings/{booking_id}/cancel"): (booking_body(), MEMBERS_ONLY),
    ("POST", "/bookings/{booking_id}/join"): (booking_body("provider"), _BOOKING_MEMBERS_409),
    ("POST", "/bookings/{booking_id}/complete"): (booking_body("provider"), only({PROVIDER: 409, OTHER_PROVIDER: 404})),
    ("POST", "/bookings/{booking_id}/no-show"): (booking_body("provider"), _BOOKING_MEMBERS_409),
    ("GET", "/providers/{provider_id}/slots"): (None, only({CLIENT: 200, OTHER_CLIENT: 200})),
    ("GET", "/links/{token}"): (None, everyone(404)),
    ("POST", "/links/{token}"): (None, everyone(400)),
})

# The clinical record: each acting row gets a fresh session of the pair in the state it needs.
from tests.functional.clinical_world import body as _answers, session_body  # noqa: E402

_RISKY = _answers(item9=1)
EXTRA.update({
    ("PUT", "/bookings/{booking_id}/questionnaire"): (session_body(_answers()),
                                                      only({CLIENT: 201, OTHER_CLIENT: 404})),
    ("GET", "/bookings/{booking_id}/questionnaire"): (session_body(questionnaire=_answers()), MEMBERS_ONLY),
    ("POST", "/bookings/{booking_id}/risk-acknowledgement"): (session_body(questionnaire=_RISKY),
                                                              only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("GET", "/clients/me/measures"): (None, only({CLIENT: 200, OTHER_CLIENT: 200})),
    ("GET", "/clients/{client_id}/measures"): (None, only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("POST", "/bookings/{booking_id}/rating"): (session_body({"score": 4}, completed_=True),
                                               only({CLIENT: 201, OTHER_CLIENT: 404})),
    ("PUT", "/bookings/{booking_id}/record"): (session_body({"text": "Record."}, completed_=True),
                                              only({PROVIDER: 201, OTHER_PROVIDER: 404})),
    ("POST", "/bookings/{booking_id}/record/amendments"): (
        session_body({"text": "Amendment."}, completed_=True, record=True), only({PROVIDER: 201, OTHER_PROVIDER: 404})),
    ("POST", "/bookings/{booking_id}/record/notes"): (
        session_body({"text": "Note."}, completed_=True, record=True, visible=True),
        only({CLIENT: 201, OTHER_CLIENT: 404})),
    ("GET", "/bookings/{booking_id}/record"): (session_body(completed_=True, record=True, visible=True),
                                              MEMBERS_ONLY),
    ("GET", "/clients/me/access-log"): (None, only({CLIENT: 200, OTHER_CLIENT: 200})),
})

# Care pathways: referrals and session requests (pathways_world helpers).
from tests.functional.pathways_world import (  # noqa: E402
    WED_10_NY, new_request_body, referral_body, request_body,
)

EXTRA.update({
    ("POST", "/ops/referrals"): (
        lambda ctx, who: {"email": f"ref-{who}@example.com", "sessions": 2, "modalities": ["video"]},
        only({OPS: 201})),
    ("POST", "/ops/referrals/{referral_id}/reissue"): (referral_body, only({OPS: 200})),
    # an unknown code: 404 proves the caller got past every access check
    ("POST", "/clients/me/referral"): ({"code": "K7QM-2D9X-HP4T-WC8R"}, only({CLIENT: 404, OTHER_CLIENT: 404})),
    ("POST", "/session-requests"): (new_request_body, only({CLIENT: 201, OTHER_CLIENT: 403})),
    ("GET", "/session-requests"): (None, only({CLIENT: 200, OTHER_CLIENT: 200, PROVIDER: 200, OTHER_PROVIDER: 200})),
    ("GET", "/session-requests/{request_id}"): (request_body(), MEMBERS_ONLY),
    ("POST", "/session-requests/{request_id}/proposals"): (
        request_body(body={"starts_at": [WED_10_NY.strftime("%Y-%m-%dT%H:%M:%SZ")]}),
        only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("POST", "/session-requests/{request_id}/decline"): (request_body(), only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("POST", "/session-requests/{request_id}/accept"): (
        request_body(proposed=True, body={"starts_at": WED_10_NY.strftime("%Y-%m-%dT%H:%M:%SZ")}),
        only({CLIENT: 201, OTHER_CLIENT: 404})),
    ("POST", "/session-requests/{request_id}/withdraw"): (request_body(), only({CLIENT: 200, OTHER_CLIENT: 404})),
})


# Between sessions and data exports: acting rows first make what they act on (through the services).
def _as(user, role):
    from chalicelib.identity import Caller

    return Caller(user.id, user.email, role)


def _sharing_moods(ctx, who):
    from chalicelib import wiring
    from chalicelib.services import moods

    moods.update_settings(_as(ctx["client"], "client"), {"share_moods": True}, wiring.clock()())


def _goal_then(body):
    def make(ctx, who):
        from chalicelib import wiring
        from chalicelib.services import goals

        ctx["goal_id"] = goals.create(_as(ctx["client"], "client"), ctx["room_id"], {"title": "g"},
                                      wiring.clock()())["id"]
        return body
    return make


def _homework(ctx, who):
    from chalicelib import wiring
    from chalicelib.services import homework

    ctx["homework_id"] = homework.assign(_as(ctx["provider"], "provider"), ctx["room_id"],
                                         {"title": "t", "instructions": "i", "due": "2026-11-30"},
                                         wiring.clock()())["id"]


def _export(ctx, who):
    from chalicelib import wiring
    from chalicelib.services import exports

    if "export_id" not in ctx:
        ctx["export_id"] = exports.request(_as(ctx["client"], "client"), wiring.clock()())["id"]


_CLIENTS = only({CLIENT: 200, OTHER_CLIENT: 200})
EXTRA.update({
    ("POST", "/clients/me/journal"): ({"text": "hi"}, only({CLIENT: 201, OTHER_CLIENT: 201})),
    ("GET", "/clients/me/journal"): (None, _CLIENTS),
    ("GET", "/rooms/{room_id}/journal"): (None, only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("POST", "/clients/me/moods"): ({"score": 5}, only({CLIENT: 201, OTHER_CLIENT: 201})),
    ("GET", "/clients/me/moods"): (None, _CLIENTS),
    ("GET", "/rooms/{room_id}/moods"): (_sharing_moods, only({PROVIDER: 200, OTHER_PROVIDER: 404})),
    ("PATCH", "/clients/me/settings"): ({"share_moods": True}, _CLIENTS),
    ("POST", "/rooms/{room_id}/goals"): ({"title": "g"}, {**MEMBERS_ONLY, CLIENT: 201, PROVIDER: 201}),
    ("GET", "/rooms/{room_id}/goals"): (None, MEMBERS_ONLY),
    ("PATCH", "/rooms/{room_id}/goals/{goal_id}"): (_goal_then({"status": "done"}), MEMBERS_ONLY),
    ("POST", "/rooms/{room_id}/homework"): ({"title": "t", "instructions": "i", "due": "2026-11-30"},
                                           only({PROVIDER: 201, OTHER_PROVIDER: 404})),
    ("GET", "/rooms/{room_id}/homework"): (None, MEMBERS_ONLY),
    ("POST", "/rooms/{room_id}/homework/{homework_id}/done"): (_homework, only({CLIENT: 200, OTHER_CLIENT: 404})),
    ("POST", "/rooms/{room_id}/talkcasts"): ({"title": "t", "script": "s"}, only({PROVIDER: 201, OTHER_PROVIDER: 404})),
    ("POST", "/clients/me/exports"): (None, only({CLIENT: 202, OTHER_CLIENT: 202})),
    ("GET", "/clients/me/exports/{export_id}"): (_export, only({CLIENT: 200, OTHER_CLIENT: 404})),
})

# The join page (issue 14): the link is its own credential (a made-up one is 404 for everybody,
# with or without a token); its script is public.
EXTRA.update({
    ("GET", "/join/{token}"): (None, everyone(404)),
    ("POST", "/join/{token}"): (None, everyone(404)),
    ("GET", "/join-assets/join.js"): (None, everyone(200)),
})


# Matching and continuity of care. The table's client and the other client each have a therapist,
# and two providers exist: a change of provider hands each room to the other provider (200).
EXTRA.update({
    ("PUT", "/clients/me/intake"): (
        {"region": "US-NY", "languages": ["en"], "provider_kind": "therapist", "focus_areas": []},
        only({CLIENT: 200, OTHER_CLIENT: 200})),
    ("POST", "/clients/me/provider-change"): ({"provider_kind": "therapist"}, only({CLIENT: 200, OTHER_CLIENT: 200})),
    ("GET", "/ops/providers"): (None, only({OPS: 200})),
    ("PATCH", "/ops/providers/{provider_id}"): ({"accepting": True}, only({OPS: 200})),
    ("POST", "/ops/providers/{provider_id}/deactivate"): (None, only({OPS: 200})),
    # no `?email=`: 400 proves ops got past every access check
    ("GET", "/ops/clients"): (None, only({OPS: 400})),
})


def test_every_registered_route_is_in_the_table():
    registered = {(method, path) for (path, method) in ROUTES}
    missing = sorted(registered - set(TABLE) - set(EXTRA))
    assert not missing, f"add these routes to the authorization table: {missing}"


@pytest.fixture
def ctx(world, api):
    client, provider, room_id = world.pair()
    message = api.post(f"/rooms/{room_id}/messages", provider, {"kind": "text", "text": "welcome"}).json
    other_client, other_provider = world.client(), world.provider()
    world.room(other_client, other_provider)
    return {"client": client, "provider": provider, "room_id": room_id, "message_id": message["id"],
            "users": {CLIENT: client, OTHER_CLIENT: other_client, PROVIDER: provider,
                      OTHER_PROVIDER: other_provider, OPS: world.ops, ANON: None}}


def _path(template, ctx):
    return template.format(client_id=ctx["client"].id, provider_id=ctx["provider"].id, room_id=ctx["room_id"],
                           session_id="ms_unknown", booking_id=ctx.get("booking_id", "bk_unknown"),
                           token=ctx.get("token", "unknown"), request_id=ctx.get("request_id", "sr_unknown"),
                           referral_id=ctx.get("referral_id", "ref_unknown"), export_id=ctx.get("export_id", "ex_unknown"),
                           goal_id=ctx.get("goal_id", "gl_unknown"), homework_id=ctx.get("homework_id", "hw_unknown"))


@pytest.mark.parametrize("method,path", sorted({**TABLE, **EXTRA}))
def test_authorization(api, ctx, method, path):
    body, expected = {**TABLE, **EXTRA}[(method, path)]
    failures = []
    for who in CALLERS:
        payload = body(ctx, who) if callable(body) else body
        reply = api.call(method, _path(path, ctx), ctx["users"][who], payload)
        if reply.status != expected[who]:
            failures.append(f"{who}: {reply.status} (expected {expected[who]}) {reply.json}")
    assert not failures, "\n".join(failures)
