"""Matching and continuity of care over HTTP (SPEC §2, §3): intake, explained and deterministic
matches, the waiting list, a change of provider, ops assignments with `force`, ops' provider list,
changes and deactivation, and the deadlines sweep's re-matching."""
from datetime import timedelta

import pytest

from chalicelib import wiring
from tests.functional.booking_world import EVERY_DAY, WED_10_NY, z
from tests.functional.conftest import mail_to


def intake_body(**fields) -> dict:
    return {"region": "US-NY", "languages": ["en"], "provider_kind": "therapist", "focus_areas": [], **fields}


def intake(api, client, expect=200, **fields):
    reply = api.put("/clients/me/intake", client, intake_body(**fields))
    assert reply.status == expect, reply.json
    return reply.json


def me(api, client) -> dict:
    return api.get("/clients/me", client).json


def deadlines(run_sweep, clock, **delta):
    return run_sweep("deadlines", clock.at + timedelta(**delta))


# --- intake: explained, deterministic ------------------------------------------------------------

def test_intake_matches_the_best_score_and_explains_it(api, world):
    client = world.client()
    world.provider(focus_areas=["grief"])
    best = world.provider(focus_areas=["Anxiety", "sleep"])
    far = world.provider(focus_areas=["anxiety"], timezone="Europe/Berlin")
    answer = intake(api, client, focus_areas=["anxiety", "sleep"])
    assert answer == {"status": "matched", "provider_id": best.id, "room_id": answer["room_id"],
                      "reasons": ["focus_match", "near_time_zone"]}
    profile = me(api, client)
    assert profile["status"] == "active"
    assert profile["rooms"] == [{"id": answer["room_id"], "client_id": client.id, "provider_id": best.id,
                                 "provider_kind": "therapist"}]
    assert api.get(f"/rooms/{answer['room_id']}", best).status == 200
    assert api.get(f"/rooms/{answer['room_id']}", far).status == 404


def test_the_same_inputs_give_the_same_provider_and_ties_go_to_the_least_busy_then_the_lowest_id(api, world):
    first, second = world.provider(), world.provider()
    low, high = sorted([first, second], key=lambda p: p.id)
    a, b = world.client(), world.client()
    answer = intake(api, a)
    assert (answer["provider_id"], answer["reasons"]) == (low.id, ["near_time_zone", "lowest_id"])
    assert intake(api, a) == answer  # again: the same answer, nobody moves
    other = intake(api, b)
    assert (other["provider_id"], other["reasons"]) == (high.id, ["near_time_zone", "least_busy"])
    counts = {p["id"]: p["active_clients"] for p in api.get("/ops/providers", world.ops).json["items"]}
    assert counts == {low.id: 1, high.id: 1}


def test_a_named_provider_who_passes_the_filters_is_chosen(api, world):
    client = world.client()
    world.provider(focus_areas=["anxiety"])
    named = world.provider(name="Dr. Jane Smith")
    answer = intake(api, client, focus_areas=["anxiety"], provider_name="dr. jane smith")
    assert (answer["provider_id"], answer["reasons"]) == (named.id, ["requested_provider"])


def test_a_named_provider_who_fails_a_filter_is_unavailable_and_the_score_decides(api, world):
    client = world.client()
    world.provider(name="Dr. Jane Smith", licensed_regions=["US-NJ"])
    other = world.provider()
    answer = intake(api, client, provider_name="Dr. Jane Smith")
    assert answer["provider_id"] == other.id
    assert answer["reasons"] == ["requested_provider_unavailable", "near_time_zone"]


def test_a_bare_country_licence_covers_the_region_and_languages_match_by_primary_subtag(api, world):
    client = world.client(region="GB-SCT", languages=["en-GB"], timezone="Europe/London")
    world.provider(licensed_regions=["GB-WLS"], languages=["en"], timezone="Europe/London")
    uk = world.provider(licensed_regions=["GB"], languages=["en-US"], timezone="Europe/London")
    answer = intake(api, client, region="GB-SCT", languages=["en-GB"])
    assert (answer["provider_id"], answer["reasons"]) == (uk.id, ["near_time_zone"])
    listed = {p["id"] for p in api.get("/providers?region=GB-SCT", client).json["items"]}
    assert listed == {uk.id}  # the directory reads the same index


