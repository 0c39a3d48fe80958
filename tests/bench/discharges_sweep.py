"""Issue 11 bench: the daily `discharges` sweep reads only what is due.

Referral clients are written directly (batch writes of their profile with a referral plan and
their program's discharge timer): IDLE clients whose next look is weeks ahead (their timers sit in
the sparse `due` index, not yet due), and DUE clients whose discharge notice is due now. The sweep
is run through the app's scheduled function (an EventBridge event, as Lambda calls it) with 10
idle clients and again with 10,000, and DynamoDB items read per due client are compared: Query
ScannedCount + GetItem/BatchGetItem items, counted from the responses (botocore `after-call`).
Target: the same number at both sizes (the cost follows the due clients, not the clients in care).
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from tests.bench._support import median, record, result, stack

SMALL, LARGE = 10, 10_000
DUE = 10
RUNS = 3


def _event(at) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/haven-discharges"], "detail": {}}


class Context:
    function_name = "haven-discharges"
    aws_request_id = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:haven-discharges"

    def get_remaining_time_in_millis(self):
        return 300_000


def _client(client_id: str, first_access, next_look, now):
    """A referral client redeemed at `first_access`, and their discharge timer due at `next_look`."""
    from chalicelib.clock import iso
    from chalicelib.domain import referrals
    from chalicelib.store import discharges
    from chalicelib.store.models import UserModel

    referral_id = f"ref_{client_id[-12:]}"
    plan = {"kind": "referral", "live_credits": 4, "messaging_credits": 0, "session_price_cents": 0,
            "period_anchor": None, "referral_id": referral_id, "modalities": ["video"], "provider_kind": "therapist",
            "first_access": iso(first_access), "program_ends_at": iso(referrals.program_ends_at(first_access))}
    user = UserModel(client_id, role="client", email=f"{client_id}@example.com", name="Bench Client",
                     timezone="America/New_York", languages=["en"], created_at=iso(first_access), status="active",
                     region="US-NY", plan=plan)
    user.version = 1
    timer = discharges.new_timer(client_id, referral_id, next_look, now)
    timer.version = 1
    return user, timer


def _write(items) -> None:
    from chalicelib.store.models import TimerModel, UserModel

    with UserModel.batch_write() as users, TimerModel.batch_write() as timers:
        for user, timer in items:
            users.save(user)
            timers.save(timer)


def _fill(count: int, now, label: str) -> None:
    """Idle clients: redeemed a week ago, nothing due for weeks."""
    _write([_client(f"bench-idle-{label}-{i:05d}", now - timedelta(days=7), now + timedelta(days=16), now)
            for i in range(count)])


def _measure(app_module, now, label: str) -> tuple[float, float]:
    reads, calls = [], []
    for run_number in range(RUNS):
        first_access = now - timedelta(days=23)  # their no-first-booking notice is due now
        ids = [f"bench-due-{label}-{run_number}-{uuid.uuid4().hex[:6]}-{i}" for i in range(DUE)]
        _write([_client(client_id, first_access, now - timedelta(minutes=1), now) for client_id in ids])
        with record() as recording:
            outcome = app_module.discharges(_event(now), Context())
        if outcome.get("discharge_notices") != DUE:
            raise AssertionError(f"the sweep sent {outcome.get('discharge_notices')} of {DUE} due notices: {outcome}")
        reads.append(recording.items_read("dynamodb"))
        calls.append(len(recording.of("dynamodb")))
    return median(reads) / DUE, median(calls) / DUE


def run() -> list[dict]:
    stack()
    from tests.support.aws import reset_data

    reset_data()
    import app as app_module
    from chalicelib import wiring
    from chalicelib.clock import FixedClock
    from tests.bench._support import MONDAY_10_NEW_YORK

    wiring.reset()
    now = MONDAY_10_NEW_YORK.replace(hour=7)  # 02:00 in New York: when the daily rule fires
    wiring.override("clock", FixedClock(now))
    app_module.discharges(_event(now), Context())  # warm-up
    _fill(SMALL, now, "small")
    small_reads, small_calls = _measure(app_module, now, "small")
    _fill(LARGE - SMALL, now, "large")
    large_reads, large_calls = _measure(app_module, now, "large")
    return [result(f"discharges sweep, dynamodb items read per due client ({LARGE:,} idle + {DUE} due)", large_reads,
                   "items", baseline=small_reads, target=f"= {SMALL} idle", ok=large_reads == small_reads,
                   note=f"baseline: the same sweep with {SMALL} idle referral clients; dynamodb calls per due "
                        f"client {large_calls:.1f} ({small_calls:.1f} with {SMALL} idle)")]
