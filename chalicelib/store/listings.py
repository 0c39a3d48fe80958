"""Providers by licensed region: the index matching and the directory read candidates through.

One `ListingModel` item per active provider per licensed region (`region` = the licence as
written, `GB` or `GB-SCT`; range key the provider id; `kind` beside it). A client in `GB-SCT` is
covered by a `GB-SCT` licence and by a bare `GB` one (SPEC §2), so candidates are two Queries:
the region's key and its country's key. What they read grows with the providers licensed there, never with
the network. The items are written and deleted in the same transaction as the provider's
licences (`stage`), and only while the provider is active.
"""
from __future__ import annotations

import heapq
from typing import Iterable, Iterator

from chalicelib.domain.matching import licences_covering
from chalicelib.store.models import ListingModel
from chalicelib.store.unit_of_work import UnitOfWork

KINDS = ("therapist", "psychiatrist")


def keys_covering(region: str) -> tuple[str, ...]:
    """The licence keys that cover a client's region: itself, and its bare country."""
    return licences_covering(region)


def _normalised(regions: Iterable[str] | None) -> set[str]:
    return {r.strip().upper() for r in regions or () if r and r.strip()}


def stage(uow: UnitOfWork, provider_id: str, kind: str, before: Iterable[str] | None,
          after: Iterable[str] | None, *, order: str | None = None, reorder: bool = False) -> None:
    """Add to `uow` the listing writes that take a provider from licences `before` to `after`
    (either may be empty: listing a new provider, unlisting a deactivated one). `order`: the
    provider's directory sort key, written on new items, and with `reorder` on the kept ones too
    (the provider's `accepting` changed)."""
    old, new = _normalised(before), _normalised(after)
    for region in sorted(new - old):
        uow.create(ListingModel(region, provider_id, kind=kind, order=order),
                   condition=ListingModel.provider_id.does_not_exist())
    for region in sorted(old - new):
        uow.delete(ListingModel(region, provider_id))
    if reorder and order:
        for region in sorted(old & new):
            uow.update(ListingModel(region, provider_id), [ListingModel.order.set(order)],
                       ListingModel.provider_id.exists())


def _stream(region: str, kinds: tuple[str, ...] | None, after_id: str | None, page_size: int) -> Iterator[str]:
    condition = ListingModel.provider_id > after_id if after_id else None
    kind_filter = ListingModel.kind.is_in(*kinds) if kinds else None
    for item in ListingModel.query(region, condition, filter_condition=kind_filter, page_size=page_size):
        yield item.provider_id


def _ordered_stream(region: str, kinds: tuple[str, ...] | None, after: str | None,
                    page_size: int) -> Iterator[tuple[str, str]]:
    condition = ListingModel.order > after if after else None
    kind_filter = ListingModel.kind.is_in(*kinds) if kinds else None
    for item in ListingModel.by_order.query(region, condition, filter_condition=kind_filter, page_size=page_size):
        yield item.order, item.provider_id


def providers_in_order(region: str, kinds: Iterable[str] | None = None, *, after: str | None = None,
                       page_size: int = 100) -> Iterator[tuple[str, str]]:
    """`(directory order, provider id)` of the providers licensed in `region` (exactly or by bare
    country), of `kinds`, in the directory's order without repeats, after the order key `after`:
    one Query of `by_order` per covering key, merged; lazy like `provider_ids`."""
    wanted = tuple(kinds) if kinds else None
    streams = [_ordered_stream(key, wanted, after, page_size) for key in keys_covering(region)]
    last = None
    for order, provider_id in heapq.merge(*streams):
        if order != last:
            last = order
            yield order, provider_id


def provider_ids(region: str, kinds: Iterable[str] | None = None, *, after_id: str | None = None,
                 page_size: int = 100) -> Iterator[str]:
    """Ids of the providers licensed to practise in `region` (exactly or by bare country), of
    `kinds` (default: every kind), in id order without repeats, after `after_id`: one Query per
    covering key, merged. Lazy: a caller that stops early reads only what it used (plus a page)."""
    wanted = tuple(kinds) if kinds else None
    streams = [_stream(key, wanted, after_id, page_size) for key in keys_covering(region)]
    last = None
    for provider_id in heapq.merge(*streams):
        if provider_id != last:
            last = provider_id
            yield provider_id