def test_the_preferred_gender_and_the_kind_filter(api, world):
    client = world.client()
    world.provider(gender="male")
    world.provider(kind="psychiatrist", gender="female")
    female = world.provider(gender="female")
    therapy = intake(api, client, gender_preference="female")
    assert therapy["provider_id"] == female.id
    psychiatry = intake(api, client, provider_kind="psychiatrist", gender_preference="female")
    assert psychiatry["status"] == "matched" and psychiatry["room_id"] != therapy["room_id"]
    assert len(me(api, client)["rooms"]) == 2


def test_not_accepting_full_inactive_and_unlicensed_providers_are_never_chosen(api, world):
    client = world.client()
    closed = world.provider()
    world.provider(capacity=0)
    assert api.patch(f"/ops/providers/{closed.id}", world.ops, {"accepting": False}).status == 200
    gone = world.provider()
    assert api.post(f"/ops/providers/{gone.id}/deactivate", world.ops).status == 200
    world.provider(licensed_regions=["US-CA"])
    world.provider(languages=["fr"])
    world.provider(kind="psychiatrist")
    answer = intake(api, client)
    assert answer == {"status": "waiting", "reasons": ["no_provider_available"]}


@pytest.mark.parametrize("change", [
    {"provider_kind": "surgeon"}, {"focus_areas": None}, {"region": "Scotland"}, {"languages": []},
    {"gender_preference": "other"}, {"unknown": 1},
])
def test_bad_intake_is_400(api, world, change):
    client = world.client()
    body = {**intake_body(), **change}
    if change == {"focus_areas": None}:
        del body["focus_areas"]
    reply = api.put("/clients/me/intake", client, body)
    assert (reply.status, reply.code) == (400, "validation_error")


def test_intake_before_registering_is_404(api, cognito):
    stranger = cognito.sign_up()
    assert api.put("/clients/me/intake", stranger, intake_body()).status == 404


# --- waiting ---------------------------------------------------------------------------------------

def test_nobody_fits_the_client_waits_and_the_sweep_matches_them_when_someone_joins(api, world, clock, run_sweep):
    client = world.client()
    answer = intake(api, client, provider_name="Dr. Nobody")
    assert answer == {"status": "waiting", "reasons": ["requested_provider_unavailable", "no_provider_available"]}
    assert me(api, client)["status"] == "waiting" and me(api, client)["rooms"] == []
    assert deadlines(run_sweep, clock, minutes=5)["waiting_matched"] == 0
    provider = world.provider()
    result = deadlines(run_sweep, clock, minutes=10)
    assert result["waiting_matched"] == 1
    profile = me(api, client)
    assert profile["status"] == "active" and [r["provider_id"] for r in profile["rooms"]] == [provider.id]
    assert [m["subject"] for m in mail_to(client.email)] == ["You have a Haven provider"]
    assert [m["subject"] for m in mail_to(provider.email)] == ["You have a new client on Haven"]
    assert deadlines(run_sweep, clock, minutes=15)["waiting_matched"] == 0  # once


def test_ops_are_told_once_after_48_hours_of_waiting(api, world, clock, run_sweep, stack):
    client = world.client()
    intake(api, client)

    def told():
        return [m for m in mail_to(stack["ops_email"]) if "waited 48 hours" in m["subject"]]

    assert deadlines(run_sweep, clock, hours=47, minutes=55)["waiting_ops_told"] == 0
    assert told() == []
    assert deadlines(run_sweep, clock, hours=48)["waiting_ops_told"] == 1
    assert client.id in told()[0]["body"] and client.email not in told()[0]["body"]
    deadlines(run_sweep, clock, hours=48)  # a replay of the same moment
    deadlines(run_sweep, clock, hours=48, minutes=5)
    deadlines(run_sweep, clock, hours=72)
    assert len(told()) == 1


