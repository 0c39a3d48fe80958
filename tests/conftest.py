"""Session-wide fixtures, kept light: nothing here starts the AWS emulator by itself.

Directories whose tests use AWS (functional/, local/, infra/) call
`tests.support.aws.ensure_stack()` in their own conftest at import time, before `app` or
`chalicelib.store` is imported (settings are read at import). Unit tests never touch it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def aws_stack():
    """The provisioned emulator of this test process (see tests/support/aws.py); stopped at the end."""
    from tests.support import aws

    stack = aws.ensure_stack()
    yield stack
    aws.shutdown()


# The long tests first (the fault tier's simulated days, the local stack and browser tests, the
# schemathesis run), so that on CI's 2 workers (`-n 2 --dist worksteal`, Makefile) the short ones
# fill in around them instead of one worker finishing alone. Stable: order within a group is kept.
_LONG_FIRST = ("tests/faults/", "tests/local/", "tests/functional/test_openapi_fuzz.py")


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(_LONG_FIRST))
