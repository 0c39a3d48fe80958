"""How resources look on the wire: one place, so every route shows a resource the same way."""
from __future__ import annotations

from chalicelib import settings
from chalicelib.domain import ratings
from chalicelib.store.models import RoomModel, UserModel


def provider_public(user: UserModel) -> dict:
    # SPEC §2 Ratings: from 5 folded ratings on, the average to 1 decimal rounded half up.
    rating = ratings.display(ratings.Totals(int(user.rating_sum or 0), int(user.rating_count or 0)),
                             settings.get().rating_display_min)
    return {
        "id": user.id,
        "name": user.name,
        "kind": user.kind,
        "licensed_regions": list(user.licensed_regions or []),
        "languages": list(user.languages or []),
        "focus_areas": list(user.focus_areas or []),
        "bio": user.bio,
        "years_experience": int(user.years_experience) if user.years_experience is not None else None,
        "timezone": user.timezone,
        "gender": user.gender,
        "accepting": user.accepting is not False,
        "active": bool(user.active),
        "rating": rating,
    }


def provider_private(user: UserModel, default_working_hours) -> dict:
    view = provider_public(user)
    # one time zone per provider, the profile's: availability shows it, never stores its own
    availability = {"timezone": user.timezone, "windows": list((user.availability or {}).get("windows") or [])}
    view.update({
        "email": user.email,
        "country": user.country,
        "capacity": int(user.capacity) if user.capacity is not None else None,
        "availability": availability,
        "working_hours": user.working_hours or [
            {"weekday": d, "start": start, "end": end} for d, start, end in default_working_hours],
    })
    return view


def provider_ops(user: UserModel, default_working_hours, default_capacity: int) -> dict:
    """What ops see (`GET /ops/providers`, `PATCH`, deactivate): the provider with their caseload."""
    view = provider_private(user, default_working_hours)
    view.update({
        "capacity": int(user.capacity) if user.capacity is not None else default_capacity,
        "active_clients": int(user.active_clients or 0),
        "deactivated_at": user.deactivated_at,
    })
    return view


def room_summary(room: RoomModel) -> dict:
    return {"id": room.id, "client_id": room.client_id, "provider_id": room.provider_id,
            "provider_kind": room.provider_kind}
