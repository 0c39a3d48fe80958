"""SPEC Safety: access ends when it should, without an extra call per request (issue 8 item 4)."""
import json
from pathlib import Path

from chalicelib import wiring
from chalicelib.store.revocations import Revocations

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _fresh_revocations():
    wiring.override("revocations", Revocations(refresh_seconds=0))


def test_sign_out_refuses_the_tokens_issued_before_it(api, world, cognito):
    client = world.client()
    assert api.get("/clients/me", client).status == 200
    reply = api.post("/sign-out", client)
    assert reply.status == 204
    refused = api.get("/clients/me", client)
    assert (refused.status, refused.code) == (401, "unauthorized")
    import time
    from dataclasses import replace

    time.sleep(1.1)  # token times are whole seconds: the next token is issued after the cut-off
    again = replace(client, token=cognito.sign_in(client.email))  # signing in again works
    assert api.get("/clients/me", again).status == 200


def test_a_disabled_users_token_is_refused_once_the_cloudtrail_event_arrives(api, world, chalice_client):
    provider = world.provider()
    assert api.get("/providers/me", provider).status == 200
    _fresh_revocations()
    event = json.loads((EVENTS / "cognito_admin_disable_user.json").read_text())
    event["detail"]["requestParameters"]["username"] = provider.email
    event["time"] = event["detail"]["eventTime"] = "2099-01-01T00:00:00Z"  # after the token was issued
    result = chalice_client.lambda_.invoke("revocations", event).payload
    assert result == {"recorded": 2, "event": "AdminDisableUser"}  # the name given and the user's sub
    refused = api.get("/providers/me", provider)
    assert (refused.status, refused.code) == (401, "unauthorized")


def test_an_event_that_ends_nothing_records_nothing(chalice_client):
    event = json.loads((EVENTS / "cognito_admin_disable_user.json").read_text())
    event["detail"]["eventName"] = "AdminGetUser"
    assert chalice_client.lambda_.invoke("revocations", event).payload["recorded"] == 0


def test_a_container_reads_the_revocations_at_most_once_a_minute():
    loads, now = [], [0.0]
    revocations = Revocations(refresh_seconds=60, clock=lambda: now[0], load=lambda: loads.append(1) or {})

    class Caller:
        id, username, email, issued_at = "sub-1", "a@b.c", "a@b.c", 100

    for second in range(0, 59):
        now[0] = float(second)
        assert not revocations.refuses(Caller)
    assert len(loads) == 1
    now[0] = 60.0
    revocations.refuses(Caller)
    assert len(loads) == 2