def test_intake_again_while_waiting_keeps_the_wait_and_can_match(api, world):
    client = world.client()
    intake(api, client, provider_kind="psychiatrist")
    world.provider(kind="therapist")
    assert intake(api, client, provider_kind="psychiatrist")["status"] == "waiting"
    assert intake(api, client)["status"] == "matched"
    assert me(api, client)["status"] == "waiting"  # still waiting for a psychiatrist


# --- a change of provider --------------------------------------------------------------------------

def _scene_with_history(api, world):
    client = world.client()
    old = world.provider(focus_areas=["anxiety"])
    room_id = intake(api, client, focus_areas=["anxiety"])["room_id"]
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "hello"}).status == 201
    assert api.post(f"/rooms/{room_id}/messages", old, {"kind": "text", "text": "welcome"}).status == 201
    world.plan(client)
    assert api.put("/providers/me/availability", old,
                   {"timezone": "America/New_York", "windows": EVERY_DAY}).status == 200
    booking = api.post("/bookings", client, {"provider_id": old.id, "modality": "video",
                                             "starts_at": z(WED_10_NY)}).json
    assert booking["status"] == "pending"
    return client, old, room_id, booking


def test_a_change_of_provider_hands_the_same_room_over_with_its_history(api, world):
    client, old, room_id, booking = _scene_with_history(api, world)
    new = world.provider()
    seen = []

    def listener(**event):
        seen.append(event)

    wiring.subscribe("provider_changed", listener)
    try:
        reply = api.post("/clients/me/provider-change", client, {"provider_kind": "therapist", "reason": "no fit"})
    finally:
        wiring.unsubscribe("provider_changed", listener)  # only ours: the app's own handlers stay
    assert reply.status == 200
    assert reply.json == {"status": "matched", "provider_id": new.id, "room_id": room_id,
                          "reasons": ["near_time_zone"]}
    assert api.get(f"/rooms/{room_id}", old).status == 404  # out at once
    texts = [m["text"] for m in api.get(f"/rooms/{room_id}/messages", new).json["items"]]
    assert texts == ["welcome", "hello"]  # the history stays with the room
    assert api.get(f"/bookings/{booking['id']}", client).json["status"] == "cancelled"
    assert me(api, client)["credits"]["live"] == 4
    assert [(e["client_id"], e["old_provider_id"]) for e in seen] == [(client.id, old.id)]
    assert [m["subject"] for m in mail_to(client.email) if "provider" in m["subject"]] == ["Your new Haven provider"]
    assert "You have a new client on Haven" in [m["subject"] for m in mail_to(new.email)]
    assert "A client has moved to another provider" in [m["subject"] for m in mail_to(old.email)]
    counts = {p["id"]: p["active_clients"] for p in api.get("/ops/providers", world.ops).json["items"]}
    assert counts == {old.id: 0, new.id: 1}
    from chalicelib.store.models import RoomModel

    history = RoomModel.get(room_id).history
    assert [(h["provider_id"], h["reason"], h["by"]) for h in history] == [
        (old.id, "intake", client.id), (new.id, "change", client.id)]


def test_a_change_with_nobody_else_keeps_the_current_provider_until_the_sweep_finds_one(api, world, clock,
                                                                                       run_sweep):
    client, old, room_id, booking = _scene_with_history(api, world)
    reply = api.post("/clients/me/provider-change", client, {"provider_kind": "therapist"})
    assert reply.json == {"status": "waiting", "reasons": ["no_provider_available"]}
    profile = me(api, client)
    assert profile["status"] == "active" and profile["rooms"][0]["provider_id"] == old.id
    assert api.get(f"/bookings/{booking['id']}", client).json["status"] == "pending"
    new = world.provider()
    assert deadlines(run_sweep, clock, minutes=5)["waiting_matched"] == 1
    assert me(api, client)["rooms"][0]["provider_id"] == new.id
    assert api.get(f"/bookings/{booking['id']}", client).json["status"] == "cancelled"
    assert deadlines(run_sweep, clock, minutes=10)["waiting_matched"] == 0


