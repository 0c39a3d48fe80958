"""Capacity holds under concurrency (SPEC §2): the active-client count moves in the same transaction
as the assignment, conditioned on `active_clients < capacity`.

Racing threads through the service (the emulator's DynamoDB operations are atomic, as DynamoDB's
are), and the interleaving forced: a competing match commits between a request's reads and its
transaction (`wiring.override("before_match_commit")`), which must then be refused and re-read.
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from chalicelib import wiring
from chalicelib.identity import Caller

PROFILE = {"name": "Racer", "date_of_birth": date(1990, 4, 21), "timezone": "America/New_York",
           "region": "US-NY", "languages": ["en"]}
INTAKE = {"region": "US-NY", "languages": ["en"], "provider_kind": "therapist", "focus_areas": []}


def _caseload(api, world, provider) -> int:
    [view] = [p for p in api.get("/ops/providers", world.ops).json["items"] if p["id"] == provider.id]
    return view["active_clients"]


def test_fifty_clients_racing_for_the_last_three_places_get_exactly_three(api, world, clock):
    from chalicelib.services import clients, matching

    provider = world.provider(capacity=5)
    for _ in range(2):
        world.room(world.client(), provider)
    racers = [Caller(f"racer-{n:02d}", f"racer-{n:02d}@example.com", "client") for n in range(50)]
    for racer in racers:
        clients.register(racer, PROFILE, clock.at)
    # Every racer reads (and sees 3 places) before any of them commits: the worst interleaving.
    everyone_read = threading.Barrier(len(racers))
    first_try = threading.local()
    commits = []

    def hold_until_everyone_read(**info):
        commits.append(info["scene"].client.id)
        if not getattr(first_try, "done", False):
            first_try.done = True
            everyone_read.wait(timeout=120)

    wiring.override("before_match_commit", hold_until_everyone_read)
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda racer: matching.intake(racer, INTAKE, clock.at), racers))

    matched = [a for a in answers if a["status"] == "matched"]
    assert len(matched) == 3, answers
    assert {a["provider_id"] for a in matched} == {provider.id}
    assert all(a == {"status": "waiting", "reasons": ["no_provider_available"]} for a in answers if a not in matched)
    assert len(commits) == 50  # all 50 tried to commit; the condition refused 47
    assert _caseload(api, world, provider) == 5
    assert len(api.get("/rooms", provider).json["items"]) == 5


def test_a_match_that_loses_the_last_place_between_reading_and_committing_is_read_again(api, world):
    provider = world.provider(capacity=1)
    client, rival = world.client(), world.client()

    def rival_takes_it(**info):
        wiring.override("before_match_commit", lambda **info: None)
        reply = api.put("/clients/me/intake", rival, INTAKE)
        assert reply.json["provider_id"] == provider.id

    wiring.override("before_match_commit", rival_takes_it)
    reply = api.put("/clients/me/intake", client, INTAKE)
    assert reply.json == {"status": "waiting", "reasons": ["no_provider_available"]}
    assert _caseload(api, world, provider) == 1


def test_a_match_that_loses_the_place_goes_to_the_next_best(api, world):
    first = world.provider(capacity=1, focus_areas=["sleep"])
    second = world.provider(capacity=1)
    client, rival = world.client(), world.client()

    def rival_takes_it(**info):
        wiring.override("before_match_commit", lambda **info: None)
        api.put("/clients/me/intake", rival, {**INTAKE, "focus_areas": ["sleep"]})

    wiring.override("before_match_commit", rival_takes_it)
    reply = api.put("/clients/me/intake", client, {**INTAKE, "focus_areas": ["sleep"]})
    assert (reply.json["status"], reply.json["provider_id"]) == ("matched", second.id)
    assert _caseload(api, world, first) == _caseload(api, world, second) == 1


def test_an_ops_assignment_that_loses_the_last_place_is_at_capacity(api, world):
    provider = world.provider(capacity=1)
    client, rival = world.client(), world.client()

    def rival_takes_it(**info):
        wiring.override("before_match_commit", lambda **info: None)
        api.put("/clients/me/intake", rival, INTAKE)

    wiring.override("before_match_commit", rival_takes_it)
    reply = api.put("/ops/assignments", world.ops, {"client_id": client.id, "provider_id": provider.id})
    assert (reply.status, reply.code) == (400, "at_capacity")
    assert _caseload(api, world, provider) == 1
