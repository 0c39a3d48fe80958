"""One unit of work: collect the writes of a change, then commit them in ONE transaction.

The idea of cosmicpython's unit of work and pretix's `OrderChangeManager`: a use case adds
creates, conditional updates and deletes (and outbox records) as it plans, and nothing is
written until `commit`. A refused condition becomes `Refused`, which the caller turns into
the domain error by reading again (never by the order of DynamoDB's cancellation reasons,
which PynamoDB reorders). This is the only place a `TransactWriteError` is caught.
"""
from __future__ import annotations

from typing import Any, Callable

from pynamodb.exceptions import TransactWriteError

from chalicelib.store.base import transact_write
from chalicelib.store.errors import condition_failed


class Refused(Exception):
    """A condition of the transaction did not hold: nothing was written."""


class UnitOfWork:
    def __init__(self) -> None:
        self._writes: list[Callable[[Any], None]] = []
        self.records: list = []  # outbox records written with the change, delivered after it

    def __len__(self) -> int:
        return len(self._writes)

    def create(self, item, condition=None) -> None:
        """Put a new item; by default only if no item has its key (PynamoDB models' hash key)."""
        if condition is None:
            condition = type(item)._hash_key_attribute().does_not_exist()
        self._writes.append(lambda tx: tx.save(item, condition=condition))

    def put(self, item) -> None:
        """Put an item whose model guards itself (a `VersionAttribute` makes it create-only)."""
        self._writes.append(lambda tx: tx.save(item))

    def update(self, item, actions: list, condition=None, **options) -> None:
        self._writes.append(lambda tx: tx.update(item, actions=actions, condition=condition, **options))

    def delete(self, item, condition=None, **options) -> None:
        self._writes.append(lambda tx: tx.delete(item, condition=condition, **options))

    def check(self, model, hash_key, condition) -> None:
        """A condition on an item the change does not write (a ConditionCheck)."""
        self._writes.append(lambda tx: tx.condition_check(model, hash_key, condition=condition))

    def record(self, notice) -> None:
        """An outbox record, created with the change (so it exists iff the change happened)."""
        self.records.append(notice)
        self.create(notice)

    def commit(self) -> None:
        if not self._writes:
            return
        try:
            with transact_write() as tx:
                for write in self._writes:
                    write(tx)
        except TransactWriteError as error:
            if condition_failed(error):
                raise Refused() from None
            raise
