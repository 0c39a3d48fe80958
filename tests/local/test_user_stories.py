"""Issue 2's user stories, each end to end over HTTP against the real local stack with real tokens:
sign-up and registration (adults only), ops making providers, plans and rooms, the directory,
rooms and messaging with paging and read markers, crisis resources and the OpenAPI document."""
from __future__ import annotations

import uuid

import pytest

from tests.local.conftest import years_ago

pytestmark = pytest.mark.local


def test_a_client_signs_up_in_cognito_and_registers_as_an_adult_only(http, cognito):
    client = cognito.sign_up()
    minor = {"name": "Young Person", "date_of_birth": years_ago(17).isoformat(), "timezone": "Europe/London",
             "region": "GB", "languages": ["en"]}
    refused = http.post("/clients/me", client, minor)
    assert refused.status == 400 and refused.code == "too_young", refused.text
    assert http.get("/clients/me", client).status == 404  # nothing was written

    adult = {**minor, "name": "Alex Client", "date_of_birth": "1990-04-21", "languages": ["en", "cy"]}
    registered = http.post("/clients/me", client, adult)
    assert registered.status == 200, registered.text
    me = http.get("/clients/me", client)
    assert me.status == 200
    assert me.json["id"] == client.id and me.json["email"] == client.email  # the email comes from the token
    assert (me.json["name"], me.json["timezone"], me.json["region"], me.json["languages"]) == (
        "Alex Client", "Europe/London", "GB", ["en", "cy"])
    assert me.json["status"] == "active" and me.json["plan"] is None and me.json["rooms"] == []

    again = http.post("/clients/me", client, {**adult, "name": "Alex C."})  # updating is the same call
    assert again.status == 200 and http.get("/clients/me", client).json["name"] == "Alex C."


