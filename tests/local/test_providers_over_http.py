"""Issue 10 items 8 and 9 over HTTP against the real local stack, as a client app and a provider
use it: the directory in a person's order page by page, and the provider's one time zone."""
from __future__ import annotations

import secrets

import pytest

from tests.support.cognito import unique_email

pytestmark = pytest.mark.local


def _pages(http, user, query: dict, limit: int) -> list[dict]:
    seen, cursor = [], None
    while True:
        reply = http.get("/providers", user, params={**query, "limit": limit, **({"next": cursor} if cursor else {})})
        assert reply.status == 200, reply.text
        seen += reply.json["items"]
        cursor = reply.json["next"]
        if not cursor:
            return seen


def test_the_directory_lists_accepting_providers_first_then_by_name(http, world, ops):
    region = f"NZ-{secrets.choice('ABCDEFGHJK')}{secrets.randbelow(90) + 10}"  # this test's own region
    made = {}
    for name in ("Zoë Adams", "anna Berg", "Ann Smith", "Bob Stone", "ann"):
        reply = http.post("/ops/providers", ops, {"email": unique_email("dir"), "name": name, "kind": "therapist",
                                                  "licensed_regions": [region], "languages": ["en"],
                                                  "timezone": "Pacific/Auckland"})
        assert reply.status == 201, reply.text
        made[name] = reply.json["id"]
    closed = http.patch(f"/ops/providers/{made['Bob Stone']}", ops, {"accepting": False})
    assert closed.status == 200, closed.text
    client = world.client(region=region)
    for limit in (1, 2, 50):
        listed = [p["name"] for p in _pages(http, client, {"region": region}, limit)]
        assert listed == ["ann", "Ann Smith", "anna Berg", "Zoë Adams", "Bob Stone"], (limit, listed)


def test_availability_sets_the_providers_one_time_zone(http, world):
    provider = world.provider()  # created in America/New_York
    windows = [{"weekday": 0, "start": "09:00", "end": "12:00"}]
    moved = http.put("/providers/me/availability", provider, {"timezone": "Europe/London", "windows": windows})
    assert moved.status == 200, moved.text
    me = http.get("/providers/me", provider).json
    assert me["timezone"] == "Europe/London" and me["availability"] == {"timezone": "Europe/London",
                                                                        "windows": windows}
    kept = http.put("/providers/me/availability", provider, {"windows": []})
    assert kept.status == 200 and kept.json["timezone"] == "Europe/London", kept.text
