"""The clinical record table: append-only entries per booking (keys, items and reads).

One partition per booking holds everything clinical about that session:

    questionnaire              the PHQ-9/GAD-7 answers and scores (sealed), once
    risk_ack                   the provider's acknowledgement of the questionnaire's risk alert, once
    record                     the provider's session record (sealed), once
    amendment#<time>#<id>      the provider's amendments (sealed)
    member_note#<time>#<id>    the client's member notes (sealed)

Entries are only ever created, each with `attribute_not_exists` on its key (`create`), and never
updated or deleted: no function here changes one, and the deployed role denies UpdateItem,
DeleteItem and BatchWriteItem on the table (`infra/resources.py`). A retried create with an
`Idempotency-Key` lands on the same key (`keyed_entry`), so a retry can never add a second entry.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.clock import iso, sortable
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import BookingModel, ClinicalModel, MessageModel, RoomModel, TimerModel

QUESTIONNAIRE = "questionnaire"
RISK_ACK = "risk_ack"
RECORD = "record"
AMENDMENT = "amendment"
MEMBER_NOTE = "member_note"
RECORD_KINDS = (RECORD, AMENDMENT, MEMBER_NOTE)


def create_condition():
    """The one condition every clinical write carries: the entry must not exist yet."""
    return ClinicalModel.entry.does_not_exist()


def idempotency_digest(author_id: str, operation: str, key: str) -> str:
    """What an entry remembers of the `Idempotency-Key` that made it (scoped to its author and
    route); the key itself is not stored."""
    return hashlib.sha256(f"{author_id}|{operation}|{key}".encode()).hexdigest()


def entry_key(kind: str, now: datetime, idem: str | None = None) -> str:
    """The range key of a new entry. The record and the questionnaire have one fixed key each
    (so a second one is refused by the condition); amendments and notes are keyed by time and a
    random id, or by the Idempotency-Key digest, so a retry lands on the same key."""
    if kind in (RECORD, QUESTIONNAIRE, RISK_ACK):
        return kind
    if idem:
        return f"{kind}#k#{idem[:40]}"
    return f"{kind}#{sortable(now)}#{secrets.token_hex(6)}"


def new_entry(booking_id: str, kind: str, *, client_id: str, room_id: str, author_id: str | None,
              now: datetime, body: bytes | None = None, idem: str | None = None) -> ClinicalModel:
    item = ClinicalModel(booking_id, entry_key(kind, now, idem), kind=kind, client_id=client_id, room_id=room_id,
                         author_id=author_id, created_at=sortable(now), body=body, idem=idem)
    if kind == QUESTIONNAIRE:
        item.submitted_at = sortable(now)
    return item


def get(booking_id: str, entry: str) -> ClinicalModel | None:
    try:
        return ClinicalModel.get(booking_id, entry, consistent_read=True)
    except DoesNotExist:
        return None


def questionnaire(booking_id: str) -> ClinicalModel | None:
    return get(booking_id, QUESTIONNAIRE)


def risk_ack(booking_id: str) -> ClinicalModel | None:
    return get(booking_id, RISK_ACK)


def record_entries(booking_id: str) -> list[ClinicalModel]:
    """The record, its amendments and member notes (one Query of the booking's partition)."""
    return [item for item in ClinicalModel.query(booking_id, consistent_read=True) if item.kind in RECORD_KINDS]


def questionnaires_of(client_id: str) -> list[ClinicalModel]:
    """Every questionnaire the client submitted, oldest first (the sparse by_client index)."""
    return list(ClinicalModel.by_client.query(client_id, scan_index_forward=True))


def create(item: ClinicalModel) -> bool:
    """Write one new entry; False when its key is taken (the entry exists already)."""
    try:
        item.save(condition=create_condition())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def entry_id(item: ClinicalModel) -> str:
    """An entry's public id: opaque, stable, derived from its key."""
    return "ent_" + hashlib.sha256(f"{item.booking_id}|{item.entry}".encode()).hexdigest()[:20]


# --- the marks a clinical change leaves on other items, and its due items -----------------------

RISK_ACK_KIND = "risk_ack"          # deadlines sweep: a questionnaire risk alert not acknowledged in time
RISK_UNREAD_KIND = "risk_unread"    # deadlines sweep: a flagged message the provider has not read in time


def stage_booking_marks(uow, booking_id: str, version: int, *, questionnaire_at: str | None = None,
                        risk_flag: bool = False, rated: bool = False) -> None:
    """Mark a booking (questionnaire submitted, risk raised, rated) while it is still the version
    read; each mark only once. The version does not move: a mark is not a transition."""
    actions, condition = [], BookingModel.version == int(version)
    if questionnaire_at is not None:
        actions.append(BookingModel.questionnaire_at.set(questionnaire_at))
        condition &= BookingModel.questionnaire_at.does_not_exist()
    if risk_flag:
        actions.append(BookingModel.risk_flag.set(True))
    if rated:
        actions.append(BookingModel.rated.set(True))
        condition &= BookingModel.rated.does_not_exist()
    uow.update(BookingModel(booking_id), actions, condition)


def risk_ack_timer_id(booking_id: str) -> str:
    return f"{booking_id}:risk_ack"


def timer(timer_id: str, kind: str, ref_id: str, due_at: datetime, now: datetime, data: dict):
    return TimerModel(timer_id, kind=kind, ref_id=ref_id, created_at=iso(now), data=data, due_kind=kind,
                      due_at=sortable(due_at))


def risk_unread_timer_id(room_id: str, seq: int) -> str:
    return f"risk_unread#{room_id}#{int(seq)}"


def due(kind: str, now: datetime, limit: int):
    return list(TimerModel.due.query(kind, TimerModel.due_at <= sortable(now), limit=limit))


def stage_settle(uow, timer_item, outcome: str, now: datetime) -> None:
    """Take a due item out of the index with the action it leads to: conditioned on the version
    read (and on still being due), so of two runs only one commits."""
    uow.update(timer_item, [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                            TimerModel.settled_at.set(iso(now)), TimerModel.stage.set(1),
                            TimerModel.outcome.set(outcome)], TimerModel.due_at.exists())


def stage_settle_acknowledged(uow, timer_id: str, now: datetime) -> None:
    """The provider acknowledged: the deadline leaves the index whatever its state (if the sweep
    already told ops, its record stays). Its version moves on, so a sweep run that read it due
    before this commit is refused and tells nobody."""
    item = TimerModel(timer_id)
    item.version = 0  # any number: with no version condition PynamoDB adds 1 to the stored one
    uow.update(item, [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                      TimerModel.settled_at.set(TimerModel.settled_at | iso(now)),
                      TimerModel.outcome.set(TimerModel.outcome | "acknowledged")],
               TimerModel.id.exists(), add_version_condition=False)


def stage_message_flag(uow, room_id: str, seq: int, category: str, version: str) -> None:
    """What a risk-language hit stores on the message: the category and the list's version only."""
    uow.update(MessageModel(room_id, int(seq)), [MessageModel.flag.set({"category": category, "version": version})],
               MessageModel.seq.exists())


def stage_room_risk_marks(uow, room_id: str, now: datetime, *, alert_quiet_since: datetime | None = None,
                          notice_quiet_since: datetime | None = None) -> None:
    """Take the room's urgent-email and/or crisis-notice slot: each only if the last one is older
    than its quiet time (a concurrent hit in the same room then finds it taken)."""
    actions, condition = [], RoomModel.id.exists()
    for attr, since in ((RoomModel.risk_alert_at, alert_quiet_since), (RoomModel.risk_notice_at, notice_quiet_since)):
        if since is None:
            continue
        actions.append(attr.set(sortable(now)))
        condition &= attr.does_not_exist() | (attr <= sortable(since))
    if actions:
        uow.update(RoomModel(room_id), actions, condition)
