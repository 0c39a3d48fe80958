"""Infra tests: the template, the tables it declares, and the emulator provisioning.

The shared emulator is started before anything imports `chalicelib.store` (whose table
metadata is read at import), so these tests can run in one process with the functional ones.
"""
from tests.support.aws import ensure_stack

STACK = ensure_stack()