def test_a_change_needs_a_provider_of_that_kind(api, world):
    client = world.client()
    reply = api.post("/clients/me/provider-change", client, {"provider_kind": "psychiatrist"})
    assert (reply.status, reply.code) == (409, "invalid_state")
    assert api.post("/clients/me/provider-change", client, {"provider_kind": "x"}).code == "validation_error"


def test_a_repeated_change_with_the_same_idempotency_key_changes_once(api, world):
    client, old, room_id, _ = _scene_with_history(api, world)
    world.provider()
    world.provider()
    first = api.post("/clients/me/provider-change", client, {"provider_kind": "therapist"},
                     headers={"Idempotency-Key": "change-1"})
    again = api.post("/clients/me/provider-change", client, {"provider_kind": "therapist"},
                     headers={"Idempotency-Key": "change-1"})
    assert first.status == again.status == 200 and again.json == first.json
    assert me(api, client)["rooms"][0]["provider_id"] == first.json["provider_id"]


# --- ops assignments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, code", [
    ({"licensed_regions": ["GB"], "languages": ["fr"]}, "not_licensed"),
    ({"languages": ["fr"], "capacity": 0}, "language_mismatch"),
    ({"capacity": 0}, "at_capacity"),
])
def test_assignments_check_the_filters_unless_forced(api, world, fields, code):
    client = world.client()
    provider = world.provider(**fields)
    body = {"client_id": client.id, "provider_id": provider.id}
    reply = api.put("/ops/assignments", world.ops, body)
    assert (reply.status, reply.code) == (400, code)
    forced = api.put("/ops/assignments", world.ops, {**body, "force": True})
    assert forced.status == 200, forced.json
    assert forced.json["forced"] is True and forced.json["forced_by"] == world.ops.id
    assert forced.json["forced_at"] == "2026-11-23T09:00:00Z"
    from chalicelib.store.models import RoomModel

    [entry] = RoomModel.get(forced.json["room_id"]).history
    assert (entry["by"], entry["at"], entry["forced"]) == (world.ops.id, "2026-11-23T09:00:00Z", True)


def test_an_assignment_to_a_waiting_client_ends_the_wait(api, world, clock, run_sweep):
    client = world.client()
    intake(api, client)
    provider = world.provider(languages=["fr"])
    assert api.put("/ops/assignments", world.ops, {"client_id": client.id, "provider_id": provider.id,
                                                   "force": True}).status == 200
    assert me(api, client)["status"] == "active"
    world.provider()
    assert deadlines(run_sweep, clock, minutes=5)["waiting_matched"] == 0
    assert me(api, client)["rooms"][0]["provider_id"] == provider.id


def test_a_deactivated_provider_cannot_be_assigned_even_by_force(api, world):
    client, provider = world.client(), world.provider()
    api.post(f"/ops/providers/{provider.id}/deactivate", world.ops)
    reply = api.put("/ops/assignments", world.ops, {"client_id": client.id, "provider_id": provider.id, "force": True})
    assert (reply.status, reply.code) == (409, "invalid_state")


# --- ops: providers -------------------------------------------------------------------------------------

def test_ops_list_providers_with_their_caseloads_and_filter_by_active(api, world):
    a, b = world.provider(gender="female", capacity=3), world.provider()
    world.room(world.client(), a)
    api.post(f"/ops/providers/{b.id}/deactivate", world.ops)
    everyone = api.get("/ops/providers", world.ops).json
    assert {p["id"] for p in everyone["items"]} == {a.id, b.id} and everyone["next"] is None
    [view] = api.get("/ops/providers?active=true", world.ops).json["items"]
    assert view["id"] == a.id
    assert (view["active_clients"], view["capacity"], view["accepting"], view["gender"]) == (1, 3, True, "female")
    assert [p["id"] for p in api.get("/ops/providers?active=false", world.ops).json["items"]] == [b.id]
    assert api.get("/ops/providers?active=maybe", world.ops).code == "validation_error"
    page = api.get("/ops/providers?limit=1", world.ops).json
    rest = api.get(f"/ops/providers?limit=1&next={page['next']}", world.ops).json
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {a.id, b.id}


