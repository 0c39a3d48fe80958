"""Fault-injection tier (issue 9): the real code paths (routes through `chalice.test.Client`,
sweeps through `chalicelib.sweeps.run`) against the emulator, with faults injected from outside —
a mail service that fails on demand, a crash after any named AWS call, sweeps replayed, overlapped
and missed, a clock across a DST change — and every promise checked against an oracle computed
from the scenario and SPEC, never from Haven's own functions.

The functional tier's fixtures are shared (the emulator, empty tables and a fixed clock per test,
the API client, the world of users); this file adds the faults.
"""
from __future__ import annotations

import pytest

from tests.functional.conftest import *  # noqa: F401,F403 (the emulator first, then the app; shared fixtures)

from chalicelib import wiring  # noqa: E402
from tests.faults.faults import AWS_CALLS, FlakyMailer  # noqa: E402

AWS_CALLS.install()  # before any client of the app exists in this process (botocore copies handlers)


@pytest.fixture
def aws_calls():
    """Record the app's AWS calls, or crash after the Nth call of one (`AWS_CALLS.arm(Point(...))`)."""
    AWS_CALLS.install()
    yield AWS_CALLS
    AWS_CALLS.disarm()


@pytest.fixture
def mailer(clock):
    """A mail adapter that fails on demand (`.down`, `.outages`, `.fail_next`) and records what it sent,
    stamped with the test's clock (set it to a sweep's time before running the sweep)."""
    flaky = FlakyMailer(clock=clock)
    wiring.override("mailer", flaky)
    return flaky
