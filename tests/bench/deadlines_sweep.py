"""Issue 3 bench (4): the `deadlines` sweep reads what is due, not the table.

The timers table is filled directly (batch writes of `TimerModel` items) with 10,000 reply
deadlines that must not be touched: half settled (no `due_kind`/`due_at`, so outside the sparse
`due` index) and half due in the future, plus 10 overdue ones. The sweep is then run through the
app's scheduled function (an EventBridge event, as Lambda calls it) and measured beside the same
run over a table holding only the 10 due deadlines:

- DynamoDB items read per due item: items returned by Query (ScannedCount), GetItem and
  BatchGetItem, counted from the responses through botocore `after-call` events, over the due
  items acted on. Target ≤ 1.0 (issue 16), and the same number as with the empty table and with
  LARGE (100,000) idle deadlines.
- wall time of the sweep (median of RUNS, each with 10 fresh due deadlines) beside the
  empty-table run. The emulator answers a GSI Query by walking every item of the table (moto
  keeps no index), which real DynamoDB does not; the item counts are the emulator-independent
  proof, the wall time shows what is left of the table size here.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from tests.bench._support import median, record, result, stack, timed

FILLER = 10_000
LARGE = 100_000  # idle items of the flatness check (items read only, one run)
DUE = 10
RUNS = 5
TARGET_ITEMS = 1.0
TARGET_RATIO = 1.5
KIND = "reply_deadline"


def _event(at) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/haven-deadlines"], "detail": {}}


class Context:
    function_name = "haven-deadlines"
    aws_request_id = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:haven-deadlines"

    def get_remaining_time_in_millis(self):
        return 300_000


def _provider(now) -> str:
    from chalicelib.clock import iso
    from chalicelib.store.models import UserModel

    provider_id = f"bench-provider-{uuid.uuid4().hex[:8]}"
    UserModel(provider_id, role="provider", email=f"{provider_id}@example.com", name="Dr. Bench", kind="therapist",
              timezone="America/New_York", languages=["en"], created_at=iso(now), active=True).save()
    return provider_id


def _timer(timer_id: str, provider_id: str, due, now, *, settled: bool = False):
    from chalicelib.clock import iso, sortable
    from chalicelib.store.models import TimerModel

    room_id = f"room_bench_{timer_id.rsplit('#', 1)[-1]}"
    timer = TimerModel(timer_id, kind=KIND, ref_id=room_id, created_at=iso(now - timedelta(days=2)), stage=0,
                       data={"provider_id": provider_id, "due_at": iso(due),  # as a deadline opened now carries
                             "escalate_at": iso(due + timedelta(days=1))})
    if settled:
        timer.settled_at = iso(now - timedelta(days=1))
    else:
        timer.due_kind, timer.due_at = KIND, sortable(due)
    return timer


def _write(timers) -> None:
    from chalicelib.store.models import TimerModel

    with TimerModel.batch_write() as batch:
        for timer in timers:
            batch.save(timer)


def _delete(ids) -> None:
    from chalicelib.store.models import TimerModel

    with TimerModel.batch_write() as batch:
        for timer_id in ids:
            batch.delete(TimerModel(timer_id))


def _fill(provider_id: str, now, first: int = 0, count: int = FILLER) -> None:
    timers = []
    for i in range(first, first + count):
        if i % 2:
            timers.append(_timer(f"reply#bench-settled#{i}", provider_id, now - timedelta(days=3), now, settled=True))
        else:  # due from one hour to ~two weeks ahead
            timers.append(_timer(f"reply#bench-future#{i}", provider_id, now + timedelta(hours=1, minutes=2 * i), now))
    _write(timers)


def _measure(app_module, provider_id: str, now, label: str, runs: int = RUNS) -> dict:
    """`runs` sweeps, each over DUE fresh overdue deadlines; items read and wall time per run."""
    reads, calls, walls, query_ms, scans = [], [], [], [], 0
    for run_number in range(runs):
        ids = [f"reply#bench-due-{label}-{run_number}-{uuid.uuid4().hex[:6]}#{i}" for i in range(DUE)]
        _write([_timer(timer_id, provider_id, now - timedelta(minutes=30 + i), now) for i, timer_id in enumerate(ids)])
        with record() as recording:
            wall, outcome = timed(lambda: app_module.deadlines(_event(now), Context()))
        if outcome.get("replies_overdue") != DUE:
            raise AssertionError(f"the sweep acted on {outcome.get('replies_overdue')} of {DUE} due deadlines: {outcome}")
        reads.append(recording.items_read("dynamodb"))
        calls.append(len(recording.of("dynamodb")))
        scans += sum(1 for c in recording.of("dynamodb") if c.operation == "Scan")
        walls.append(wall)
        query_ms.append(sum(c.ms for c in recording.of("dynamodb") if c.operation == "Query"))
        _delete(ids)  # they moved on to their ops escalation; keep the table as described
    return {"reads_per_due": median(reads) / DUE, "calls_per_due": median(calls) / DUE, "wall_ms": median(walls),
            "query_ms": median(query_ms), "rest_ms": median([w - q for w, q in zip(walls, query_ms)]),
            "scans": scans}


def run() -> list[dict]:
    stack()
    from tests.support.aws import reset_data

    reset_data()  # the same table sizes on every run, whatever ran before in this process
    import app as app_module
    from chalicelib import wiring
    from tests.bench._support import MONDAY_10_NEW_YORK

    wiring.reset()
    now = MONDAY_10_NEW_YORK + timedelta(hours=2)
    provider_id = _provider(now)
    app_module.deadlines(_event(now), Context())  # warm-up: clients, imports

    empty = _measure(app_module, provider_id, now, "empty")
    fill_ms, _ = timed(lambda: _fill(provider_id, now))
    full = _measure(app_module, provider_id, now, "full")
    large_fill_ms, _ = timed(lambda: _fill(provider_id, now, FILLER, LARGE - FILLER))
    large = _measure(app_module, provider_id, now, "large", runs=1)
    per_due = (empty["reads_per_due"], full["reads_per_due"], large["reads_per_due"])

    return [
        result(f"deadlines sweep, dynamodb items read per due item ({FILLER:,} settled or future + {DUE} due)",
               full["reads_per_due"], "items", baseline=empty["reads_per_due"],
               target=f"<= {TARGET_ITEMS} and = empty table",
               ok=full["reads_per_due"] <= TARGET_ITEMS and full["reads_per_due"] == empty["reads_per_due"],
               note=f"baseline: the same sweep over only the {DUE} due; dynamodb calls per due item "
                    f"{full['calls_per_due']:.1f} (empty table {empty['calls_per_due']:.1f})"),
        result(f"deadlines sweep, items read per due item at 0 / {FILLER:,} / {LARGE:,} idle items",
               large["reads_per_due"], "items", baseline=empty["reads_per_due"],
               target=f"<= {TARGET_ITEMS}, flat", ok=max(per_due) <= TARGET_ITEMS and len(set(per_due)) == 1,
               note=" / ".join(f"{v:.2f}" for v in per_due) + f" (the {LARGE - FILLER:,} more written in "
                    f"{large_fill_ms / 1000:.0f} s; one run at {LARGE:,}); each due item carries the provider id "
                    "and its escalation time; the email's address is read when it is sent (outbox, apart)"),
        result(f"deadlines sweep, wall time ({FILLER:,} settled or future + {DUE} due)", full["wall_ms"], "ms",
               baseline=empty["wall_ms"], target=f"<= {TARGET_RATIO}x", ok=full["wall_ms"] / empty["wall_ms"] <= TARGET_RATIO,
               note=f"median of {RUNS} runs; the {FILLER:,} items were written in {fill_ms / 1000:.1f} s; "
                    f"moto walks the whole table for a GSI Query, DynamoDB does not"),
        result(f"deadlines sweep, wall time outside the index Queries ({FILLER:,} + {DUE} due)", full["rest_ms"], "ms",
               baseline=empty["rest_ms"], target=f"<= {TARGET_RATIO}x",
               ok=full["rest_ms"] / empty["rest_ms"] <= TARGET_RATIO,
               note=f"the sweep's own work (reads of what is due, writes, email); its Query calls took "
                    f"{full['query_ms']:.0f} ms here vs {empty['query_ms']:.0f} ms over the empty table "
                    f"(the emulator's O(table) index walk)"),
        result("deadlines sweep, dynamodb Scan calls", empty["scans"] + full["scans"], "calls", target="0",
               ok=empty["scans"] + full["scans"] == 0),
    ]