def test_ops_change_a_provider(api, world):
    provider = world.provider()
    client = world.client(region="GB", timezone="Europe/London")
    reply = api.patch(f"/ops/providers/{provider.id}", world.ops,
                     {"gender": "nonbinary", "accepting": False, "capacity": 5, "licensed_regions": ["GB"],
                      "languages": ["en", "cy"], "focus_areas": ["grief"]})
    assert reply.status == 200, reply.json
    view = reply.json
    assert (view["gender"], view["accepting"], view["capacity"], view["licensed_regions"], view["languages"],
            view["focus_areas"]) == ("nonbinary", False, 5, ["GB"], ["en", "cy"], ["grief"])
    assert {p["id"] for p in api.get("/providers?region=GB", client).json["items"]} == {provider.id}
    assert api.get("/providers?region=US-NY", client).json["items"] == []
    assert intake(api, client, region="GB")["status"] == "waiting"  # not accepting
    assert api.patch(f"/ops/providers/{provider.id}", world.ops, {"accepting": True}).status == 200
    assert api.patch(f"/ops/providers/{provider.id}", world.ops, {"gender": None}).json["gender"] is None
    assert api.patch("/ops/providers/nobody", world.ops, {"accepting": True}).status == 404
    assert api.patch(f"/ops/providers/{provider.id}", world.ops, {"gender": "x"}).code == "validation_error"
    assert api.patch(f"/ops/providers/{provider.id}", world.ops, {"licensed_regions": []}).status == 400


def test_a_deactivated_provider_is_out_of_the_directory_and_unbookable_at_once(api, world):
    client, provider, room_id = world.pair()
    world.plan(client)
    api.put("/providers/me/availability", provider, {"timezone": "America/New_York", "windows": EVERY_DAY})
    reply = api.post(f"/ops/providers/{provider.id}/deactivate", world.ops)
    assert reply.status == 200 and reply.json["active"] is False and reply.json["id"] == provider.id
    assert api.post(f"/ops/providers/{provider.id}/deactivate", world.ops).json["active"] is False  # again: same
    assert api.get("/providers", client).json["items"] == []
    assert api.get("/providers?region=US-NY", client).json["items"] == []
    assert api.get(f"/providers/{provider.id}/slots", client).json["items"] == []
    booking = api.post("/bookings", client, {"provider_id": provider.id, "modality": "video",
                                             "starts_at": z(WED_10_NY)})
    assert (booking.status, booking.code) == (409, "invalid_state")
    assert api.post("/ops/providers/nobody/deactivate", world.ops).status == 404


def test_a_deactivated_providers_thirty_clients_are_rematched_or_waiting_exactly_once(api, world, clock, run_sweep):
    leaving = world.provider(capacity=40)
    english = [world.client() for _ in range(20)]
    french = [world.client(languages=["fr"]) for _ in range(10)]
    clients = english + french
    rooms = {}
    for client in clients:  # French speakers only by force: the provider speaks English
        rooms[client.id] = api.put("/ops/assignments", world.ops, {"client_id": client.id, "provider_id": leaving.id,
                                                                  "force": True}).json["room_id"]
    successor = world.provider(capacity=12)
    backup = world.provider(capacity=8)
    api.post(f"/ops/providers/{leaving.id}/deactivate", world.ops)
    result = deadlines(run_sweep, clock, minutes=5)
    assert result["clients_rematched"] == 30
    assert deadlines(run_sweep, clock, minutes=5)["clients_rematched"] == 0  # a replay acts on nobody
    assert deadlines(run_sweep, clock, minutes=10)["clients_rematched"] == 0
    providers = {}
    for client in clients:
        profile = me(api, client)
        assert [r["id"] for r in profile["rooms"]] == [rooms[client.id]]  # the same room
        providers[client.id] = (profile["status"], profile["rooms"][0]["provider_id"])
    # ties go to the least busy: they take turns until the backup is full
    assert sorted(providers[c.id][1] for c in english) == sorted([successor.id] * 12 + [backup.id] * 8)
    assert all(providers[c.id] == ("waiting", None) for c in french)
    assert all(providers[c.id][0] == "active" for c in english)
    assert api.get("/rooms", leaving).json["items"] == []
    counts = {p["id"]: p["active_clients"] for p in api.get("/ops/providers", world.ops).json["items"]}
    assert counts == {leaving.id: 0, successor.id: 12, backup.id: 8}
    waiting_mail = [m for c in french for m in mail_to(c.email)]
    assert len(waiting_mail) == 10 and all("finding you a new" in m["subject"] for m in waiting_mail)
    # a French-speaking provider joins: the waiting clients are matched by the next run
    francophone = world.provider(languages=["fr"], capacity=10)
    assert deadlines(run_sweep, clock, minutes=15)["waiting_matched"] == 10
    assert {me(api, c)["rooms"][0]["provider_id"] for c in french} == {francophone.id}


