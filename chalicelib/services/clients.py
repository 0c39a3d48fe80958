"""Client profiles: registration (adults only) and `GET /clients/me`."""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import iso
from zoneinfo import ZoneInfo

from chalicelib.domain import profiles
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.services import credits as credit_service
from chalicelib.services.views import room_summary
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.models import UserModel


def register(caller: Caller, body: dict, now: datetime) -> dict:
    s = wiring.settings()
    local_today = now.astimezone(ZoneInfo(body["timezone"])).date()
    if not profiles.is_adult(body["date_of_birth"], local_today, s.minimum_age_years):
        raise HavenError(f"Haven is for adults: you must be {s.minimum_age_years} or older.", "too_young")
    user = user_store.get(caller.id)
    if user is not None and user.role != "client":
        raise HavenError("This account is not a client account.", "forbidden")
    if user is None:
        user = UserModel(caller.id, role="client", email=caller.email, created_at=iso(now), status="active")
    user.email = caller.email or user.email
    user.email_key = user_store.email_key(user.email)
    user.name = body["name"]
    user.date_of_birth = body["date_of_birth"].isoformat()
    user.timezone = body["timezone"]
    user.region = body["region"]
    user.languages = body["languages"]
    user.updated_at = iso(now)
    if body.get("referral_code") is not None:  # checked first: a bad code refuses the whole registration
        from chalicelib.services.pathways import referrals

        referrals.register_with_code(user, body["referral_code"], now)
    else:
        user.save()  # the version attribute refuses a concurrent overwrite
    return me(caller, now, user=user)


def me(caller: Caller, now: datetime, user: UserModel | None = None) -> dict:
    user = user or user_store.get(caller.id)
    if user is None or user.role != "client":
        raise NotFound("client profile (register with POST /clients/me first)")
    rooms = room_store.for_client(user.id)
    from chalicelib.services.pathways import programs

    status, discharge = programs.status(user, now)  # by the clock (SPEC §2 Discharges)
    credits = credit_service.credits_now(user, now)
    if discharge is not None:
        credits = {"live": 0, "messaging": 0}  # remaining credits lapse at discharge
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "date_of_birth": user.date_of_birth,
        "timezone": user.timezone,
        "region": user.region,
        "languages": list(user.languages or []),
        "plan": user.plan,
        "credits": credits,
        "status": status,
        "discharge": discharge,
        "rooms": [room_summary(room) for room in rooms],
    }
