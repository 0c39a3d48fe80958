"""Issue 4 benches: DynamoDB round trips of `POST /bookings`, and the reminders sweep's reads.

1. `POST /bookings` (a client's pending booking, and a provider's confirmed one), counted through
   botocore events on every client the app makes (tests.bench._support.instrument). Target: one
   transaction plus at most two reads, so ≤ 3 round trips; idempotency records and the outbox's
   delivery writes (lease + `sent`, per email) are counted apart (`_support.APART`, as in
   ddb_calls.py) and shown in the note. Baseline: 3 (1 + 2).
2. The reminders sweep over 10,000 future confirmed bookings (each with its reminder timers)
   with 10 due, against the same 10 due in an otherwise empty table. Items read per due item
   must be ≤ 1.0 and the same in both (issue 16): the sweep reads the due index only; each
   reminder carries its booking as confirmed and commits under a condition on its version.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.bench._support import APART, Api, Cognito, World, fixed_clock, record, result, stack

MONDAY_9Z = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
WED_10_NY = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
FUTURE = 10_000
LARGE = 100_000  # future bookings of the flatness check
DUE = 10


def _z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scene(api: Api, world: World):
    client, provider = world.client(), world.provider()
    room_id = world.room(client, provider)
    world.plan(client, live_credits=50)
    api.ok("PUT", "/providers/me/availability", provider,
           {"timezone": "America/New_York",
            "windows": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]})
    return client, provider, room_id


def _post_booking_round_trips(api: Api, world: World) -> list[dict]:
    client, provider, _room = _scene(api, world)
    out = []
    cases = (("client", client, {"provider_id": provider.id}, WED_10_NY),
             ("provider", provider, {"client_id": client.id}, MONDAY_9Z + timedelta(hours=6)))
    for who, user, body, starts in cases:
        with record() as rec:
            api.ok("POST", "/bookings", user, {**body, "modality": "video", "starts_at": _z(starts)},
                   headers={"Idempotency-Key": f"bench-{who}"}, expect=(201,))
        domain, apart = rec.dynamodb(APART)
        transactions = [c for c in domain if c.operation == "TransactWriteItems"]
        reads = [c for c in domain if c.operation in ("GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan")]
        others = [c.operation for c in domain if c not in transactions and c not in reads]
        value = len(domain)
        out.append(result(
            f"bookings.post_{who}_ddb_round_trips", value, "calls", baseline=3,
            target="<= 3: 1 transaction + <= 2 reads",
            ok=value <= 3 and len(transactions) == 1 and len(reads) <= 2 and not others,
            note=f"{len(transactions)} TransactWriteItems, reads {[c.operation for c in reads]}; apart: "
                 f"{len(apart)} ({', '.join(sorted({c.operation for c in apart}))}) idempotency + outbox delivery"))
    return out


def _future_bookings(room_id: str, client, provider, count: int, first: datetime, prefix: str) -> None:
    """`count` confirmed bookings with their reminder timers (carrying the booking, as a confirmation
    writes them), written directly."""
    from chalicelib.clock import iso, sortable
    from chalicelib.store import bookings as store
    from chalicelib.store.models import BookingModel, TimerModel

    def copy(booking_id: str, starts: datetime) -> dict:  # what a confirmation copies onto its reminders
        return {"client_id": client.id, "provider_id": provider.id, "room_id": room_id, "modality": "video",
                "series_id": booking_id, "created_at": iso(MONDAY_9Z), "created_by": "provider", "sequence": 0,
                "plan_kind": "subscription", "client_tz": "America/New_York", "provider_tz": "America/New_York",
                "starts_at": iso(starts), "ends_at": iso(starts + timedelta(minutes=45))}

    with BookingModel.batch_write() as bookings, TimerModel.batch_write() as timers:
        for n in range(count):
            starts = first + timedelta(minutes=30 * n)
            booking_id = f"bk_{prefix}_{n:06d}"
            bookings.save(BookingModel(
                booking_id, client_id=client.id, provider_id=provider.id, room_id=room_id, modality="video",
                status="confirmed", starts_at=sortable(starts), ends_at=sortable(starts + timedelta(minutes=45)),
                created_at=iso(MONDAY_9Z), created_by="provider", version=1, series_id=booking_id, sequence=0,
                plan_kind="subscription", credit={"bucket": "live#2026-11-01"}, claims=[],
                client_email=client.email, provider_email=provider.email, client_tz="America/New_York",
                provider_tz="America/New_York"))
            for which, due in (("long", starts - timedelta(hours=24)), ("short", starts - timedelta(minutes=10))):
                timer = store.timer(f"{booking_id}:v1:{which}", f"booking_reminder_{which}", store.REMINDER_KIND,
                                    due, booking_id, iso(MONDAY_9Z),
                                    {"booking_id": booking_id, "version": 1, "which": which,
                                     "booking": copy(booking_id, starts)})
                timer.version = 1  # as a confirmation's transaction writes it (batch writes set none)
                timers.save(timer)


def _sweep_reads(api: Api, world: World, future: int) -> tuple[int, int, int]:
    """(items read, reminders sent, DynamoDB calls) of one reminders run with DUE due + `future` not due."""
    from chalicelib.sweeps import run
    from tests.support.aws import reset_data

    reset_data()
    from chalicelib import wiring

    wiring.reset()
    fixed_clock(MONDAY_9Z)
    client, provider, room_id = _scene(api, world)
    at = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    # DUE bookings whose 24 h reminder is due at `at` (starts 24 h later, 30 min apart, all > 1 h ahead)...
    _future_bookings(room_id, client, provider, DUE, at + timedelta(hours=24) - timedelta(minutes=30 * (DUE - 1)),
                     "due")
    # ...and `future` more, starting well after the sweep's horizon.
    if future:
        _future_bookings(room_id, client, provider, future, at + timedelta(days=3), "future")
    with record() as rec:
        outcome = run("reminders", {"time": _z(at)})
    domain, _apart = rec.dynamodb(APART)
    return rec.items_read(), outcome.get("reminders_sent", 0), len(domain)


def _patient_emulator(read_timeout_seconds: int = 600) -> None:
    """moto walks the whole table for every index Query (DynamoDB reads only the index): at
    100,000 future bookings (their reminder timers and claims: ~400,000 items) one Query takes
    longer than the app's 10 s read timeout. This gives the emulator longer, for this process
    only (the counts measured are the same; the deployed settings are untouched)."""
    from pynamodb.models import Model

    from chalicelib.store import base, models

    base._CONNECTION["read_timeout_seconds"] = read_timeout_seconds
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, Model) and model is not Model and hasattr(model, "Meta"):
            model.Meta.read_timeout_seconds = read_timeout_seconds
            model._connection = None
    base._connection = None
    base._sessions.__dict__.clear()


def run() -> list[dict]:
    stack()
    fixed_clock(MONDAY_9Z)
    api = Api()
    world = World(api, Cognito(stack()))
    out = _post_booking_round_trips(api, world)
    empty_items, empty_sent, _ = _sweep_reads(api, World(api, Cognito(stack())), 0)
    full_items, full_sent, full_calls = _sweep_reads(api, World(api, Cognito(stack())), FUTURE)
    _patient_emulator()
    large_items, large_sent, large_calls = _sweep_reads(api, World(api, Cognito(stack())), LARGE)
    per_empty = empty_items / max(empty_sent, 1)
    per_full = full_items / max(full_sent, 1)
    per_large = large_items / max(large_sent, 1)
    out.append(result("bookings.reminders_items_read_per_due", per_full, "items/due", baseline=per_empty,
                      target="<= 1.0 and equal to the empty table",
                      ok=per_full <= 1.0 and per_full == per_empty and full_sent == DUE,
                      note=f"{FUTURE} future bookings, {full_sent} due reminders sent, {full_items} items read, "
                           f"{full_calls} DynamoDB calls; empty table: {empty_items} items for {empty_sent}"))
    per_due = (per_empty, per_full, per_large)
    out.append(result(f"bookings.reminders_items_read_per_due at 0 / {FUTURE:,} / {LARGE:,} future bookings",
                      per_large, "items/due", baseline=per_empty, target="<= 1.0, flat",
                      ok=max(per_due) <= 1.0 and len(set(per_due)) == 1 and large_sent == DUE,
                      note=" / ".join(f"{v:.2f}" for v in per_due) + f" ({DUE} due each; {large_calls} DynamoDB "
                           f"calls at {LARGE:,}: a transaction per reminder and the index Queries, one per shard "
                           "and kind)"))
    return out