def test_ops_create_a_provider_set_a_plan_and_assign_the_client_to_a_room(http, cognito, world, ops):
    client = world.client()
    email = f"dr-{uuid.uuid4().hex[:10]}@example.com"
    created = http.post("/ops/providers", ops, {
        "email": email, "name": "Dr. Rivera", "kind": "therapist", "licensed_regions": ["US-NY", "US-NJ"],
        "languages": ["en", "es"], "timezone": "America/New_York", "focus_areas": ["anxiety"], "country": "US"})
    assert created.status == 201, created.text
    assert created.json["id"] and created.json["email"] == email
    provider = cognito.activate(email, "provider")  # the Cognito user exists, in group `providers`
    assert provider.id == created.json["id"]
    assert http.get("/providers/me", provider).json["id"] == provider.id

    plan = http.put(f"/ops/clients/{client.id}/plan", ops,
                    {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01"})
    assert plan.status == 200, plan.text
    assert plan.json["kind"] == "subscription" and plan.json["live_credits"] == 4

    assigned = http.put("/ops/assignments", ops, {"client_id": client.id, "provider_id": provider.id})
    assert assigned.status == 200, assigned.text
    room_id = assigned.json["room_id"]
    me = http.get("/clients/me", client).json
    assert me["plan"]["kind"] == "subscription"
    assert me["credits"] == {"live": 4, "messaging": None}
    assert [(r["id"], r["provider_id"], r["provider_kind"]) for r in me["rooms"]] == [
        (room_id, provider.id, "therapist")]
    # assigning again is idempotent: the same room
    assert http.put("/ops/assignments", ops, {"client_id": client.id, "provider_id": provider.id}
                    ).json["room_id"] == room_id

    # ops routes are for ops only; role before lookup
    assert http.put("/ops/assignments", client, {"client_id": client.id, "provider_id": provider.id}
                    ).code == "forbidden"
    assert http.post("/ops/providers", provider, {}).status == 403


def test_the_directory_filters_and_shows_public_profiles_and_a_provider_sees_their_own(http, world):
    focus = f"focus-{uuid.uuid4().hex[:8]}"  # isolates this test's providers from everyone else's
    ny_therapist = world.provider(licensed_regions=["US-NY"], languages=["en", "es"], focus_areas=[focus],
                                  bio="Works with anxiety.", years_experience=7)
    gb_psychiatrist = world.provider(kind="psychiatrist", licensed_regions=["GB"], languages=["en"],
                                     timezone="Europe/London", focus_areas=[focus])
    client = world.client()

    def ids(**filters):
        reply = http.get("/providers", client, params={"focus": focus, **filters})
        assert reply.status == 200, reply.text
        return {p["id"] for p in reply.json["items"]}

    assert ids() == {ny_therapist.id, gb_psychiatrist.id}
    assert ids(region="US-NY") == {ny_therapist.id}
    assert ids(region="GB") == {gb_psychiatrist.id}
    assert ids(language="es") == {ny_therapist.id}
    assert ids(kind="psychiatrist") == {gb_psychiatrist.id}
    assert ids(region="GB", kind="therapist") == set()

    # paging through the filtered directory with `next`
    first = http.get("/providers", client, params={"focus": focus, "limit": 1}).json
    assert len(first["items"]) == 1 and first["next"]
    second = http.get("/providers", client, params={"focus": focus, "limit": 1, "next": first["next"]}).json
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {ny_therapist.id, gb_psychiatrist.id}

    profile = http.get(f"/providers/{ny_therapist.id}", client)
    assert profile.status == 200
    assert profile.json["id"] == ny_therapist.id and profile.json["bio"] == "Works with anxiety."
    assert profile.json["years_experience"] == 7 and profile.json["rating"] is None
    assert "email" not in profile.json and "phone" not in profile.json
    assert ny_therapist.email not in profile.text
    assert http.get(f"/providers/{uuid.uuid4().hex}", client).status == 404

    own = http.get("/providers/me", ny_therapist)
    assert own.status == 200 and own.json["email"] == ny_therapist.email
    assert own.json["availability"]["timezone"] == "America/New_York"
    assert own.json["working_hours"][0] == {"weekday": 0, "start": "09:00", "end": "17:00"}
    assert http.get("/providers/me", client).status == 403


def test_both_members_message_page_newest_first_and_mark_read(http, world):
    client, provider, room_id = world.pair()  # no plan: no reply promise, so no system messages
    assert [r["id"] for r in http.get("/rooms", client).json["items"]] == [room_id]
    assert [r["id"] for r in http.get("/rooms", provider).json["items"]] == [room_id]
    room = http.get(f"/rooms/{room_id}", client).json
    assert (room["client_id"], room["provider_id"], room["unread_count"]) == (client.id, provider.id, 0)

    sent = []
    for i in range(5):
        sender = provider if i % 2 == 0 else client
        reply = http.post(f"/rooms/{room_id}/messages", sender, {"kind": "text", "text": f"message {i} ✓"})
        assert reply.status == 201, reply.text
        assert reply.json["sender_id"] == sender.id and reply.json["kind"] == "text"
        sent.append(reply.json)

    texts, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"next": cursor} if cursor else {})}
        page = http.get(f"/rooms/{room_id}/messages", client, params=params)
        assert page.status == 200, page.text
        texts += [m["text"] for m in page.json["items"]]
        pages += 1
        cursor = page.json["next"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert texts == [f"message {i} ✓" for i in reversed(range(5))]
    newest = http.get(f"/rooms/{room_id}/messages", provider, params={"limit": 1}).json["items"][0]
    assert newest["id"] == sent[-1]["id"] and newest["created_at"].endswith("Z")

    # provider wrote 3, client 2
    assert http.get(f"/rooms/{room_id}", client).json["unread_count"] == 3
    assert http.get(f"/rooms/{room_id}", provider).json["unread_count"] == 2
    marked = http.post(f"/rooms/{room_id}/read", client, {"message_id": sent[2]["id"]})
    assert marked.status == 200 and marked.json["unread_count"] == 1
    assert http.get(f"/rooms/{room_id}", client).json["unread_count"] == 1
    http.post(f"/rooms/{room_id}/read", provider, {"message_id": sent[3]["id"]})
    assert http.get(f"/rooms/{room_id}", provider).json["unread_count"] == 0
    http.post(f"/rooms/{room_id}/read", client, {"message_id": sent[4]["id"]})
    assert http.get(f"/rooms/{room_id}", client).json["unread_count"] == 0

    # a cursor from another room is refused; someone else's room is not there at all
    other_client, _, other_room = world.pair()
    other_cursor = http.get(f"/rooms/{room_id}/messages", client, params={"limit": 1}).json["next"]
    refused = http.get(f"/rooms/{other_room}/messages", other_client, params={"next": other_cursor})
    assert refused.status == 400 and refused.code == "invalid_cursor"
    assert http.get(f"/rooms/{room_id}", other_client).status == 404
    assert http.post(f"/rooms/{room_id}/messages", other_client, {"kind": "text", "text": "hi"}).status == 404


@pytest.mark.parametrize("region,expected", [("US-NY", "988"), ("GB", "116 123"), (None, None)])
def test_crisis_resources_need_no_sign_in(http, region, expected):
    reply = http.get("/crisis-resources", params={"region": region} if region else None)
    assert reply.status == 200, reply.text
    phones = [r.get("phone") for r in reply.json["resources"]]
    assert reply.json["resources"]
    if expected:
        assert expected in phones
    else:
        assert reply.json["region"] is None and any("findahelpline" in (r.get("url") or "")
                                                     for r in reply.json["resources"])
