"""The pre-session questionnaire, its risk alert, and measures over time (SPEC §2 "Clinical record").

Submitting is ONE transaction: the sealed answers (created once), the booking's marks
(`questionnaire_at`, and `risk_flag` when PHQ-9 item 9 is above 0) and, on risk, the urgent email
to the booking's provider (an outbox record) and the 1-hour acknowledgement deadline (a due item
of the deadlines sweep). So the answers are never stored without their alert, and the alert is
delivered right after the commit (retried by the sweep if that fails).

The acknowledgement is an append-only entry created once (a retry answers the first one) in the
same transaction that takes the deadline out of the due index; the sweep tells ops in the same
transaction that settles the deadline, so ops hear at most once, and never after an
acknowledgement that committed first.

Only answers are stored (sealed); scores, bands and risk are recomputed from them by
`domain.questionnaires`, so what a reader sees is always the published scoring.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso, parse_iso
from chalicelib.domain import crisis
from chalicelib.domain import questionnaires as rules
from chalicelib.domain.errors import DomainError
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.services.clinical.common import booking_for, log_read, room_key, seal, status_now, unseal
from chalicelib.store import bookings as booking_store
from chalicelib.store import clinical as store
from chalicelib.store import rooms as room_store
from chalicelib.store.base import batch_get
from chalicelib.store.models import ClinicalModel, RoomModel, UserModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork

PURPOSE = "questionnaire"


def _assessment(item: ClinicalModel, key_blob: bytes | None = None) -> rules.Assessment:
    answers = json.loads(unseal(item, PURPOSE, key_blob))
    return rules.assess(answers[rules.PHQ9], answers[rules.GAD7])


def _view(booking_id: str, submitted_at: str, assessment: rules.Assessment, region: str | None) -> dict:
    out = {"booking_id": booking_id, "submitted_at": iso(parse_iso(submitted_at)), **assessment.as_dict()}
    if assessment.risk:
        out["crisis_resources"] = crisis.resources_for(region)
    return out


# --- submitting --------------------------------------------------------------------------------

def submit(caller: Caller, booking_id: str, phq9, gad7, now: datetime) -> dict:
    """PUT /bookings/{id}/questionnaire: once, from confirmation until the session's end."""
    b = booking_for(caller, booking_id)
    if caller.id != b.client_id:
        raise NotFound("booking")
    assessment = rules.assess(phq9, gad7)
    rules.check_can_submit(status_now(b, now), b.ends_at, now, submitted=b.questionnaire_submitted)
    s = wiring.settings()
    client = provider = None
    if assessment.risk:  # both profiles (region, address) and the room's key in one read
        found = batch_get({UserModel: [b.client_id, b.provider_id], RoomModel: [b.room_id]})
        client, provider = found[UserModel].get(b.client_id), found[UserModel].get(b.provider_id)
        room = found[RoomModel].get(b.room_id)
        key_blob = room.key_blob if room is not None else None
    else:
        key_blob = room_key(b.room_id)
    uow = UnitOfWork()
    body = seal(b.room_id, b.id, PURPOSE, json.dumps({rules.PHQ9: list(phq9), rules.GAD7: list(gad7)}), key_blob)
    item = store.new_entry(b.id, store.QUESTIONNAIRE, client_id=b.client_id, room_id=b.room_id,
                           author_id=caller.id, now=now, body=body)
    uow.create(item, store.create_condition())
    store.stage_booking_marks(uow, b.id, b.version, questionnaire_at=iso(now), risk_flag=assessment.risk)
    if assessment.risk:
        # The urgent email names the booking only: no scores, no answers (SPEC §2 Risk).
        if provider is not None:
            uow.record(outbox.record(f"risk:{b.id}:provider", "risk_questionnaire_provider", provider.email,
                                     {"booking_id": b.id, "ack_minutes": s.risk_ack_minutes}, now))
        uow.put(store.timer(store.risk_ack_timer_id(b.id), store.RISK_ACK_KIND, b.id,
                            now + timedelta(minutes=s.risk_ack_minutes), now,
                            {"booking_id": b.id, "provider_id": b.provider_id}))
    try:
        uow.commit()
    except Refused:
        raise _submit_refused(b.id, now) from None
    outbox.deliver_all(uow.records, now)
    metrics.add_metric(name="QuestionnaireSubmitted", unit="Count", value=1)
    if assessment.risk:
        metrics.add_metric(name="QuestionnaireRiskAlert", unit="Count", value=1)
        logger.info("questionnaire risk alert", extra={"booking_id": b.id, "provider_id": b.provider_id})
    return _view(b.id, item.submitted_at, assessment, client.region if client is not None else None)


def _submit_refused(booking_id: str, now: datetime) -> HavenError:
    """Read again: a submission that won meanwhile, or a booking that changed state."""
    fresh = booking_store.find(booking_id)
    if fresh is None:
        return NotFound("booking")
    try:
        rules.check_can_submit(status_now(fresh, now), fresh.ends_at, now,
                               submitted=fresh.questionnaire_submitted or store.questionnaire(booking_id) is not None)
    except DomainError as error:
        return error
    return HavenError("The booking changed meanwhile; try again.", "invalid_state",
                      details={"state": status_now(fresh, now)})


# --- reading -----------------------------------------------------------------------------------

