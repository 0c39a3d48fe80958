"""Ops create providers, set plans and assign; the directory and profiles (SPEC §1, §3)."""
import pytest

from tests.support.cognito import unique_email


def test_ops_create_a_provider_who_can_then_sign_in(api, world, cognito):
    provider = world.provider(focus_areas=["anxiety"], bio="Calm.", years_experience=7, country="US")
    me = api.get("/providers/me", provider).json
    assert me["id"] == provider.id and me["email"] == provider.email
    assert me["kind"] == "therapist" and me["focus_areas"] == ["anxiety"]
    assert me["working_hours"][0] == {"weekday": 0, "start": "09:00", "end": "17:00"}


def test_creating_the_same_provider_twice_is_409(api, world):
    body = {"email": "dup@example.com", "name": "Dr Dup", "kind": "therapist", "licensed_regions": ["GB"],
            "languages": ["en"], "timezone": "Europe/London"}
    assert api.post("/ops/providers", world.ops, body).status == 201
    reply = api.post("/ops/providers", world.ops, body)
    assert reply.status == 409 and reply.code == "already_exists"


@pytest.mark.parametrize("change", [{"kind": "surgeon"}, {"licensed_regions": []}, {"timezone": "Nowhere"},
                                    {"email": "not-an-email"}, {"capacity": -1}, {"unknown": 1}])
def test_bad_provider_input_is_400(api, world, change):
    body = {"email": "p@example.com", "name": "Dr P", "kind": "therapist", "licensed_regions": ["GB"],
            "languages": ["en"], "timezone": "Europe/London", **change}
    reply = api.post("/ops/providers", world.ops, body)
    assert reply.status == 400 and reply.code == "validation_error"


def test_public_profile_never_shows_email_and_hides_rating_below_five(api, world):
    client = world.client()
    provider = world.provider()
    profile = api.get(f"/providers/{provider.id}", client).json
    assert profile["id"] == provider.id and "email" not in profile and "phone" not in profile
    assert profile["rating"] is None
    assert api.get("/providers/nobody", client).status == 404


def test_directory_filters(api, world):
    client = world.client()
    a = world.provider(licensed_regions=["US-NY"], languages=["en", "es"], focus_areas=["grief"])
    b = world.provider(licensed_regions=["GB"], languages=["en"], kind="psychiatrist")
    ids = lambda q: {p["id"] for p in api.get(f"/providers{q}", client).json["items"]}  # noqa: E731
    assert ids("") == {a.id, b.id}
    assert ids("?region=US-NY") == {a.id}
    assert ids("?language=es") == {a.id}
    assert ids("?kind=psychiatrist") == {b.id}
    assert ids("?focus=grief") == {a.id}
    assert ids("?region=GB&kind=therapist") == set()


def test_directory_pages_with_a_signed_cursor(api, world):
    client = world.client()
    made = {world.provider().id for _ in range(5)}
    seen, cursor, pages = [], None, 0
    while True:
        reply = api.get("/providers?limit=2" + (f"&next={cursor}" if cursor else ""), client)
        assert reply.status == 200
        seen += [p["id"] for p in reply.json["items"]]
        pages += 1
        cursor = reply.json["next"]
        if not cursor:
            break
    assert set(seen) == made and len(seen) == 5 and pages == 3
    assert api.get("/providers?limit=2&next=forged.cursor", client).code == "invalid_cursor"


def test_plan_for_unknown_client_is_404_and_bad_plan_400(api, world):
    assert api.put("/ops/clients/nobody/plan", world.ops, {"kind": "eap", "live_credits": 3,
                                                          "messaging_credits": 1}).status == 404
    client = world.client()
    reply = api.put(f"/ops/clients/{client.id}/plan", world.ops, {"kind": "subscription", "live_credits": 4})
    assert reply.status == 400 and reply.code == "validation_error"
    reply = api.put(f"/ops/clients/{client.id}/plan", world.ops, {"kind": "gold", "live_credits": 4})
    assert reply.status == 400


def test_assignment_creates_one_room_and_a_new_provider_of_the_same_kind_takes_it_over(api, world):
    client = world.client()
    first, second = world.provider(), world.provider()
    psychiatrist = world.provider(kind="psychiatrist")
    room = world.room(client, first)
    assert world.room(client, first) == room  # idempotent
    assert world.room(client, second) == room  # history stays with the room
    other = world.room(client, psychiatrist)
    assert other != room
    assert api.get(f"/rooms/{room}", first).status == 404  # the old provider loses access at once
    assert api.get(f"/rooms/{room}", second).status == 200
    assert len(api.get("/clients/me", client).json["rooms"]) == 2


def test_assignment_of_unknown_people_is_404(api, world):
    client = world.client()
    assert api.put("/ops/assignments", world.ops, {"client_id": client.id, "provider_id": "nope"}).status == 404
    assert api.put("/ops/assignments", world.ops, {"client_id": "nope", "provider_id": "nope"}).status == 404


def test_availability_is_validated_and_stored(api, world):
    provider = world.provider()
    body = {"timezone": "Europe/London", "windows": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
            "working_hours": [{"weekday": 1, "start": "10:00", "end": "18:00"}]}
    assert api.put("/providers/me/availability", provider, body).status == 200
    me = api.get("/providers/me", provider).json
    assert me["availability"]["windows"] == body["windows"] and me["working_hours"] == body["working_hours"]
    bad = {"timezone": "Europe/London", "windows": [{"weekday": 7, "start": "09:00", "end": "12:00"}]}
    assert api.put("/providers/me/availability", provider, bad).status == 400
    bad = {"timezone": "Europe/London", "windows": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}
    assert api.put("/providers/me/availability", provider, bad).status == 400


