"""`make clock` (SPEC §5): the offset file, who honours it (the local stage only, never a deployed
function), what it costs a request, and the local scheduler following the moved clock.
The end-to-end proof over HTTP is tests/local/test_make_targets_on_a_running_stack.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from chalicelib import clock

ROOT = Path(__file__).resolve().parents[2]
UTC = timezone.utc


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def write(path: Path, seconds: float) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"offset_seconds": seconds}))
    tmp.replace(path)


def test_the_offset_file_is_looked_at_at_most_once_a_second_and_read_only_when_changed(tmp_path, monkeypatch):
    path = tmp_path / "clock.json"
    ticks = Ticks()
    source = clock.OffsetFile(path, monotonic=ticks)
    stats, reads = [], []
    real_stat, real_read = os.stat, Path.read_text
    monkeypatch.setattr(clock.os, "stat", lambda p, *a, **k: stats.append(p) or real_stat(p, *a, **k))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: reads.append(self) or real_read(self, *a, **k))

    assert source.offset() == timedelta(0)  # no file: real time
    write(path, 3 * 86400)
    for _ in range(1000):  # many requests within the same second: no file access at all
        assert source.offset() == timedelta(0)
    assert len(stats) == 1 and reads == []

    ticks.value += 1.0
    assert source.offset() == timedelta(days=3)
    assert len(stats) == 2 and len(reads) == 1
    ticks.value += 1.0
    assert source.offset() == timedelta(days=3)
    assert len(stats) == 3 and len(reads) == 1  # unchanged: a stat, no read

    write(path, -60)
    ticks.value += 1.0
    assert source.offset() == timedelta(seconds=-60)
    path.unlink()
    ticks.value += 1.0
    assert source.offset() == timedelta(0)  # `make clock TIME=now` removes the file


def test_an_unreadable_clock_file_counts_as_real_time(tmp_path):
    path = tmp_path / "clock.json"
    path.write_text("{not json")
    assert clock.OffsetFile(path).offset() == timedelta(0)
    path.write_text(json.dumps({"something": 1}))
    assert clock.OffsetFile(path).offset() == timedelta(0)


def test_only_the_local_stage_outside_lambda_honours_the_file(tmp_path):
    path = tmp_path / "clock.json"
    write(path, 86400)
    env = {"HAVEN_CLOCK_FILE": str(path)}
    assert clock.clock_file_for(env, stage="local").offset() == timedelta(days=1)
    for stage in ("prod", "dev", "test", "staging"):
        assert clock.clock_file_for(env, stage=stage) is None, stage
    assert clock.clock_file_for({**env, "AWS_LAMBDA_FUNCTION_NAME": "haven-local-APIHandler"}, stage="local") is None
    assert clock.clock_file_for({}, stage="local") is None  # no file named: nothing to read


@pytest.mark.parametrize("stage, extra, moved", [
    ("local", {}, True),
    ("prod", {}, False),
    ("dev", {}, False),
    ("local", {"AWS_LAMBDA_FUNCTION_NAME": "haven-prod-APIHandler"}, False),
])
def test_a_process_reads_its_stage_from_settings_and_moves_only_on_local(tmp_path, stage, extra, moved):
    path = tmp_path / "clock.json"
    write(path, 30 * 86400)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_"))}
    env.update(HAVEN_STAGE=stage, HAVEN_CLOCK_FILE=str(path), **extra)
    out = subprocess.run([sys.executable, "-c", "from chalicelib.clock import utc_now; print(utc_now().isoformat())"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    ahead = datetime.fromisoformat(out.strip()) - datetime.now(UTC)
    assert (ahead > timedelta(days=29)) is moved, (stage, extra, ahead)


def test_no_deployed_configuration_names_a_clock_file():
    """Only infra/local.py sets HAVEN_CLOCK_FILE; the template and the chalice config never do (the
    packaged template is checked in tests/infra/test_template.py)."""
    assert "HAVEN_CLOCK_FILE" not in (ROOT / "infra" / "resources.json").read_text()
    assert "HAVEN_CLOCK_FILE" not in (ROOT / ".chalice" / "config.json").read_text()
    assert "HAVEN_CLOCK_FILE" not in (ROOT / "infra" / "resources.py").read_text()


def test_make_clock_times_parse_as_absolute_relative_or_now():
    from infra.clock import target_offset

    real = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert target_offset("2026-12-04T09:00:00Z", 0, real) == (3 * 86400, datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    assert target_offset("2026-12-04T10:00:00+01:00", 0, real)[0] == 3 * 86400
    assert target_offset("+3d", 3600, real) == (3 * 86400 + 3600, datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    assert target_offset("-90m", 0, real)[0] == -5400
    assert target_offset("now", 86400, real) == (0.0, None)
    for bad in ("2026-12-04T09:00:00", "tomorrow", "+3w"):
        with pytest.raises(ValueError):
            target_offset(bad, 0, real)


def test_make_clock_needs_a_running_stack(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_", "MAKE", "MFLAGS"))}
    env["HAVEN_STACK_FILE"] = str(tmp_path / "stack.json")
    result = subprocess.run(["make", "-s", "-C", str(ROOT), "clock", "TIME=+1d"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "start the local stack with `make run` first" in result.stderr


def test_the_local_scheduler_follows_the_clock_forward_and_back():
    import logging

    from chalice.app import ScheduledEventConfig

    from infra.local import Scheduler

    now = {"at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC)}
    fired, replanned = threading.Event(), threading.Event()
    seen = []

    def tick(event, context):
        seen.append(event["time"])
        fired.set()

    class FakeApp:
        event_sources = [ScheduledEventConfig("tick", "app.tick", "rate(5 minutes)", "")]
        handler_map = {"tick": tick}

    class Replanned(logging.Handler):
        def emit(self, record):
            if "went back" in record.getMessage():
                replanned.set()

    logger = logging.getLogger("haven.local")
    handler, level = Replanned(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    scheduler = Scheduler(FakeApp(), "us-east-1", now=lambda: now["at"])
    scheduler.start()
    try:
        assert not fired.wait(0.3)
        now["at"] += timedelta(days=3)  # `make clock TIME=+3d`: the overdue turn fires once, as of then
        assert fired.wait(30)
        fired.clear()
        now["at"] -= timedelta(days=3)  # `make clock TIME=now`: planned again from the earlier time
        assert replanned.wait(30)
        assert not fired.is_set()
        now["at"] += timedelta(minutes=5)
        assert fired.wait(30)  # not three days later
    finally:
        scheduler.stop(timeout=5)
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert seen == ["2026-11-26T09:00:00Z", "2026-11-23T09:05:00Z"]