# --- ops: find a client --------------------------------------------------------------------------------

def test_ops_find_a_client_by_email_ignoring_case(api, world):
    client = world.client(name="Robin Client")
    world.plan(client)
    reply = api.get(f"/ops/clients?email={client.email.upper()}", world.ops)
    assert reply.status == 200
    assert reply.json["items"] == [{"id": client.id, "email": client.email, "name": "Robin Client",
                                    "status": "active", "plan": reply.json["items"][0]["plan"]}]
    assert reply.json["items"][0]["plan"]["kind"] == "subscription"
    assert api.get("/ops/clients?email=nobody@example.com", world.ops).json["items"] == []
    assert api.get("/ops/clients", world.ops).code == "validation_error"
    provider = world.provider()
    assert api.get(f"/ops/clients?email={provider.email}", world.ops).json["items"] == []
    assert api.get(f"/ops/clients?email={client.email}", client).status == 403


def test_matching_never_sends_a_client_back_to_a_provider_they_changed_away_from(api, world, clock, run_sweep):
    client = world.client()
    first = world.provider()
    intake(api, client)
    second = world.provider()
    assert api.post("/clients/me/provider-change", client, {"provider_kind": "therapist"}).json["provider_id"] \
        == second.id
    api.post(f"/ops/providers/{second.id}/deactivate", world.ops)
    deadlines(run_sweep, clock, minutes=5)
    profile = me(api, client)
    assert (profile["status"], profile["rooms"][0]["provider_id"]) == ("waiting", None)
    third = world.provider()
    deadlines(run_sweep, clock, minutes=10)
    assert me(api, client)["rooms"][0]["provider_id"] == third.id
    # ops may still assign the first one
    assert api.put("/ops/assignments", world.ops, {"client_id": client.id, "provider_id": first.id}).status == 200


def test_the_new_provider_is_alerted_even_when_the_old_one_left_an_alert_unread(api, world, clock):
    client = world.client()
    old = world.provider()
    room_id = intake(api, client)["room_id"]
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "one"})
    assert len([m for m in mail_to(old.email) if "new message" in m["subject"]]) == 1  # unread by the old one
    new = world.provider()
    api.post("/clients/me/provider-change", client, {"provider_kind": "therapist"})
    clock.advance(hours=2)
    api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "two"})
    assert len([m for m in mail_to(new.email) if "new message" in m["subject"]]) == 1


def test_a_client_waiting_in_a_room_without_a_provider_can_still_write_there(api, world, clock, run_sweep):
    client, provider, room_id = world.pair()
    world.plan(client)  # a subscription: the reply promise would apply
    api.post(f"/ops/providers/{provider.id}/deactivate", world.ops)
    deadlines(run_sweep, clock, minutes=5)
    room = api.get(f"/rooms/{room_id}", client).json
    assert room["provider_id"] is None and room["reply_due_at"] is None
    assert api.post(f"/rooms/{room_id}/messages", client, {"kind": "text", "text": "still here"}).status == 201
    assert api.get(f"/rooms/{room_id}", client).json["reply_due_at"] is None
    assert api.get(f"/rooms/{room_id}", provider).status == 404
    newcomer = world.provider()
    deadlines(run_sweep, clock, minutes=10)
    assert [m["text"] for m in api.get(f"/rooms/{room_id}/messages", newcomer).json["items"]] == ["still here"]
