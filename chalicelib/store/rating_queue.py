"""The rating queue (SPEC §2 Ratings): scores waiting, by provider, with nothing else.

A queue item is `(shard, "<provider id>#<random>")` with the provider id and the score: no
client id, no booking id, no time, no sequence. The shard is derived from the provider id, so one
provider's scores sit together and the daily sweep reads each shard with one Query (never a
Scan); the random part is 128 bits from `secrets`, unrelated to anything else stored.
"""
from __future__ import annotations

import hashlib
import secrets

from chalicelib.store.models import RatingQueueModel, UserModel
from chalicelib.store.unit_of_work import UnitOfWork


def shard_of(provider_id: str, shards: int) -> str:
    digest = hashlib.sha256(provider_id.encode()).digest()
    return f"rq{int.from_bytes(digest[:4], 'big') % shards}"


def shard_names(shards: int) -> list[str]:
    return [f"rq{n}" for n in range(shards)]


def new_item(provider_id: str, score: int, shards: int) -> RatingQueueModel:
    return RatingQueueModel(shard_of(provider_id, shards), f"{provider_id}#{secrets.token_hex(16)}",
                            provider_id=provider_id, score=score)


def waiting(shard: str) -> dict[str, list[RatingQueueModel]]:
    """The shard's waiting scores, by provider (strongly consistent)."""
    by_provider: dict[str, list[RatingQueueModel]] = {}
    for item in RatingQueueModel.query(shard, consistent_read=True):
        by_provider.setdefault(item.provider_id, []).append(item)
    return by_provider


def stage_fold(uow: UnitOfWork, provider_id: str, items: list[RatingQueueModel]) -> None:
    """Remove the folded scores (each only if still waiting) and add them to the provider's
    totals, in one transaction. The provider item's version moves on, so a concurrent
    whole-item save of the profile fails instead of writing back old totals."""
    for item in items:
        uow.delete(RatingQueueModel(item.shard, item.id), RatingQueueModel.id.exists())
    provider = UserModel(provider_id)
    provider.version = 0  # any number: with no version condition PynamoDB then adds 1 to the stored one
    uow.update(provider, [UserModel.rating_sum.add(sum(int(i.score) for i in items)),
                          UserModel.rating_count.add(len(items))],
               UserModel.id.exists(), add_version_condition=False)
