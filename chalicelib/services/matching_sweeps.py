"""The deadlines sweep's continuity-of-care steps (SPEC §2 "Matching and continuity of care"): a
deactivated provider's clients re-matched (or left waiting), waiting clients tried again (ops told
once after 48 h), unfinished handovers finished. Each change is matching's one transaction
(`services.matching._commit`); each due item's failure is logged and left for the next run."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import parse_iso
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.services.matching import (DEACTIVATION, HAVEN, INTAKE, Move, _choose, _commit, _retrying, _scene,
                                          follow_up, needs_of)
from chalicelib.store import care, listings
from chalicelib.store import users as user_store
from chalicelib.store.models import RoomModel, TimerModel
from chalicelib.store.unit_of_work import Refused


def sweep_deactivations(now: datetime) -> int:
    """The clients of each deactivated provider, re-matched (or left waiting) one room at a time:
    found through the rooms' `by_provider` index, each handover conditioned on the room still
    being that provider's, so a replayed or overlapping run acts once per client. The due item
    is settled when the provider has no room left."""
    s = wiring.settings()
    moved = 0
    for timer in care.due(care.DEACTIVATED, now, s.sweep_batch):
        provider_id = timer.ref_id
        rooms = list(RoomModel.by_provider.query(provider_id, limit=s.sweep_batch))
        for room in rooms:
            if _each(_rematch, room.client_id, room.provider_kind, provider_id, now, ids={"room_id": room.id}):
                moved += 1
        if not rooms:
            care.settle(timer.id, "done", now, expect_due_at=timer.due_at)
    return moved


def _rematch(client_id: str, kind: str, gone_provider_id: str, now: datetime) -> bool:
    """One client of a deactivated provider: a new provider, or none and waiting."""
    def attempt(n: int) -> bool:
        client = user_store.get(client_id)
        if client is None:
            return False
        scene = _scene(client, kind, client.region, extra_ids=(gone_provider_id,))
        if scene.current is None or scene.current.id != gone_provider_id:
            return False  # handed over already (a replay, or another run)
        chosen = None
        if client.status != "discharged":  # a discharged client keeps the room to read, no new provider
            chosen = _choose(scene, needs_of(client, kind, with_name=False), now, exclude=(gone_provider_id,))
        to = scene.providers[chosen.provider_id] if chosen else None
        _commit(scene, Move(DEACTIVATION, HAVEN, to, chosen.reasons if chosen else ()), now)
        return True

    return bool(_retrying(attempt))


def sweep_waiting(now: datetime) -> dict:
    """Every waiting client is tried again; ops are told once about each one waiting 48 h."""
    s = wiring.settings()
    counts = {"waiting_matched": 0, "waiting_ops_told": 0}
    for timer in care.due(care.WAITING, now, s.sweep_batch):
        matched, told = _each(_retry_waiting, timer, now, ids={"timer_id": timer.id}) or (0, 0)
        counts["waiting_matched"] += matched
        counts["waiting_ops_told"] += told
    return counts


def _retry_waiting(timer: TimerModel, now: datetime) -> tuple[int, int]:
    """(matched, ops told) for one waiting item. Every write is conditioned on the item still
    being due at the time this run read, so overlapping or replayed runs act once."""
    s = wiring.settings()
    data = dict(timer.data or {})
    client = user_store.get(data.get("client_id") or timer.ref_id)
    kind = data.get("kind")
    if client is None or client.status == "discharged" or kind not in listings.KINDS:
        care.settle(timer.id, "dropped", now, expect_due_at=timer.due_at)
        return 0, 0
    scene = _scene(client, kind, client.region)
    scene.waiting = timer
    from_provider = data.get("from_provider_id")
    if scene.current is not None and scene.current.id != from_provider:
        care.settle(timer.id, "moot", now, expect_due_at=timer.due_at)  # ops assigned someone meanwhile
        return 0, 0
    needs = needs_of(client, kind, with_name=data.get("reason") == INTAKE)
    chosen = _choose(scene, needs, now, exclude=(from_provider,) if from_provider else ())
    if chosen is not None:
        try:
            _commit(scene, Move(data.get("reason") or INTAKE, HAVEN, scene.providers[chosen.provider_id],
                                chosen.reasons, expect_waiting_due=timer.due_at), now)
            return 1, 0
        except Refused:  # the place went meanwhile, or another run acted: try again next run
            pass
    told = 0
    since = parse_iso(data["since"]) if data.get("since") else now
    if not data.get("ops_told") and now - since >= timedelta(hours=s.waiting_ops_notice_hours):
        # Keyed by the client, the kind and the start of the wait: sent once, even across replays.
        told = int(outbox.send(f"waiting_ops#{client.id}#{kind}#{data.get('since')}", "care_waiting_ops",
                               s.ops_email, {"client_id": client.id, "provider_kind": kind,
                                             "since": data.get("since"), "reason": data.get("reason")}, now))
        data["ops_told"] = True
    care.move_on(timer, now + timedelta(minutes=s.match_retry_minutes), data)
    return 0, told


def sweep_followups(now: datetime) -> int:
    done = 0
    for timer in care.due(care.FOLLOWUP, now, wiring.settings().sweep_batch):
        if _each(follow_up, timer.id, dict(timer.data or {}), now, ids={"timer_id": timer.id}) is not False:
            done += 1
    return done


def _each(step, *args, ids: dict):
    """One due item's step: a failure is logged (ids only) and left for the next run, never
    stopping the others. Returns the step's result, or False when it failed."""
    try:
        return step(*args)
    except Exception as error:
        logger.exception("matching step failed", extra={**ids, "error": type(error).__name__})
        metrics.add_metric(name="MatchingStepFailed", unit="Count", value=1)
        return False
