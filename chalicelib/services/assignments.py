"""Ops assignments and the rooms an accepted session request opens (SPEC §2 "Matching and
continuity of care"; `PUT /ops/assignments`): ops choose the provider, checked by the matching
filters ops may not skip silently unless `force`; both changes are committed by matching's one
transaction (`services.matching._commit`)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.clock import iso
from chalicelib.domain import matching as rules
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import metrics
from chalicelib.services.matching import (ACCEPTED_REQUEST, ASSIGNMENT, Move, Scene, _commit, _retrying, candidate,
                                          finish_handover)
from chalicelib.store import care, listings
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.base import batch_get
from chalicelib.store.models import RoomModel, TimerModel, UserModel


def _assignment_scene(client_id: str, provider_id: str) -> tuple[Scene, UserModel]:
    """Both people, the client's possible rooms and waiting items in ONE BatchGetItem (plus one
    GetItem for the provider who has the room now, on a change)."""
    rooms = {kind: room_store.room_id_for(client_id, kind) for kind in listings.KINDS}
    timers = {kind: care.waiting_id(client_id, kind) for kind in listings.KINDS}
    found = batch_get({UserModel: [client_id, provider_id], RoomModel: list(rooms.values()),
                       TimerModel: list(timers.values())})
    client, provider = found[UserModel].get(client_id), found[UserModel].get(provider_id)
    if client is None or client.role != "client":
        raise NotFound("client")
    if provider is None or provider.role != "provider":
        raise NotFound("provider")
    if not provider.active:
        raise HavenError("This provider is not active.", "invalid_state", details={"state": "inactive"})
    kind = provider.kind
    room = found[RoomModel].get(rooms.get(kind, ""))
    current = None
    if room is not None and room.provider_id:
        current = provider if room.provider_id == provider.id else user_store.get(room.provider_id)
    return Scene(client, kind, room, current, found[TimerModel].get(timers.get(kind, "")),
                 {provider.id: provider}), provider


def assign(caller: Caller, body: dict, now: datetime) -> dict:
    """`PUT /ops/assignments`: ops choose the provider; the filters of matching that ops may not
    skip silently are checked (`not_licensed`, `language_mismatch`, `at_capacity`) unless
    `force`, which the room's history records with who and when."""
    forced = bool(body.get("force"))

    def attempt(n: int) -> dict:
        scene, provider = _assignment_scene(body["client_id"], body["provider_id"])
        client = scene.client
        already = scene.current is not None and scene.current.id == provider.id
        needs = rules.Needs(region=client.region or "", languages=tuple(client.languages or ()))
        rules.check_assignment(candidate(provider), needs, force=forced, already_assigned=already)
        out = {"room_id": scene.room_id, "client_id": client.id, "provider_id": provider.id,
               "provider_kind": provider.kind, "forced": False}
        if already:
            finish_handover(scene.room, now)  # a retry of an assignment whose request died after its commit
            return out
        # Refused (the last place went meanwhile): read again; the check above then says at_capacity.
        _commit(scene, Move(ASSIGNMENT, caller.id, provider, forced=forced, notify_first=False), now)
        if forced:
            metrics.add_metric(name="AssignmentForced", unit="Count", value=1)
            out.update(forced=True, forced_by=caller.id, forced_at=iso(now))
        return out

    return _retrying(attempt)


def open_or_hand_over(client_id: str, provider_id: str, by: str, now: datetime) -> str:
    """SPEC (session requests): acceptance with a provider the client shares no room with opens one,
    or hands the client's room of that kind over under the change-of-provider rule (the old
    provider's future sessions cancelled, open requests ended, all told), with no capacity re-check.
    Returns the room id."""
    def attempt(n: int) -> str:
        scene, provider = _assignment_scene(client_id, provider_id)
        if scene.current is not None and scene.current.id == provider.id:
            finish_handover(scene.room, now)
            return scene.room_id
        return _commit(scene, Move(ACCEPTED_REQUEST, by, provider, notify_first=False, check_capacity=False), now)

    return _retrying(attempt)
