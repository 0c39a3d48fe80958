"""Session requests: reads, the stored value, and each request's data key.

Writes go through the booking unit of work (`store.bookings.stage`), so proposals use the same
claim items and the same transaction shape as bookings. The claim ids a request holds are named
here: its proposed times (`store.bookings.claim_ids`, both members) and the client's one
open-request lock, `<client id>#open_request`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.clock import parse_iso, sortable
from chalicelib.domain import request_plans
from chalicelib.domain import session_requests as sr
from chalicelib.store.errors import condition_failed
from chalicelib.store.models import SessionRequestModel

# A proposal lies inside a preferred part, and parts begin within 60 days of the request: a request
# created longer ago than this holds no time that is still ahead (a bound for reads by member).
HOLD_HORIZON = timedelta(days=63)


def lock_claim(client_id: str) -> str:
    """The claim item that makes one open request per client a guard, not a check."""
    return f"{client_id}#open_request"


def _instant(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def to_domain(m: SessionRequestModel) -> request_plans.Request:
    return request_plans.Request(
        id=m.id, client_id=m.client_id, provider_id=m.provider_id, modality=m.modality, status=m.status,
        requested_at=parse_iso(m.created_at), respond_by=parse_iso(m.respond_by),
        preferred=tuple(sr.Preferred(date.fromisoformat(p["date"]), p["part"]) for p in m.preferred or []),
        client_tz=m.client_tz or "UTC", provider_tz=m.provider_tz or "UTC", version=int(m.version or 1),
        claims=tuple(m.claims or ()), proposals=tuple(parse_iso(p) for p in m.proposals or ()),
        proposed_at=_instant(m.proposed_at), accept_by=_instant(m.accept_by), booking_id=m.booking_id,
        reason=m.reason, ended_at=_instant(m.ended_at), plan_kind=m.plan_kind,
        program_ends_at=_instant(m.program_ends_at))


def get(request_id: str, consistent: bool = True) -> SessionRequestModel | None:
    try:
        return SessionRequestModel.get(request_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def find(request_id: str) -> request_plans.Request | None:
    found = get(request_id)
    return to_domain(found) if found is not None else None


def page(role: str, member_id: str, page_size: int, last_key: dict | None, since: datetime | None = None):
    """A member's requests, newest first (lazily paged); `since` bounds `created_at` below."""
    index = SessionRequestModel.by_client if role == "client" else SessionRequestModel.by_provider
    condition = SessionRequestModel.created_at >= sortable(since) if since is not None else None
    return index.query(member_id, condition, scan_index_forward=False, last_evaluated_key=last_key,
                       page_size=page_size)


def page_key(role: str, member_id: str, created_at: str, request_id: str) -> dict:
    member = "client_id" if role == "client" else "provider_id"
    return {member: {"S": member_id}, "created_at": {"S": created_at}, "id": {"S": request_id}}


def recent(role: str, member_id: str, now: datetime) -> list[request_plans.Request]:
    """A member's requests that may still be open or hold time (created within HOLD_HORIZON)."""
    return [to_domain(m) for m in page(role, member_id, 100, None, since=now - HOLD_HORIZON)]


def held_intervals(role: str, member_id: str, start: datetime, end: datetime, now: datetime,
                   session_minutes: int) -> list[tuple[datetime, datetime]]:
    """Times a member's proposed requests hold (by the clock) that overlap `[start, end)`: what a
    slot list must leave out besides bookings."""
    out = []
    for r in recent(role, member_id, now):
        for a, b in sr.held_intervals(r.view(), now, session_minutes=session_minutes):
            if a < end and b > start:
                out.append((a, b))
    return out


def for_client_since(client_id: str, since: datetime) -> list[request_plans.Request]:
    """Every request a client made from `since` on (a referral program's requests)."""
    return [to_domain(m) for m in page("client", client_id, 100, None, since=since)]


class RequestKeys:
    """Where each request's KMS-encrypted data key lives: on the request item (the cipher's key store)."""

    def get(self, request_id: str) -> bytes | None:
        try:
            found = SessionRequestModel.get(request_id, attributes_to_get=["id", "key_blob"])
        except DoesNotExist:
            return None
        return found.key_blob

    def put_if_absent(self, request_id: str, blob: bytes) -> bytes:
        try:
            SessionRequestModel(request_id).update(
                actions=[SessionRequestModel.key_blob.set(blob)],
                condition=SessionRequestModel.id.exists() & SessionRequestModel.key_blob.does_not_exist())
            return blob
        except UpdateError as error:
            if not condition_failed(error):
                raise
        existing = SessionRequestModel.get(request_id, consistent_read=True, attributes_to_get=["id", "key_blob"])
        if existing.key_blob is None:
            raise DoesNotExist()
        return existing.key_blob
