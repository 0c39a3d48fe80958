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
