"""How session requests read (`GET /session-requests`, `GET /session-requests/{id}`): statuses by
the clock, times in UTC, the client's name for the provider only, and the sealed free text
(the client's note, the provider's decline reason) opened for the request's two members on
the single-request read. Every provider read of a note is written to the access log."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import request_plans as rp
from chalicelib.domain import session_requests as sr
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.store import session_requests as store
from chalicelib.store import users as user_store
from chalicelib.store.base import batch_get
from chalicelib.store.models import SessionRequestModel, UserModel


def render(r: rp.Request, caller: Caller, now: datetime, *, client=None, client_name: str | None = None,
           note: str | None = None, reason_text: str | None = None) -> dict:
    length = timedelta(minutes=wiring.settings().session_minutes)
    reason = reason_text or (sr.PROVIDER_UNAVAILABLE if r.reason == sr.PROVIDER_UNAVAILABLE else None)
    out = {
        "id": r.id, "status": r.status_at(now), "client_id": r.client_id, "provider_id": r.provider_id,
        "modality": r.modality, "preferred": [p.as_dict() for p in r.preferred], "note": note,
        "created_at": iso(r.requested_at), "respond_by": iso(r.respond_by),
        "proposals": [{"starts_at": iso(p), "ends_at": iso(p + length)} for p in r.proposals],
        "accept_by": iso(r.accept_by), "booking_id": r.booking_id, "reason": reason,
    }
    if caller.is_provider:
        if client_name is None and client is None:
            client = user_store.get(r.client_id)
        out["client_name"] = client_name if client_name is not None else (client.name if client else None)
    return out


def _open(model: SessionRequestModel, caller: Caller, now: datetime, *, with_note: bool = True
          ) -> tuple[str | None, str | None]:
    """The note and the decline reason in clear, for a member of the request."""
    sealed_note = model.note if with_note else None
    if sealed_note is None and model.decline_reason is None:
        return None, None
    cipher = wiring.get("note_cipher")
    note = cipher.decrypt(model.id, sealed_note, model.key_blob) if sealed_note is not None else None
    reason = cipher.decrypt(model.id, model.decline_reason, model.key_blob) if model.decline_reason is not None \
        else None
    if caller.is_provider and note is not None:  # SPEC §2 Safety: provider reads of free text are logged
        from chalicelib.store import access_log

        access_log.record(model.client_id, caller.id, caller.role, "session_request", now)
    return note, reason


def get(caller: Caller, request_id: str, now: datetime) -> dict:
    model = store.get(request_id, consistent=False)
    if model is None or caller.id != (model.client_id if caller.is_client else model.provider_id):
        raise NotFound("session request")
    note, reason = _open(model, caller, now)
    return render(store.to_domain(model), caller, now, note=note, reason_text=reason)


def list_requests(caller: Caller, query: dict, now: datetime) -> dict:
    """The caller's requests (client: sent; provider: received), newest first, `?status=` by the
    clock. Notes are shown on the single-request read only (each is sealed with its own key)."""
    cursors = wiring.get("cursors")
    role = "client" if caller.is_client else "provider"
    status = query.get("status")
    scope = f"session_requests:{caller.id}:{status or ''}"
    last_key = None
    if query.get("next"):
        position = cursors.decode(scope, query["next"])
        if not isinstance(position, list) or len(position) != 2 or not all(isinstance(p, str) for p in position):
            raise HavenError("The `next` cursor is not valid for this list.", "invalid_cursor")
        last_key = store.page_key(role, caller.id, *position)
    limit = query["limit"]
    items: list[tuple[rp.Request, SessionRequestModel]] = []
    positions: list[list[str]] = []
    more = False
    for model in store.page(role, caller.id, max(limit + 1, 25), last_key):
        r = store.to_domain(model)
        if status and r.status_at(now) != status:
            continue
        if len(items) == limit:
            more = True
            break
        items.append((r, model))
        positions.append([model.created_at, model.id])
    names = {}
    if caller.is_provider and items:
        found = batch_get({UserModel: sorted({r.client_id for r, _ in items})})[UserModel]
        names = {uid: user.name for uid, user in found.items()}
    rendered = []
    for r, model in items:
        _, reason = _open(model, caller, now, with_note=False)
        item = render(r, caller, now, client_name=names.get(r.client_id, ""), reason_text=reason)
        item.pop("note", None)
        rendered.append(item)
    return {"items": rendered, "next": cursors.encode(scope, positions[-1]) if more and items else None}
