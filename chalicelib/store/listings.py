"""Providers by licensed region: the index matching and the directory read candidates through.

One `ListingModel` item per active provider per licensed region (`region` = the licence as
written, `GB` or `GB-SCT`; `sk` = `<kind>#<provider id>`). A client in `GB-SCT` is covered by a
`GB-SCT` licence and by a bare `GB` one (SPEC §2), so candidates are two Queries: the region's
key and its country's key. What they read grows with the providers licensed there, never with
the network. The items are written and deleted in the same transaction as the provider's
licences (`stage`), and only while the provider is active.
"""
from __future__ import annotations

import heapq
from typing import Iterable, Iterator

from chalicelib.store.models import ListingModel
from chalicelib.store.unit_of_work import UnitOfWork

KINDS = ("psychiatrist", "therapist")  # sorted: `sk` order within a region


def sort_key(kind: str, provider_id: str) -> str:
    return f"{kind}#{provider_id}"


def keys_covering(region: str) -> list[str]:
    """The licence keys that cover a client's region: itself, and its bare country."""
    region = (region or "").strip().upper()
    if not region:
        return []
    country = region.split("-")[0]
    return [region] if country == region else [region, country]


def _normalised(regions: Iterable[str] | None) -> set[str]:
    return {r.strip().upper() for r in regions or () if r and r.strip()}


def stage(uow: UnitOfWork, provider_id: str, kind: str, before: Iterable[str] | None,
          after: Iterable[str] | None) -> None:
    """Add to `uow` the listing writes that take a provider from licences `before` to `after`
    (either may be empty: listing a new provider, unlisting a deactivated one)."""
    old, new = _normalised(before), _normalised(after)
    for region in sorted(new - old):
        uow.create(ListingModel(region, sort_key(kind, provider_id), provider_id=provider_id, kind=kind),
                   condition=ListingModel.sk.does_not_exist())
    for region in sorted(old - new):
        uow.delete(ListingModel(region, sort_key(kind, provider_id)))


def _stream(region: str, kind: str, after_id: str | None, page_size: int) -> Iterator[str]:
    if after_id:  # one sort-key condition per Query: `between` is inclusive, so the start is skipped
        condition = ListingModel.sk.between(sort_key(kind, after_id), f"{kind}$")  # `$` sorts right after `#`
    else:
        condition = ListingModel.sk.startswith(f"{kind}#")
    for item in ListingModel.query(region, condition, page_size=page_size):
        if item.provider_id != after_id:
            yield item.provider_id


def provider_ids(region: str, kinds: Iterable[str] | None = None, *, after_id: str | None = None,
                 page_size: int = 100) -> Iterator[str]:
    """Ids of the providers licensed to practise in `region` (exactly or by bare country), of
    `kinds` (default: every kind), in id order without repeats, after `after_id`. Lazy: a
    caller that stops early reads only what it used (plus a page)."""
    streams = [_stream(key, kind, after_id, page_size)
               for key in keys_covering(region) for kind in (tuple(kinds) if kinds else KINDS)]
    last = None
    for provider_id in heapq.merge(*streams):
        if provider_id != last:
            last = provider_id
            yield provider_id
