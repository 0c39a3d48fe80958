"""`make clock` moves only the local stack: anywhere the stage is not `local` (every deployed stage,
and these tests' `test` stage) the app ignores a clock file even when HAVEN_CLOCK_FILE names one."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import clock, settings, wiring
from tests.functional.conftest import Api, World

ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


@pytest.fixture
def moved_clock_file(tmp_path, monkeypatch):
    """A clock file that would put the clock 30 days ahead, named to this process."""
    path = tmp_path / "clock.json"
    path.write_text(json.dumps({"offset_seconds": 30 * 86400}))
    monkeypatch.setenv("HAVEN_CLOCK_FILE", str(path))
    clock.reset()
    yield path
    monkeypatch.delenv("HAVEN_CLOCK_FILE")
    clock.reset()


def test_the_app_ignores_the_clock_file_when_the_stage_is_not_local(moved_clock_file, chalice_client, cognito,
                                                                    ops_user):
    assert settings.get().stage == "test"
    assert wiring.clock() is clock.utc_now  # the real clock, not a test's FixedClock
    real = datetime.now(timezone.utc)
    assert abs(wiring.clock()() - real) < timedelta(seconds=5)
    assert clock.offset() == timedelta(0)

    # through a route that reads the clock: slots start 48 h from real now, not from 30 days on
    world = World(Api(chalice_client), cognito, ops_user)
    client, provider, _ = world.pair(timezone="UTC")
    assert world.api.put("/providers/me/availability", provider, {"timezone": "UTC", "windows": ALL_DAY}).status == 200
    slots = world.api.get(f"/providers/{provider.id}/slots", client)
    assert slots.status == 200, slots.json
    first = datetime.fromisoformat(slots.json["items"][0]["starts_at"].replace("Z", "+00:00"))
    assert real + timedelta(hours=47) <= first <= real + timedelta(hours=50)


def test_the_same_file_would_move_a_local_stage_clock(moved_clock_file):
    """The control: the file above is honoured where it is meant to be (stage `local`)."""
    source = clock.clock_file_for(stage="local")
    assert source is not None and source.offset() == timedelta(days=30)
    assert clock.clock_file_for(stage="test") is None
    assert clock.clock_file_for(stage="prod") is None
