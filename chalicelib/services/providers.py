"""Providers: creation by ops, the directory, public and own profiles, availability; ops' list,
changes and deactivation (SPEC §2 "Matching and continuity of care").

A provider is listed (`store.listings`: one item per licensed region) while active; the listing
items move in the same transaction as the licences, so the directory's region filter and
matching read the providers licensed in a region through that index, never the whole network.

The directory's order is a person's: accepting new clients first, then by name (accents, case
and punctuation ignored), then by id; the sort key (`domain.profiles.directory_order`) is kept on
the profile and its listing items, rewritten in the transaction that changes `accepting`, and
the cursor is the last key read, so paging is stable.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import profiles
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger
from chalicelib.services.views import provider_ops, provider_private, provider_public
from chalicelib.store import care
from chalicelib.store import listings
from chalicelib.store import users as user_store
from chalicelib.store.models import UserModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork


def create(body: dict, now: datetime) -> dict:
    cognito = wiring.get("cognito")
    try:
        sub = cognito.create_provider(body["email"])
    except HavenError as error:
        # A retry after a half-finished create (Cognito user made, profile not written) completes it.
        if error.code != "already_exists":
            raise
        sub = cognito.find_sub(body["email"])
        if sub is None or user_store.get(sub) is not None:
            raise
        cognito.add_to_providers(body["email"])  # the step a crashed create may not have reached
    capacity = body.get("capacity")
    user = UserModel(
        sub, role="provider", email=body["email"], name=body["name"], kind=body["kind"],
        licensed_regions=body["licensed_regions"], languages=body["languages"], timezone=body["timezone"],
        focus_areas=body.get("focus_areas") or [], bio=body.get("bio"),
        years_experience=body.get("years_experience"),
        capacity=capacity if capacity is not None else wiring.settings().default_provider_capacity,
        country=body.get("country"), gender=body.get("gender"), accepting=True, active_clients=0,
        active=True, directory=user_store.ACTIVE_PROVIDER, created_at=iso(now),
        directory_order=profiles.directory_order(True, body["name"], sub),
        availability={"windows": []}, rating_sum=0, rating_count=0,
    )
    uow = UnitOfWork()
    uow.create(user)
    listings.stage(uow, sub, body["kind"], (), body["licensed_regions"], order=user.directory_order)
    try:
        uow.commit()
    except Refused:
        raise HavenError("A provider with this email exists already.", "already_exists")
    return provider_private(user, wiring.settings().default_working_hours)


def _listed_filters(user: UserModel, query: dict) -> bool:
    """The directory's filters other than the region, on a provider read through the listings."""
    return (user.role == "provider" and bool(user.active)
            and (not query.get("kind") or user.kind == query["kind"])
            and (not query.get("language") or query["language"] in (user.languages or []))
            and (not query.get("focus") or query["focus"] in (user.focus_areas or [])))


def _directory_in_region(query: dict, limit: int, start: str | None) -> tuple[list[UserModel], str | None]:
    """Providers licensed in the region (exactly or by bare country) through the listings index,
    in the directory's order: what it reads grows with the providers licensed there, not with
    the network."""
    kinds = [query["kind"]] if query.get("kind") else None
    ids = (provider_id for _order, provider_id in
           listings.providers_in_order(query["region"], kinds, after=start, page_size=limit + 1))
    found: list[UserModel] = []
    batch: list[str] = []

    def take(chunk: list[str]) -> None:
        users = user_store.get_many(chunk)
        for provider_id in chunk:
            user = users.get(provider_id)
            if user is not None and _listed_filters(user, query) and len(found) <= limit:
                found.append(user)

    for provider_id in ids:
        batch.append(provider_id)
        if len(batch) > limit - len(found):
            take(batch)
            batch = []
            if len(found) > limit:
                break
    if batch and len(found) <= limit:
        take(batch)
    more = len(found) > limit
    found = found[:limit]
    return found, (_order_of(found[-1]) if more and found else None)


def _order_of(user: UserModel) -> str:
    return user.directory_order or profiles.directory_order(user.accepting is not False, user.name, user.id)


def directory(query: dict) -> dict:
    condition = UserModel.active == True  # noqa: E712 (a PynamoDB condition, not a comparison)
    if query.get("language"):
        condition &= UserModel.languages.contains(query["language"])
    if query.get("kind"):
        condition &= UserModel.kind == query["kind"]
    if query.get("focus"):
        condition &= UserModel.focus_areas.contains(query["focus"])
    cursors = wiring.get("cursors")
    # "providers2": the cursor is an order key now (an older id cursor is refused, not misread)
    scope = "providers2:" + "|".join(f"{k}={query.get(k) or ''}" for k in ("region", "language", "kind", "focus"))
    start = cursors.decode(scope, query["next"]) if query.get("next") else None
    if start is not None and not isinstance(start, str):
        raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
    if query.get("region"):
        items, last = _directory_in_region(query, query["limit"], start)
    else:
        items, last = user_store.directory_page(query["limit"], start, condition)
    return {"items": [provider_public(u) for u in items],
            "next": cursors.encode(scope, last) if last else None}


def public_profile(provider_id: str) -> dict:
    user = user_store.get(provider_id)
    if user is None or user.role != "provider":
        raise NotFound("provider")
    return provider_public(user)


