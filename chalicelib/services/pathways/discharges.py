"""The daily `discharges` sweep (SPEC §2 "Discharges", §4): notices and discharges of referral
clients, as of the sweep's time.

Each referral client has one due item per program (`store.discharges`), due at the next moment
to look at them: when a notice is due, when a deadline is reached, or at once when their bookings
or requests changed (`programs.touch`). The sweep reads only those (the sparse `due` index), so
its cost follows the clients due, not the clients in care. For each it gathers the facts, asks
`domain.discharges` for the deadline, and in ONE transaction either records the notice (email and
room messages) with the timer moved to the deadline, or persists the discharge (status,
`{"reason","at"}`, remaining credits lapsed, client and provider told, rooms told) with the timer
settled, or moves the timer to the next moment. The timer's version is the condition, so two runs
act once, and a look made on old facts cannot push back a timer that facts moved meanwhile.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.domain import credits as policy
from chalicelib.domain import discharges as rules
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.services.pathways import notices, programs
from chalicelib.store import discharges as store
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.base import batch_get
from chalicelib.store.models import UserModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork


MAX_BATCHES = 50  # a daily run catches up on missed days batch by batch, within bounds


def sweep(now: datetime) -> dict:
    counts = {"discharge_notices": 0, "discharged": 0}
    batch = wiring.settings().sweep_batch
    for _ in range(MAX_BATCHES):
        due = list(store.due(now, batch))
        for timer in due:
            try:
                outcome = look(timer, now)
            except Refused:
                continue  # another run (or a touch) moved it meanwhile: it is looked at again
            if outcome in counts:
                counts[outcome] += 1
        if len(due) < batch:
            break
    return counts


def look(timer, now: datetime) -> str:
    """Act on one due client: `discharge_notices`, `discharged`, `rescheduled` or `stale`."""
    client = user_store.get(timer.ref_id)
    referral_id = (timer.data or {}).get("referral_id")
    prog = programs.program(client)
    uow = UnitOfWork()
    if prog is None or prog.get("referral_id") != referral_id or client.status == rules.DISCHARGED:
        store.stage_settle(uow, timer, "stale", now)  # the program ended otherwise (a new plan, a new code)
        uow.commit()
        return "stale"
    facts = programs.facts(client, now, timer=timer)
    found = rules.deadline(facts, now, **programs.days())
    if now >= found.at:
        rooms = room_store.for_client(client.id)
        providers = batch_get({UserModel: sorted({r.provider_id for r in rooms})})[UserModel] if rooms else {}
        plan = policy.Plan.from_dict(client.plan)
        store.stage_discharge(uow, client, found.reason, found.at, now, policy.program_bucket(plan),
                              plan.live_credits)
        store.stage_settle(uow, timer, "discharged", now)
        for record in notices.discharged(client, referral_id, found.reason, found.at, rooms, providers, now):
            uow.record(record)
        outcome = "discharged"
    elif rules.notice_due(found, now):
        store.stage_notice(uow, timer, found.notice_key, now, found.at)
        for record in notices.discharge_notice(client, found, room_store.for_client(client.id), now):
            uow.record(record)
        outcome = "discharge_notices"
    else:
        store.stage_reschedule(uow, timer, found.at if found.noticed else found.notice_at)
        outcome = "rescheduled"
    uow.commit()
    outbox.deliver_all(uow.records, now)
    if outcome != "rescheduled":
        metrics.add_metric(name="Discharged" if outcome == "discharged" else "DischargeNotice", unit="Count", value=1)
        logger.info("discharge step", extra={"client_id": client.id, "step": outcome, "reason": found.reason})
    return outcome
