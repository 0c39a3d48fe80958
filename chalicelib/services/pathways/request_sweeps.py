"""The sweeps' session-request steps, as of the sweep's time: requests past `respond_by` expire
and proposals past `accept_by` lapse (deadlines), and the nudges go out (reminders). Each due item
is read once with its request, planned, and committed with the item settled in the same change,
so two runs (or a run and a request that got there first) act once."""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import request_plans as rp
from chalicelib.domain import session_requests as sr
from chalicelib.services.bookings.commit import commit
from chalicelib.services.pathways import requests
from chalicelib.store import bookings as booking_store
from chalicelib.store import session_requests as store


def _skip(t) -> plans.Change:
    return plans.Change("skipped", None, (plans.SettleTimer(t.id, "skipped", int(t.version)),))


def end_due(now: datetime) -> dict:
    """Requests nobody answered by `respond_by` → `expired`; proposals not accepted by `accept_by`
    → `lapsed`: held times released, the client told."""
    counts = {"requests_expired": 0, "requests_lapsed": 0}
    for t in list(booking_store.due_timers(booking_store.REQUEST_DEADLINE_KIND, now, wiring.settings().sweep_batch)):
        data = t.data or {}
        req = store.find(data.get("request_id", t.ref_id))
        change = None
        if req is not None and req.version == int(data.get("version", -1)):
            change = rp.plan_by_clock(req, now, t.id, int(t.version))
        if change is None:
            commit(_skip(t), now)
            continue
        if requests._commit(change, now, requests.people(req.client_id, req.provider_id)):
            counts["requests_expired" if change.action == sr.EXPIRED else "requests_lapsed"] += 1
    return counts


def nudge_due(now: datetime) -> dict:
    """The provider 24 h before `respond_by`, the client 12 h before `accept_by`, once each."""
    sent = 0
    for t in list(booking_store.due_timers(booking_store.REQUEST_NUDGE_KIND, now, wiring.settings().sweep_batch)):
        data = t.data or {}
        req = store.find(data.get("request_id", t.ref_id))
        change = rp.plan_nudge(req, t.id, data.get("purpose"), int(data.get("version", -1)), now, int(t.version))
        who = requests.people(req.client_id, req.provider_id) if change.notices else {}
        if requests._commit(change, now, who) and change.action == "nudged":
            sent += 1
    return {"request_nudges_sent": sent}