def own_profile(caller: Caller) -> dict:
    user = user_store.get(caller.id)
    if user is None or user.role != "provider":
        raise NotFound("provider profile")
    return provider_private(user, wiring.settings().default_working_hours)


def set_availability(caller: Caller, body: dict, now: datetime) -> dict:
    """Weekly availability and working hours, both wall-clock times in the provider's one time
    zone: the profile's `timezone`, which the body's `timezone` sets (omitted: unchanged). It is
    stored once, on the profile; the availability the answer shows carries it for reading only."""
    user = user_store.get(caller.id)
    if user is None or user.role != "provider":
        raise NotFound("provider profile")
    if body.get("timezone") and body["timezone"] != user.timezone:
        logger.info("provider time zone changed", extra={"provider_id": user.id})
        user.timezone = body["timezone"]
    user.availability = {"windows": body["windows"]}
    if body.get("working_hours") is not None:
        user.working_hours = body["working_hours"]
    user.updated_at = iso(now)
    user.save()
    return provider_private(user, wiring.settings().default_working_hours)


# --- ops: the providers with their caseloads, changes, deactivation --------------------------------

def _provider(provider_id: str) -> UserModel:
    user = user_store.get(provider_id)
    if user is None or user.role != "provider":
        raise NotFound("provider")
    return user


def _ops_view(user: UserModel) -> dict:
    s = wiring.settings()
    return provider_ops(user, s.default_working_hours, s.default_provider_capacity)


def ops_list(query: dict) -> dict:
    """`GET /ops/providers?active=`: active, inactive or all providers by id, with their caseloads."""
    active = query.get("active")
    partitions = {True: (user_store.ACTIVE_PROVIDER,), False: (user_store.INACTIVE_PROVIDER,)}.get(
        active, (user_store.ACTIVE_PROVIDER, user_store.INACTIVE_PROVIDER))
    cursors = wiring.get("cursors")
    scope = f"ops_providers:active={'' if active is None else str(active).lower()}"
    start = cursors.decode(scope, query["next"]) if query.get("next") else None
    if start is not None and not isinstance(start, str):
        raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
    items, last = user_store.providers_page(partitions, query["limit"], start)
    return {"items": [_ops_view(u) for u in items], "next": cursors.encode(scope, last) if last else None}


PATCHABLE = ("gender", "accepting", "capacity", "licensed_regions", "languages", "focus_areas")


def patch(provider_id: str, body: dict, now: datetime) -> dict:
    """`PATCH /ops/providers/{id}`: the fields given change; licences move the listing items in
    the same transaction (only while the provider is active: a deactivated one stays unlisted).
    Conditioned on the version read, so a concurrent change is read again and re-applied."""
    for _attempt in range(5):
        user = _provider(provider_id)
        actions = [getattr(UserModel, name).set(body[name]) if body[name] is not None
                   else getattr(UserModel, name).remove()
                   for name in PATCHABLE if name in body]
        if not actions:
            return _ops_view(user)
        order = profiles.directory_order(body["accepting"] is not False if "accepting" in body
                                         else user.accepting is not False, user.name, user.id)
        if order != user.directory_order:  # the directory's order follows `accepting`
            actions.append(UserModel.directory_order.set(order))
        uow = UnitOfWork()
        uow.update(user, actions + [UserModel.updated_at.set(iso(now))])
        if user.active and ("licensed_regions" in body or order != user.directory_order):
            listings.stage(uow, user.id, user.kind, user.licensed_regions,
                           body["licensed_regions"] if "licensed_regions" in body else user.licensed_regions,
                           order=order, reorder=order != user.directory_order)
        try:
            uow.commit()
        except Refused:
            continue
        logger.info("provider changed", extra={"provider_id": user.id, "fields": sorted(n for n in PATCHABLE if n in body)})
        for name in PATCHABLE:  # what the transaction wrote, without reading it again
            if name in body:
                setattr(user, name, body[name])
        user.directory_order = order
        return _ops_view(user)
    raise HavenError("This provider is being changed by someone else; try again.", "invalid_state",
                     details={"state": "busy"})


def deactivate(provider_id: str, now: datetime) -> dict:
    """`POST /ops/providers/{id}/deactivate`: at once out of the directory (no `provider`
    directory entry, no listing) and unbookable (`active` false); their clients are re-matched
    by the deadlines sweep (a due item, in the same transaction). Again: the same answer."""
    for _attempt in range(5):
        user = _provider(provider_id)
        if not user.active:
            return _ops_view(user)
        uow = UnitOfWork()
        uow.update(user, [UserModel.active.set(False), UserModel.directory.set(user_store.INACTIVE_PROVIDER),
                          UserModel.deactivated_at.set(iso(now)), UserModel.updated_at.set(iso(now))])
        listings.stage(uow, user.id, user.kind, user.licensed_regions, ())
        care.stage_deactivated(uow, user.id, now)
        try:
            uow.commit()
        except Refused:
            continue
        logger.info("provider deactivated", extra={"provider_id": user.id})
        wiring.publish("provider_deactivated", provider_id=user.id, now=now)  # open session requests end
        user.active, user.directory, user.deactivated_at = False, user_store.INACTIVE_PROVIDER, iso(now)
        return _ops_view(user)
    raise HavenError("This provider is being changed by someone else; try again.", "invalid_state",
                     details={"state": "busy"})