def read(caller: Caller, booking_id: str, now: datetime) -> dict:
    """GET /bookings/{id}/questionnaire: the booking's client and provider (provider reads are logged)."""
    b = booking_for(caller, booking_id)
    # the questionnaire, the room's data key and the client's region: one read
    found = batch_get({ClinicalModel: [(b.id, store.QUESTIONNAIRE)], RoomModel: [b.room_id],
                       UserModel: [b.client_id]}, consistent=True)
    item = found[ClinicalModel].get((b.id, store.QUESTIONNAIRE))
    if item is None:
        raise NotFound("questionnaire")
    room, client = found[RoomModel].get(b.room_id), found[UserModel].get(b.client_id)
    assessment = _assessment(item, room.key_blob if room is not None else None)
    log_read(caller, b.client_id, "questionnaire", now, room_id=b.room_id, booking_id=b.id)
    return _view(b.id, item.submitted_at, assessment, client.region if assessment.risk and client else None)


def _measures(client_id: str) -> dict:
    rows, keys = [], {}
    for item in store.questionnaires_of(client_id):
        if item.room_id not in keys:
            keys[item.room_id] = room_key(item.room_id)
        rows.append((item, _assessment(item, keys[item.room_id])))
    flags = rules.measures([a for _item, a in rows])
    return {"items": [{"booking_id": item.booking_id, "submitted_at": iso(parse_iso(item.submitted_at)),
                       "phq9_score": a.phq9_score, "phq9_severity": a.phq9_severity,
                       "gad7_score": a.gad7_score, "gad7_severity": a.gad7_severity} for item, a in rows],
            **flags.as_dict()}


def my_measures(caller: Caller, now: datetime) -> dict:
    """GET /clients/me/measures."""
    return _measures(caller.id)


def client_measures(caller: Caller, client_id: str, now: datetime) -> dict:
    """GET /clients/{id}/measures: a provider who shares a room with the client (else 404)."""
    shared = [room for room in room_store.for_client(client_id) if room.provider_id == caller.id]
    if not shared:
        raise NotFound("client")
    out = _measures(client_id)
    log_read(caller, client_id, "measures", now, room_id=shared[0].id)
    return out


# --- the risk alert ----------------------------------------------------------------------------

def _ack_view(item: ClinicalModel) -> dict:
    return {"booking_id": item.booking_id, "acknowledged_at": iso(parse_iso(item.created_at))}


def acknowledge(caller: Caller, booking_id: str, now: datetime) -> dict:
    """POST /bookings/{id}/risk-acknowledgement: the booking's provider, once; a repeat answers
    the first acknowledgement."""
    b = booking_for(caller, booking_id)
    if caller.id != b.provider_id:
        raise NotFound("booking")
    if not b.risk_flag:
        raise HavenError("There is no risk alert on this booking to acknowledge.", "invalid_state",
                         details={"state": status_now(b, now)})
    existing = store.risk_ack(b.id)
    if existing is not None:
        return _ack_view(existing)
    item = store.new_entry(b.id, store.RISK_ACK, client_id=b.client_id, room_id=b.room_id, author_id=caller.id,
                           now=now)
    uow = UnitOfWork()
    uow.create(item, store.create_condition())
    store.stage_settle_acknowledged(uow, store.risk_ack_timer_id(b.id), now)
    try:
        uow.commit()
    except Refused:
        existing = store.risk_ack(b.id)
        if existing is None:
            raise HavenError("The acknowledgement could not be saved; try again.", "invalid_state",
                             details={"state": status_now(b, now)}) from None
        return _ack_view(existing)
    logger.info("risk alert acknowledged", extra={"booking_id": b.id})
    return _ack_view(item)


def sweep_unacknowledged(now: datetime) -> int:
    """Deadlines sweep: a risk alert still unacknowledged 1 hour on → ops told, once."""
    told = 0
    for t in store.due(store.RISK_ACK_KIND, now, wiring.settings().sweep_batch):
        booking_id = (t.data or {}).get("booking_id") or t.ref_id
        told += escalate(t, store.risk_ack(booking_id) is not None, now)
    return told


def escalate(t, acknowledged: bool, now: datetime) -> bool:
    """Act on one due acknowledgement deadline, as read (`t`, with its version): settle it, and
    tell ops in the same transaction unless it was acknowledged. An acknowledgement that commits
    after the read moves the version on, so this is refused and ops are not told."""
    s = wiring.settings()
    data = t.data or {}
    booking_id = data.get("booking_id") or t.ref_id
    uow = UnitOfWork()
    if acknowledged:
        store.stage_settle(uow, t, "acknowledged", now)
    else:
        uow.record(outbox.record(f"risk:{booking_id}:ops", "risk_unacknowledged_ops", s.ops_email,
                                 {"booking_id": booking_id, "provider_id": data.get("provider_id"),
                                  "due_at": iso(parse_iso(t.due_at))}, now))
        store.stage_settle(uow, t, "ops_told", now)
    try:
        uow.commit()
    except Refused:
        return False  # acknowledged, or taken by another run, meanwhile
    if not uow.records:
        return False
    outbox.deliver_all(uow.records, now)
    metrics.add_metric(name="RiskAlertEscalated", unit="Count", value=1)
    logger.info("risk alert unacknowledged: ops told", extra={"booking_id": booking_id})
    return True
