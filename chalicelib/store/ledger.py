"""Credit usage counters and billing charges per client (the `ledger` table).

A usage counter is spent with a condition (`used < limit`) so concurrent spends can never
exceed the plan; the same condition items go into booking transactions.
"""
from __future__ import annotations

from chalicelib.store.models import LedgerModel

USAGE = "usage#"
CHARGE = "charge#"


def usage(client_id: str) -> dict[str, int]:
    """bucket -> credits used (`live#2026-11-05`, `live#all`, `messaging#all`)."""
    return {item.key[len(USAGE):]: int(item.used or 0)
            for item in LedgerModel.query(client_id, LedgerModel.key.startswith(USAGE))}


def usage_key(bucket: str) -> str:
    return USAGE + bucket


def spend_action(client_id: str, bucket: str, limit: int):
    """(model, actions, condition) for spending one credit of `bucket` when fewer than `limit` are used."""
    if limit <= 0:
        raise ValueError("a bucket with no credits cannot be spent; refuse before writing")
    item = LedgerModel(client_id, usage_key(bucket))
    return item, [LedgerModel.used.add(1)], LedgerModel.used.does_not_exist() | (LedgerModel.used < limit)


def return_action(client_id: str, bucket: str):
    item = LedgerModel(client_id, usage_key(bucket))
    return item, [LedgerModel.used.add(-1)], LedgerModel.used > 0


def charges(client_id: str) -> list[LedgerModel]:
    return list(LedgerModel.query(client_id, LedgerModel.key.startswith(CHARGE)))
