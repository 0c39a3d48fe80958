"""The short version of `make soak` (issue 9): two simulated days across the New York DST change,
a handful of clients, the scheduler every 5 minutes with a 2-hour outage, a missed hour, replays of
the same and of an old moment and two runs at once, and the mail service down for 6 hours and for
30 minutes. Every promise is checked by the oracle in `tests/faults/sim.py`."""
from __future__ import annotations

import logging

import pytest

from tests.faults.sim import simulate, two_days


@pytest.fixture
def quiet_logs():
    """The lines of a thousand sweep runs and an outage's retries only slow the run down; the verdict
    says what failed."""
    from chalicelib.observability import logger

    level = logger.log_level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def test_two_days_under_faults_keep_every_promise(quiet_logs, clock):
    verdict = simulate(two_days())
    print(verdict)
    assert verdict.expected > 20 and verdict.runs > 1000, "the scenario exercised too little"
    assert verdict.dropped_expected > 0, "the outage made nothing moot: the scenario lost its point"
    assert verdict.ok, f"{verdict}\n{verdict.problems()}"
