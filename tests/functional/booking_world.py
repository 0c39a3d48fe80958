"""Scenario helpers for the live-session tests: a client and a provider in one room, with a plan
and availability, and the times a test talks about (the clock starts Mon 2026-11-23 09:00Z)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# Provider in New York (UTC−5 in late November): available every day 09:00–17:00 local = 14:00–22:00Z.
EVERY_DAY = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)]
WED_10_NY = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)  # 54 h after the fixed clock


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Scene:
    client: object
    provider: object
    room_id: str


def scene(world, api, *, plan: dict | None = None, kind: str = "therapist", windows=None) -> Scene:
    client, provider, room_id = world.pair(kind=kind)
    reply = api.put("/providers/me/availability", provider,
                    {"timezone": "America/New_York", "windows": windows if windows is not None else EVERY_DAY})
    assert reply.status == 200, reply.json
    if plan is not False:
        world.plan(client, **(plan or {}))
    return Scene(client, provider, room_id)


def book(api, sc: Scene, starts_at: datetime = WED_10_NY, *, by: str = "client", modality: str = "video",
         expect: int = 201, **extra):
    if by == "client":
        body = {"provider_id": sc.provider.id, "modality": modality, "starts_at": z(starts_at), **extra}
        reply = api.post("/bookings", sc.client, body)
    else:
        body = {"client_id": sc.client.id, "modality": modality, "starts_at": z(starts_at), **extra}
        reply = api.post("/bookings", sc.provider, body)
    assert reply.status == expect, reply.json
    return reply.json


def credits(api, client) -> int:
    reply = api.get("/clients/me", client)
    assert reply.status == 200, reply.json
    return reply.json["credits"]["live"]


def outbox(template: str | None = None) -> list:
    """Recorded notices (test-only read of the whole outbox table)."""
    from chalicelib.store.models import NotificationModel

    return [n for n in NotificationModel.scan() if template is None or n.template == template]


def run_sweep(name: str, at: datetime) -> dict:
    from chalicelib.sweeps import run

    return run(name, {"time": z(at)})


def later(dt: datetime, **delta) -> datetime:
    return dt + timedelta(**delta)


# --- the authorization table's booking rows -------------------------------------------------------

def _ready(ctx) -> None:
    """Plan and availability for the table's client/provider pair (once), through the services."""
    if ctx.get("_booking_ready"):
        return
    from chalicelib import wiring
    from chalicelib.identity import Caller
    from chalicelib.services import ops, providers

    now = wiring.clock()()
    ops.set_plan(ctx["client"].id, {"kind": "subscription", "live_credits": 100,
                                    "period_anchor": datetime(2026, 11, 1).date()}, now)
    provider = ctx["provider"]
    providers.set_availability(Caller(provider.id, provider.email, "provider"),
                               {"timezone": "America/New_York", "windows": EVERY_DAY}, now)
    ctx["_booking_ready"] = True


def next_time(ctx) -> str:
    _ready(ctx)
    n = ctx.get("_slot", 0)
    ctx["_slot"] = n + 1
    return z(WED_10_NY + timedelta(days=n // 6, hours=n % 6))


def fresh_booking(ctx, by: str = "client") -> str:
    """A new booking of the table's pair (pending when the client books, confirmed when the provider does)."""
    from chalicelib import wiring
    from chalicelib.identity import Caller
    from chalicelib.services import bookings

    starts = next_time(ctx)
    from chalicelib.clock import parse_iso

    if by == "client":
        user, party = ctx["client"], {"provider_id": ctx["provider"].id}
    else:
        user, party = ctx["provider"], {"client_id": ctx["client"].id}
    command = bookings.NewBookingCommand(modality="video", starts_at=parse_iso(starts), **party)
    booking = bookings.create(Caller(user.id, user.email, by), command, wiring.clock()())
    ctx["booking_id"] = booking["id"]
    return booking["id"]


def booking_body(by: str = "client", body=None):
    """A row's body callable that first gives the caller a fresh booking to act on."""
    def make(ctx, who):
        fresh_booking(ctx, by)
        return body(ctx, who) if callable(body) else body
    return make


def new_booking_body(ctx, who):
    starts = next_time(ctx)
    if who in ("client", "other_client", "anonymous", "ops"):
        return {"provider_id": ctx["provider"].id, "modality": "video", "starts_at": starts}
    return {"client_id": ctx["client"].id, "modality": "video", "starts_at": starts}


def address(notice) -> str:
    """Where a recorded notice goes: a member recipient (`user:<id>`) is the profile's address now."""
    from chalicelib.store.models import UserModel

    if notice.to.startswith("user:"):
        return UserModel.get(notice.to[len("user:"):]).email
    return notice.to


def calendar_of(notice) -> str:
    """The `.ics` text the email channel sends with a recorded notice (made for its recipient)."""
    from chalicelib.services.bookings import notices

    return notices.calendar_attachment(notice.params["_ics"], address(notice),
                                       datetime(2026, 11, 23, 9, tzinfo=timezone.utc))["data"]
