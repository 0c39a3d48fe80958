"""Session records (SPEC §2 "Clinical record", Session records): append-only entries.

After a `completed` session its provider writes one record, then only amendments; the client
reads them from `ends_at` + 72 h and may then add member notes. Every entry is created once and
never changed: the record has one fixed key (a second is `already_exists`), amendments and notes
a key of their own. The texts are sealed with the client's room key.

Idempotency-Key: these routes accept it without caching their answer (it would hold the text).
An entry made with a key remembers a digest of it, and its key is derived from that digest, so a
retry finds the entry it made: the same text answers the record as it was then (entries up to
that one), another text is 409 `idempotency_mismatch`, and nothing is written twice.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.clock import parse_iso
from chalicelib.domain import records as rules
from chalicelib.errors import HavenError, NotFound, ValidationError
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services.clinical.common import booking_for, log_read, room_key, seal, status_now, unseal
from chalicelib.domain import booking_plans as plans
from chalicelib.store import clinical as store
from chalicelib.store.models import ClinicalModel

IDEMPOTENCY_KEY_MAX = 200
_OPERATION = {store.RECORD: "PUT record", store.AMENDMENT: "POST amendment", store.MEMBER_NOTE: "POST note"}


def _hours() -> int:
    return wiring.settings().record_visible_after_hours


def _entry(item: ClinicalModel, key_blob: bytes | None) -> rules.Entry:
    return rules.Entry(store.entry_id(item), item.kind, item.author_id, unseal(item, item.kind, key_blob),
                       parse_iso(item.created_at))


def _view(b: plans.Booking, items: list[ClinicalModel], key_blob: bytes | None,
          upto: ClinicalModel | None = None) -> dict:
    """The record view; with `upto`, as it was when that entry was made (a retry's answer)."""
    if upto is not None:
        items = [i for i in items if i.created_at <= upto.created_at]
    return rules.record_view(b.id, b.ends_at, [_entry(i, key_blob) for i in items], _hours())


def _digest(caller: Caller, kind: str, key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise ValidationError(f"`Idempotency-Key` must be 1 to {IDEMPOTENCY_KEY_MAX} characters.")
    return store.idempotency_digest(caller.id, _OPERATION[kind], key)


def _replay(b: plans.Booking, existing: ClinicalModel, digest: str | None, text: str,
            key_blob: bytes | None) -> dict | None:
    """The answer to a retry of the request that made `existing`, or None when it is not one."""
    if digest is None or existing.idem != digest:
        return None
    if unseal(existing, existing.kind, key_blob) != text:
        raise HavenError("This Idempotency-Key was already used for a different request.", "idempotency_mismatch")
    return _view(b, store.record_entries(b.id), key_blob, upto=existing)


def _replay_of(b: plans.Booking, existing: ClinicalModel | None, digest: str | None, text: str,
               key_blob: bytes | None) -> dict:
    """An amendment or note keyed by this digest exists: answer the retry."""
    replay = _replay(b, existing, digest, text, key_blob) if existing is not None else None
    if replay is None:  # pragma: no cover - the key is derived from the digest
        raise HavenError("This Idempotency-Key was already used for a different request.", "idempotency_mismatch")
    return replay


def _new(b: plans.Booking, caller: Caller, kind: str, text: str, digest: str | None, now: datetime,
         key_blob: bytes | None) -> ClinicalModel:
    return store.new_entry(b.id, kind, client_id=b.client_id, room_id=b.room_id, author_id=caller.id, now=now,
                           body=seal(b.room_id, b.id, kind, text, key_blob), idem=digest)


def _added(b: plans.Booking, caller: Caller, item: ClinicalModel, now: datetime) -> None:
    metrics.add_metric(name="RecordEntryAdded", unit="Count", value=1)
    logger.info("record entry added", extra={"booking_id": b.id, "kind": item.kind})
    log_read(caller, b.client_id, "record", now, room_id=b.room_id, booking_id=b.id)


def _key_of(b: plans.Booking, entries: list[ClinicalModel]) -> bytes | None:
    """The room's data key: carried by the record entry (records written before it was, and a
    booking with no record yet: read from the room)."""
    carried = next((e.key_blob for e in entries if e.kind == store.RECORD and e.key_blob), None)
    return carried or room_key(b.room_id)


def _provider_booking(caller: Caller, booking_id: str) -> plans.Booking:
    b = booking_for(caller, booking_id)
    if caller.id != b.provider_id:
        raise NotFound("booking")
    return b


def write_record(caller: Caller, booking_id: str, text: str, key: str | None, now: datetime) -> dict:
    """PUT /bookings/{id}/record: the provider's one record of a completed session. The entry is
    created first (its fixed key refuses a second); only a refusal reads the existing one, to
    answer a retry or say `already_exists`. The record is always the first entry (amendments and
    notes need it), so the answer needs no further read."""
    b = _provider_booking(caller, booking_id)
    text = rules.validate_text(text, wiring.settings().record_text_max_chars)
    digest = _digest(caller, store.RECORD, key)
    rules.check_can_write_record(status_now(b, now))
    key_blob = room_key(b.room_id)
    item = _new(b, caller, store.RECORD, text, digest, now, key_blob)
    item.key_blob = key_blob
    if not store.create(item):
        existing = store.get(b.id, store.RECORD)
        replay = _replay(b, existing, digest, text, key_blob) if existing is not None else None
        if replay is None:
            rules.check_can_write_record(status_now(b, now), record_exists=True)
        log_read(caller, b.client_id, "record", now, room_id=b.room_id, booking_id=b.id)
        return replay
    _added(b, caller, item, now)
    return rules.record_view(b.id, b.ends_at, [rules.Entry(store.entry_id(item), item.kind, item.author_id, text,
                                                           parse_iso(item.created_at))], _hours())


def amend(caller: Caller, booking_id: str, text: str, key: str | None, now: datetime) -> dict:
    """POST /bookings/{id}/record/amendments: the provider appends to an existing record."""
    b = _provider_booking(caller, booking_id)
    return _append(b, caller, store.AMENDMENT, text, key, now)


def add_note(caller: Caller, booking_id: str, text: str, key: str | None, now: datetime) -> dict:
    """POST /bookings/{id}/record/notes: the client appends a member note once they see the record."""
    b = booking_for(caller, booking_id)
    if caller.id != b.client_id:
        raise NotFound("booking")
    return _append(b, caller, store.MEMBER_NOTE, text, key, now)


def _append(b: plans.Booking, caller: Caller, kind: str, text: str, key: str | None, now: datetime) -> dict:
    """One Query reads the entries (is there a record? and the answer), one put appends."""
    text = rules.validate_text(text, wiring.settings().record_text_max_chars)
    digest = _digest(caller, kind, key)
    entries = store.record_entries(b.id)
    key_blob = _key_of(b, entries)
    if digest is not None:
        existing = next((e for e in entries if e.entry == store.entry_key(kind, now, digest)), None)
        if existing is not None:
            return _after_append(b, caller, _replay_of(b, existing, digest, text, key_blob), now)
    record_exists = any(e.kind == store.RECORD for e in entries)
    if kind == store.AMENDMENT:
        rules.check_can_amend(status_now(b, now), record_exists=record_exists)
    else:
        rules.check_can_add_member_note(status_now(b, now), b.ends_at, now, record_exists=record_exists,
                                        hours=_hours())
    item = _new(b, caller, kind, text, digest, now, key_blob)
    if not store.create(item):  # a concurrent retry with the same key made it first
        existing = store.get(b.id, store.entry_key(kind, now, digest))
        return _after_append(b, caller, _replay_of(b, existing, digest, text, key_blob), now)
    metrics.add_metric(name="RecordEntryAdded", unit="Count", value=1)
    logger.info("record entry added", extra={"booking_id": b.id, "kind": kind})
    return _after_append(b, caller, _view(b, [*entries, item], key_blob), now)


def _after_append(b: plans.Booking, caller: Caller, view: dict, now: datetime) -> dict:
    log_read(caller, b.client_id, "record", now, room_id=b.room_id, booking_id=b.id)
    return view


def read(caller: Caller, booking_id: str, now: datetime) -> dict:
    """GET /bookings/{id}/record: the provider at any time (access-logged, `entries: []` before
    any); the client from `visible_from` (409 `not_yet_visible` before)."""
    b = booking_for(caller, booking_id)
    if caller.id == b.client_id:
        rules.check_client_can_read(b.ends_at, now, _hours())
    entries = store.record_entries(b.id)
    view = _view(b, entries, _key_of(b, entries))
    log_read(caller, b.client_id, "record", now, room_id=b.room_id, booking_id=b.id)
    return view
