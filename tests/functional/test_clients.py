"""Client registration and `GET /clients/me` (SPEC §1, §3)."""
import pytest

PROFILE = {"name": "Alex", "date_of_birth": "1990-04-21", "timezone": "Europe/London", "region": "GB",
           "languages": ["en"]}


def test_a_signed_up_client_registers_and_reads_their_profile(api, cognito):
    user = cognito.sign_up_client()
    reply = api.post("/clients/me", user, PROFILE)
    assert reply.status == 200
    me = api.get("/clients/me", user).json
    assert me["id"] == user.id and me["email"] == user.email
    assert me["name"] == "Alex" and me["timezone"] == "Europe/London" and me["region"] == "GB"
    assert me["plan"] is None and me["credits"] == {"live": None, "messaging": None}  # issue 10.10
    assert me["status"] == "active" and me["rooms"] == []


def test_registering_again_updates_the_profile(api, cognito):
    user = cognito.sign_up_client()
    api.post("/clients/me", user, PROFILE)
    api.post("/clients/me", user, {**PROFILE, "name": "Alex B", "languages": ["en", "es"]})
    me = api.get("/clients/me", user).json
    assert me["name"] == "Alex B" and me["languages"] == ["en", "es"]


def test_under_18_is_refused_and_nothing_is_written(api, cognito, clock):
    user = cognito.sign_up_client()
    # 18th birthday is tomorrow (clock: 2026-11-23 09:00Z, London)
    reply = api.post("/clients/me", user, {**PROFILE, "date_of_birth": "2008-11-24"})
    assert reply.status == 400 and reply.code == "too_young"
    assert api.get("/clients/me", user).status == 404


def test_turning_18_today_is_an_adult(api, cognito):
    user = cognito.sign_up_client()
    assert api.post("/clients/me", user, {**PROFILE, "date_of_birth": "2008-11-23"}).status == 200


@pytest.mark.parametrize("change", [
    {"timezone": "Mars/Olympus"},
    {"region": "XX-12345"},
    {"region": "gb"},
    {"languages": []},
    {"languages": "en"},
    {"name": ""},
    {"name": 42},
    {"date_of_birth": "21/04/1990"},
    {"date_of_birth": "2001-02-30"},
    {"favourite_colour": "blue"},
])
def test_bad_profile_input_is_a_400_validation_error(api, cognito, change):
    user = cognito.sign_up_client()
    reply = api.post("/clients/me", user, {**PROFILE, **change})
    assert reply.status == 400 and reply.code == "validation_error", reply.json
    assert reply.json["error"]["message"]
    assert api.get("/clients/me", user).status == 404


def test_missing_field_and_malformed_json_are_400(api, cognito):
    user = cognito.sign_up_client()
    body = dict(PROFILE)
    del body["timezone"]
    assert api.post("/clients/me", user, body).code == "validation_error"
    assert api.call("POST", "/clients/me", user, raw=b"{not json").code == "validation_error"
    assert api.call("POST", "/clients/me", user, raw=b"[1, 2]").code == "validation_error"


def test_me_shows_plan_credits_and_rooms(api, world):
    client, provider, room_id = world.pair()
    world.plan(client, kind="insurance", live_credits=6, messaging_credits=3, session_price_cents=9000,
               period_anchor=None)
    me = api.get("/clients/me", client).json
    assert me["plan"]["kind"] == "insurance"
    assert me["credits"] == {"live": 6, "messaging": 3}
    assert me["rooms"] == [{"id": room_id, "provider_id": provider.id, "provider_kind": "therapist",
                            "client_id": client.id}]


def test_subscription_shows_unlimited_messaging(api, world):
    client = world.client()
    world.plan(client, kind="subscription", live_credits=4, period_anchor="2026-11-01")
    assert api.get("/clients/me", client).json["credits"] == {"live": 4, "messaging": None}
