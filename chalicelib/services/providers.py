"""Providers: creation by ops, the directory, public and own profiles, availability."""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.services.views import provider_private, provider_public
from chalicelib.store import users as user_store
from chalicelib.store.models import UserModel

DEFAULT_CAPACITY = 25


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
    user = UserModel(
        sub, role="provider", email=body["email"], name=body["name"], kind=body["kind"],
        licensed_regions=body["licensed_regions"], languages=body["languages"], timezone=body["timezone"],
        focus_areas=body.get("focus_areas") or [], bio=body.get("bio"),
        years_experience=body.get("years_experience"), capacity=body.get("capacity") or DEFAULT_CAPACITY,
        country=body.get("country"), active=True, directory="provider", created_at=iso(now),
        availability={"timezone": body["timezone"], "windows": []}, rating_sum=0, rating_count=0,
    )
    user.save(condition=UserModel.id.does_not_exist())
    return provider_private(user, wiring.settings().default_working_hours)


def directory(query: dict) -> dict:
    condition = UserModel.active == True  # noqa: E712 (a PynamoDB condition, not a comparison)
    if query.get("region"):
        condition &= UserModel.licensed_regions.contains(query["region"])
    if query.get("language"):
        condition &= UserModel.languages.contains(query["language"])
    if query.get("kind"):
        condition &= UserModel.kind == query["kind"]
    if query.get("focus"):
        condition &= UserModel.focus_areas.contains(query["focus"])
    cursors = wiring.get("cursors")
    scope = "providers:" + "|".join(f"{k}={query.get(k) or ''}" for k in ("region", "language", "kind", "focus"))
    start = cursors.decode(scope, query["next"]) if query.get("next") else None
    if start is not None and not isinstance(start, str):
        raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
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
    user = user_store.get(caller.id)
    if user is None or user.role != "provider":
        raise NotFound("provider profile")
    user.availability = {"timezone": body["timezone"], "windows": body["windows"]}
    user.timezone = body["timezone"]
    if body.get("working_hours") is not None:
        user.working_hours = body["working_hours"]
    user.updated_at = iso(now)
    user.save()
    return provider_private(user, wiring.settings().default_working_hours)