def test_the_provider_has_one_time_zone_that_availability_and_working_hours_share(api, world, clock):
    """Issue 10 item 8: the body's `timezone` is the profile's one time zone (documented); the
    windows and the reply-promise working hours are both read in it, and omitting it keeps it."""
    from datetime import datetime, timezone

    provider = world.provider()  # created in America/New_York
    client = world.client()
    room_id = world.room(client, provider)
    world.plan(client, kind="subscription", live_credits=4, period_anchor="2026-11-01")
    windows = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]
    moved = api.put("/providers/me/availability", provider, {"timezone": "Europe/London", "windows": windows})
    assert moved.status == 200
    for view in (moved.json, api.get("/providers/me", provider).json):
        assert view["timezone"] == "Europe/London" and view["availability"]["timezone"] == "Europe/London"
    assert api.get(f"/providers/{provider.id}", client).json["timezone"] == "Europe/London"
    kept = api.put("/providers/me/availability", provider, {"windows": windows[:1]})  # no zone: it stays
    assert kept.status == 200 and kept.json["timezone"] == "Europe/London"
    assert kept.json["availability"] == {"timezone": "Europe/London", "windows": windows[:1]}
    # working hours (default Mon–Fri 09:00–17:00) follow the same zone: a message on Monday 08:00Z
    # is due 17:00 London (17:00Z); read in New York it would be due 17:00 there (22:00Z)
    clock.at = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "hi"}).status == 201
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] == "2026-11-23T17:00:00Z"
    bad = api.put("/providers/me/availability", provider, {"timezone": "Mars/Olympus", "windows": []})
    assert bad.status == 400 and bad.code == "validation_error"
    assert api.get("/providers/me", provider).json["timezone"] == "Europe/London"


def _listed(api, user, query: str, limit: int) -> list[dict]:
    """Every page of the directory for `query`, `limit` at a time (asserting each page's size)."""
    seen, cursor = [], None
    while True:
        reply = api.get(f"/providers?limit={limit}{query}" + (f"&next={cursor}" if cursor else ""), user)
        assert reply.status == 200, reply.json
        assert len(reply.json["items"]) <= limit
        seen += reply.json["items"]
        cursor = reply.json["next"]
        if not cursor:
            return seen
        assert len(reply.json["items"]) == limit


def test_the_directory_lists_accepting_providers_first_then_by_name_page_by_page(api, world):
    """Issue 10 item 9: accepting new clients first, then by name as a person alphabetises it
    (case, accents and punctuation ignored; "Ann" before "Ann Smith" before "Anna"), equal names
    in one stable order; paging in any size gives the same list; `accepting` moves a provider."""
    client = world.client()

    def make(name, regions=("US-NY",)):
        body = {"email": unique_email("listed"), "name": name, "kind": "therapist", "licensed_regions": list(regions), "languages": ["en"],
                "timezone": "America/New_York"}
        reply = api.post("/ops/providers", world.ops, body)
        assert reply.status == 201, reply.json
        made[reply.json["id"]] = name
        return reply.json["id"]

    made: dict[str, str] = {}
    zoe, anna, sam_a, sam_b = make("zoë Adams"), make("Anna Berg"), make("Sam Lee"), make("Sam Lee")
    ann_smith, elodie = make("Ann Smith", ("US", "US-NY")), make("Élodie Martin", ("US",))
    obrien, ann, bob = make("Pat O'Brien"), make("ann"), make("Bob Stone", ("GB",))
    for closed in (zoe, bob):
        assert api.call("PATCH", f"/ops/providers/{closed}", world.ops, {"accepting": False}).status == 200
    same = sorted([sam_a, sam_b])
    expected = [ann, ann_smith, anna, elodie, obrien, *same, bob, zoe]  # accepting first, then the others
    for limit in (1, 2, 3, 100):
        listed = _listed(api, client, "", limit)
        assert [p["id"] for p in listed] == expected, [p["name"] for p in listed]
        assert [p["accepting"] for p in listed] == [True] * 7 + [False] * 2
    # a region's directory: the same order, a provider licensed for both the state and the country once
    in_ny = [i for i in expected if i not in (bob,)]
    for limit in (1, 2, 100):
        assert [p["id"] for p in _listed(api, client, "&region=US-NY", limit)] == in_ny
    # accepting again moves the provider back among the accepting ones, on every path
    assert api.call("PATCH", f"/ops/providers/{zoe}", world.ops, {"accepting": True}).status == 200
    assert [p["id"] for p in _listed(api, client, "", 2)] == [*expected[:7], zoe, bob]
    assert [p["id"] for p in _listed(api, client, "&region=US-NY", 2)][-1] == zoe
    # licences changed later keep the order on the new listing items
    assert api.call("PATCH", f"/ops/providers/{bob}", world.ops, {"licensed_regions": ["US-NY"]}).status == 200
    assert [p["id"] for p in _listed(api, client, "&region=US-NY", 3)] == [*expected[:7], zoe, bob]
    # a cursor of one filter does not continue another
    first = api.get("/providers?limit=1", client).json["next"]
    assert api.get(f"/providers?limit=1&region=US-NY&next={first}", client).code == "invalid_cursor"
