"""Issue 13 bench: candidates are read by index, not by scanning the directory.

`PUT /clients/me/intake` (a real token, in-process) matches a New York client among the 10
providers licensed in `US-NY`. It is measured twice: with only those 10 in the network, and with
10,000 more providers licensed elsewhere (`GB`, written directly with their listing items, as
`POST /ops/providers` writes them). DynamoDB items read per match (Query ScannedCount + GetItem +
BatchGetItem items, counted through botocore events) must be the same in both: what a match reads
grows with the candidates in the client's region, never with the network. The directory's region
filter (`GET /providers?region=US-NY`) reads the same index and is measured the same way.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from tests.bench._support import Api, Cognito, World, fixed_clock, median, record, result, stack, timed

IN_REGION = 10
ELSEWHERE = 10_000
CLIENTS = 5
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
INTAKE = {"region": "US-NY", "languages": ["en"], "provider_kind": "therapist", "focus_areas": ["anxiety"]}


def _providers(count: int, region: str, prefix: str) -> None:
    """`count` active therapists licensed in `region`, with their listing items (batch writes)."""
    from chalicelib.clock import iso
    from chalicelib.domain.profiles import directory_order
    from chalicelib.store.models import ListingModel, UserModel

    with UserModel.batch_write() as users, ListingModel.batch_write() as listed:
        for n in range(count):
            provider_id = f"{prefix}-{n:05d}-{uuid.uuid4().hex[:6]}"
            order = directory_order(True, f"Dr. {prefix} {n}", provider_id)  # as providers.create writes it
            users.save(UserModel(
                provider_id, role="provider", email=f"{provider_id}@example.com", name=f"Dr. {prefix} {n}",
                kind="therapist", licensed_regions=[region], languages=["en"], timezone="America/New_York",
                focus_areas=["anxiety"] if n % 3 == 0 else ["grief"], capacity=1000, active_clients=0, accepting=True,
                active=True, directory="provider", directory_order=order, created_at=iso(NOW), rating_sum=0,
                rating_count=0))
            listed.save(ListingModel(region, provider_id, kind="therapist", order=order))


def _measure(api: Api, world: World) -> dict:
    reads, calls, scans, wall, directory_reads, by_operation, rest = [], [], 0, [], [], {}, []
    for _ in range(CLIENTS):
        client = world.client()
        with record() as rec:
            ms, answer = timed(lambda: api.ok("PUT", "/clients/me/intake", client, INTAKE))
        if answer["status"] != "matched":
            raise AssertionError(f"not matched: {answer}")
        reads.append(rec.items_read("dynamodb"))
        calls.append(len(rec.of("dynamodb")))
        scans += sum(1 for c in rec.of("dynamodb") if c.operation == "Scan")
        wall.append(ms)
        emulated = sum(c.ms for c in rec.of("dynamodb") if c.operation in ("TransactWriteItems", "Query"))
        rest.append(ms - emulated)
        for call in rec.of("dynamodb"):
            by_operation.setdefault(call.operation, []).append(call.ms)
        with record() as rec:
            api.ok("GET", "/providers?region=US-NY&limit=5", client)
        directory_reads.append(rec.items_read("dynamodb"))
    return {"reads": median(reads), "calls": median(calls), "scans": scans, "wall": median(wall),
            "directory": median(directory_reads), "rest": median(rest),
            "ms": {op: sum(v) / CLIENTS for op, v in sorted(by_operation.items())}}


def run() -> list[dict]:
    stack()
    from tests.support.aws import reset_data

    reset_data()
    from chalicelib import wiring

    wiring.reset()
    fixed_clock(NOW)
    api = Api()
    world = World(api, Cognito(stack()))
    _providers(IN_REGION, "US-NY", "ny")
    small = _measure(api, world)
    fill_ms, _ = timed(lambda: _providers(ELSEWHERE, "GB", "gb"))
    large = _measure(api, world)
    return [
        result(f"matching, dynamodb items read per match ({IN_REGION} in the region + {ELSEWHERE:,} elsewhere)",
               large["reads"], "items", baseline=small["reads"], target="= the network of 10 (flat)",
               ok=large["reads"] == small["reads"],
               note=f"median of {CLIENTS} intakes each; baseline: only the {IN_REGION} providers of the region; "
                    f"{large['calls']:.0f} dynamodb calls per intake; the {ELSEWHERE:,} were written in "
                    f"{fill_ms / 1000:.1f} s"),
        result(f"directory ?region=US-NY&limit=5, dynamodb items read ({ELSEWHERE:,} elsewhere)", large["directory"],
               "items", baseline=small["directory"], target="= the network of 10 (flat)",
               ok=large["directory"] == small["directory"]),
        result(f"matching, intake wall time ({ELSEWHERE:,} elsewhere)", large["wall"], "ms", baseline=small["wall"],
               target="<= 1.5x", ok=large["wall"] / small["wall"] <= 1.5,
               note="in-process API on moto; dynamodb ms per intake by operation: "
                    + ", ".join(f"{op} {ms:.0f}" for op, ms in large["ms"].items())
                    + " (network of 10: " + ", ".join(f"{op} {ms:.0f}" for op, ms in small["ms"].items()) + ")"),
        result(f"matching, intake wall time outside the Query and transaction calls ({ELSEWHERE:,} elsewhere)",
               large["rest"], "ms", baseline=small["rest"], target="<= 1.5x",
               ok=large["rest"] / small["rest"] <= 1.5,
               note="median of the intakes; moto walks every item of a table for a Query and copies every table "
                    "a transaction touches as its rollback snapshot (the users table holds the 10,000): "
                    "DynamoDB does neither, which is what the item counts show"),
        result("matching, dynamodb Scan calls", small["scans"] + large["scans"], "calls", target="0",
               ok=small["scans"] + large["scans"] == 0),
    ]
