"""What the clinical services share: the booking as its members see it, sealing entries with the
client's room key, and the access log of provider reads.

Sealing: every clinical body (questionnaire answers, records, amendments, member notes) is an
Encryption SDK message under the room's data key — the same key as the room's messages, so one
KMS call opens a client's whole file — with `purpose` and `booking_id` in the encryption context,
checked on decrypt, so an entry cannot be moved to another booking or passed off as a message.
A booking's room is the client's room of that provider kind (`room_id` on the booking), which
stays the client's when the provider changes, so the key follows the client, not the provider.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import wiring
from chalicelib.domain import booking_plans as plans
from chalicelib.domain import bookings as rules
from chalicelib.errors import NotFound
from chalicelib.identity import Caller
from chalicelib.store import access_log
from chalicelib.store import bookings as booking_store
from chalicelib.store import rooms as room_store
from chalicelib.store.models import ClinicalModel


def booking_for(caller: Caller, booking_id: str) -> plans.Booking:
    """The booking, if the caller is its client or its provider; else 404 (ids cannot be probed)."""
    b = booking_store.find(booking_id)
    if b is None or caller.id not in (b.client_id, b.provider_id):
        raise NotFound("booking")
    return b


def status_now(b: plans.Booking, now: datetime) -> str:
    """The booking's status as the clock decides it at `now` (SPEC §2 General)."""
    return rules.effective_status(b.view(), now, wiring.settings().outcome_grace_hours)


def room_key(room_id: str) -> bytes | None:
    """The room's KMS-wrapped data key, read once per request and passed to `seal`/`unseal` (the
    cipher would otherwise read it from the room for every body)."""
    return room_store.RoomKeys().get(room_id)


def seal(room_id: str, booking_id: str, purpose: str, text: str, key_blob: bytes | None = None) -> bytes:
    return wiring.get("cipher").encrypt(room_id, text, key_blob, purpose=purpose, context={"booking_id": booking_id})


def unseal(item: ClinicalModel, purpose: str, key_blob: bytes | None = None) -> str:
    return wiring.get("cipher").decrypt(item.room_id, item.body, key_blob, purpose=purpose,
                                        context={"booking_id": item.booking_id})


def log_read(caller: Caller, client_id: str, what: str, now: datetime, *, room_id: str | None = None,
             booking_id: str | None = None) -> None:
    """SPEC §2 Safety: every provider read of clinical data is in the client's access log."""
    if caller.is_provider:
        access_log.record(client_id, caller.id, caller.role, what, now, room_id=room_id, booking_id=booking_id)
