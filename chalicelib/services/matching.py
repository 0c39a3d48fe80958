"""Matching and continuity of care (SPEC §2): intake and a change of provider, and the one
transaction every change of who cares for a client goes through (`_commit`), which ops
assignments (`services.assignments`) and the deadlines sweep's steps (`services.matching_sweeps`:
waiting clients, a deactivated provider's clients, handover follow-ups) use too.

Candidates are read through the listings index (`store.listings`: the providers licensed in the
client's region or its bare country, of the wanted kind), then chosen by the pure rules of
`domain.matching` (filters, score, tie-breaks, reasons). Same inputs, same provider.

Every change of who cares for a client is ONE transaction (`_commit`): the room (created, handed
over, or left without a provider while the client waits; its history appended), the new
provider's active-client count (+1, conditioned on a place: `active_clients < capacity`, so
concurrent matches never overfill anyone), the old provider's (−1), the client's status and
waiting list, the due items and the outbox records. A refused condition is re-read and planned
again. After the commit: notices delivered; the old provider's future sessions cancelled (credits
returned) and `provider_changed` published — a follow-up due item recorded in the transaction
makes the deadlines sweep finish that part if this request dies first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso
from chalicelib.domain import matching as rules
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.store import care
from chalicelib.store import listings
from chalicelib.store import rooms as room_store
from chalicelib.store import users as user_store
from chalicelib.store.base import batch_get
from chalicelib.store.models import RoomModel, TimerModel, UserModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork

MATCHED, WAITING = "matched", "waiting"
ATTEMPTS = 6
# Why a client's provider changed (room history `reason`) and who acted (`by`: a user id or "haven").
INTAKE, CHANGE, DEACTIVATION, ASSIGNMENT = "intake", "change", "deactivation", "assignment"
ACCEPTED_REQUEST = "accepted_request"
HAVEN = "haven"


@dataclass(frozen=True)
class Answer:
    """What `PUT /clients/me/intake` and `POST /clients/me/provider-change` answer."""
    status: str
    reasons: tuple[str, ...]
    provider_id: str | None = None
    room_id: str | None = None

    def view(self) -> dict:
        out: dict = {"status": self.status}
        if self.status == MATCHED:
            out.update(provider_id=self.provider_id, room_id=self.room_id)
        out["reasons"] = list(self.reasons)
        return out


@dataclass
class Scene:
    """What a match for one client and one provider kind reads first."""
    client: UserModel
    kind: str
    room: RoomModel | None
    current: UserModel | None        # the provider the room has now (None: no room, or waiting)
    waiting: TimerModel | None       # the client's waiting item for this kind, if any
    providers: dict[str, UserModel] = field(default_factory=dict)  # the candidates (and `current`)

    @property
    def room_id(self) -> str:
        return room_store.room_id_for(self.client.id, self.kind)


# --- reads -----------------------------------------------------------------------------------------

def _client(client_id: str) -> UserModel:
    client = user_store.get(client_id)
    if client is None or client.role != "client":
        raise NotFound("client profile (register with POST /clients/me first)")
    return client


def _scene(client: UserModel, kind: str, region: str | None, *, extra_ids: tuple[str, ...] = ()) -> Scene:
    """The client's room and waiting item of `kind` and the candidates licensed in `region`, in one
    BatchGetItem after the listings Queries (plus one GetItem when the current provider is not
    among the candidates)."""
    ids = list(listings.provider_ids(region, [kind])) if region else []
    room_id = room_store.room_id_for(client.id, kind)
    waiting_id = care.waiting_id(client.id, kind)
    users: dict[str, UserModel] = {}
    found = {RoomModel: {}, TimerModel: {}}
    wanted = list(dict.fromkeys([*ids, *extra_ids]))
    for start in range(0, max(len(wanted), 1), 98):  # BatchGetItem takes 100 keys; room + timer ride along
        chunk = wanted[start:start + 98]
        more = batch_get({UserModel: chunk, **({RoomModel: [room_id], TimerModel: [waiting_id]} if start == 0 else {})})
        users.update(more[UserModel])
        for model in (RoomModel, TimerModel):
            found[model].update(more.get(model, {}))
    room = found[RoomModel].get(room_id)
    current = None
    if room is not None and room.provider_id:
        current = users.get(room.provider_id) or user_store.get(room.provider_id)
    providers = {i: u for i, u in users.items() if u.role == "provider"}
    return Scene(client, kind, room, current, found[TimerModel].get(waiting_id), providers)


def candidate(user: UserModel) -> rules.Candidate:
    return rules.Candidate(
        id=user.id, name=user.name or "", kind=user.kind or "", licensed_regions=tuple(user.licensed_regions or ()),
        languages=tuple(user.languages or ()), focus_areas=tuple(user.focus_areas or ()), timezone=user.timezone,
        gender=user.gender, accepting=user.accepting is not False, active=bool(user.active),
        capacity=int(user.capacity) if user.capacity is not None else wiring.settings().default_provider_capacity,
        active_clients=int(user.active_clients or 0))


def needs_of(client: UserModel, kind: str, *, with_name: bool = True) -> rules.Needs:
    """The client's needs for `kind`: their intake for it (if any) and their profile."""
    intake = (client.intake or {}).get(kind) or {}
    return rules.Needs(region=client.region or "", languages=tuple(client.languages or ()), kind=kind,
                       focus_areas=tuple(intake.get("focus_areas") or ()),
                       gender_preference=intake.get("gender_preference"),
                       provider_name=intake.get("provider_name") if with_name else None,
                       timezone=client.timezone)


def _choose(scene: Scene, needs: rules.Needs, now: datetime, exclude: tuple[str, ...] = ()) -> rules.Match | None:
    s = wiring.settings()
    pool = [candidate(p) for p in scene.providers.values() if p.kind == scene.kind]
    exclude = (*exclude, *left_behind(scene.room))
    return rules.match(pool, needs, now, exclude=exclude, focus_points=s.match_focus_points,
                       near_zone_points=s.match_near_zone_points, near_zone_hours=s.match_near_zone_hours)


def left_behind(room: RoomModel | None) -> tuple[str, ...]:
    """The providers the client changed away from in this room (a change of mind): never chosen
    for them again by matching (ops may still assign them)."""
    history = (room.history if room is not None else None) or []
    return tuple(dict.fromkeys(before.get("provider_id") for before, entry in zip(history, history[1:])
                               if entry.get("reason") == CHANGE and before.get("provider_id")))


def _last_reasons(room: RoomModel | None) -> tuple[str, ...]:
    history = (room.history if room is not None else None) or []
    if history and history[-1].get("provider_id") == room.provider_id:
        return tuple(history[-1].get("reasons") or ())
    return ()


# --- the one commit of a change of provider -----------------------------------------------------------

@dataclass(frozen=True)
class Move:
    """A planned change of provider for one client's room of one kind."""
    reason: str                      # intake | change | deactivation | assignment
    by: str                          # who acted: a client, an ops user, or "haven" (the sweep)
    to: UserModel | None             # the new provider; None: the client waits with no provider
    reasons: tuple[str, ...] = ()
    forced: bool = False
    expect_waiting_due: str | None = None  # the sweep acting on the waiting item due then
    notify_first: bool = True        # tell the client and the provider of a first match
    client_actions: tuple = ()       # more changes to the client's item, in the same transaction
    check_capacity: bool = True      # an accepted session request takes the provider without a re-check


def _commit(scene: Scene, move: Move, now: datetime) -> str:
    """Write `move` in ONE transaction (raises `Refused` when a condition fails); then deliver
    its notices and do what follows a handover. Returns the room id."""
    s = wiring.settings()
    client, kind, room, old = scene.client, scene.kind, scene.room, scene.current
    new = move.to
    room_id = scene.room_id
    entry = {"provider_id": new.id if new else None, "at": iso(now), "by": move.by, "reason": move.reason,
             "reasons": list(move.reasons)}
    if move.forced:
        entry["forced"] = True
    from chalicelib import request_key

    if request_key.current():  # a keyed request's retry after a crash past this commit recognises it
        entry["request"] = request_key.current()
    uow = UnitOfWork()
    if room is None:
        key_blob = wiring.get("cipher").new_room_key(room_id)
        room_store.stage_new_room(uow, client.id, new.id, kind, iso(now), entry,
                                  plan_kind=(client.plan or {}).get("kind"), key_blob=key_blob)
    else:
        room_store.stage_handover(uow, room_id, room.provider_id, new.id if new else None, entry)
    if new is not None:
        user_store.stage_take_place(uow, new, enforce_capacity=move.check_capacity and not move.forced)
    if old is not None:
        user_store.stage_leave_place(uow, old)
    # The client: waiting for this kind when left without a provider; active again when matched.
    waiting = dict(client.waiting or {})
    if new is not None:
        waiting.pop(kind, None)
    else:
        waiting[kind] = {"since": iso(now), "reason": move.reason}
    status = "discharged" if client.status == "discharged" else (WAITING if waiting else "active")
    uow.update(client, [UserModel.status.set(status),
                        UserModel.waiting.set(waiting) if waiting else UserModel.waiting.remove(),
                        *move.client_actions],
               UserModel.id.exists(), add_version_condition=False)
    if new is not None and care.is_due(scene.waiting):
        care.stage_settle(uow, scene.waiting, "matched", now, expect_due_at=move.expect_waiting_due)
    elif new is None:
        care.stage_waiting(uow, client.id, kind, {"client_id": client.id, "kind": kind, "since": iso(now),
                                                  "reason": move.reason}, now + timedelta(minutes=s.match_retry_minutes),
                           now, expect_due_at=move.expect_waiting_due)
    followup = None
    n = len((room.history if room is not None else None) or []) + 1
    if old is not None:
        followup = care.stage_followup(uow, room_id, n, {"client_id": client.id, "room_id": room_id, "kind": kind,
                                                         "old_provider_id": old.id},
                                       now + timedelta(minutes=s.handover_followup_minutes), now)
    for notice in _notices(scene, move, room_id, n, now):
        uow.record(notice)
    hook = wiring.get("before_match_commit")
    hook(scene=scene, move=move)
    uow.commit()
    metrics.add_metric(name="ProviderMatched" if new else "ClientWaiting", unit="Count", value=1)
    logger.info("care moved", extra={"client_id": client.id, "room_id": room_id, "kind": kind, "reason": move.reason,
                                     "to_provider_id": new.id if new else None,
                                     "from_provider_id": old.id if old else None, "forced": move.forced,
                                     "by": move.by})
    client.status, client.waiting = status, waiting or None
    outbox.deliver_all(uow.records, now)
    if followup is not None:
        follow_up(followup, {"client_id": client.id, "old_provider_id": old.id}, now)
    return room_id


def _notices(scene: Scene, move: Move, room_id: str, n: int, now: datetime) -> list:
    """Emails (no clinical content) for a change of who cares for the client. A handover tells all
    three; a first match tells the provider (and the client, when the sweep found them someone);
    a client left without a provider is told Haven is looking for one."""
    client, old, new = scene.client, scene.current, move.to
    base = f"care#{room_id}#{n}"
    params = {"room_id": room_id, "provider_kind": scene.kind}
    out = []
    if new is not None and (old is not None or move.notify_first):
        out.append(outbox.record(f"{base}#provider", "care_new_client", new.email, params, now))
        if old is not None or move.by == HAVEN:
            template = "care_provider_changed" if old is not None else "care_matched"
            out.append(outbox.record(f"{base}#client", template, client.email,
                                     {**params, "provider_name": new.name}, now))
    if old is not None:
        out.append(outbox.record(f"{base}#old_provider", "care_client_moved", old.email, params, now))
        if new is None:
            out.append(outbox.record(f"{base}#client", "care_finding_provider", client.email, params, now))
    return [notice for notice in out if notice.to]


def follow_up(timer_id: str, data: dict, now: datetime) -> None:
    """After a handover: the client's future sessions with the old provider are cancelled
    (credits returned, both told), other features end what they hold with them, and the due
    item is settled. Safe to repeat (the sweep repeats it if a request died half way)."""
    from chalicelib.services import bookings

    client_id, old_provider_id = data["client_id"], data["old_provider_id"]
    cancelled = bookings.cancel_with_previous_provider(client_id, old_provider_id, now)
    wiring.publish("provider_changed", client_id=client_id, old_provider_id=old_provider_id, now=now)
    care.settle(timer_id, "done", now)
    logger.info("handover followed up", extra={"client_id": client_id, "old_provider_id": old_provider_id,
                                               "bookings_cancelled": cancelled})


def _made_by_this_request(scene: Scene) -> Answer | None:
    """The room's last change was made by the keyed request being served (its retry): its answer."""
    from chalicelib import request_key

    request = request_key.current()
    history = (scene.room.history if scene.room is not None else None) or []
    if not request or not history or history[-1].get("request") != request or scene.current is None:
        return None
    return Answer(MATCHED, tuple(history[-1].get("reasons") or ()), scene.current.id, scene.room_id)


def finish_handover(room: RoomModel | None, now: datetime) -> bool:
    """The room's last handover, if its follow-up is still due (the request that made it died
    before doing it): do it now, as the sweep would. A retry of the change thus completes it."""
    history = (room.history if room is not None else None) or []
    if len(history) < 2:  # a first match: no old provider
        return False
    timer = care.get(care.followup_id(room.id, len(history)))
    if not care.is_due(timer):
        return False
    follow_up(timer.id, dict(timer.data or {}), now)
    return True


def _conflicted(error: Exception) -> bool:
    """DynamoDB cancelled the transaction for a concurrent one on the same item (not a condition)."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "TransactionConflict" for r in reasons)


def _retrying(attempt_fn):
    """Run `attempt_fn(attempt)` until it returns, re-reading after each refused transaction."""
    from pynamodb.exceptions import TransactWriteError

    for attempt in range(ATTEMPTS):
        try:
            return attempt_fn(attempt)
        except Refused:
            continue
        except TransactWriteError as error:
            if not _conflicted(error) or attempt == ATTEMPTS - 1:
                raise
    raise HavenError("Too many changes at once; try again.", "invalid_state", details={"state": "busy"})


# --- intake and change of provider (the client) ----------------------------------------------------

def _not_discharged(client: UserModel) -> None:
    if client.status == "discharged":
        raise HavenError("Your care with Haven has ended.", "discharged")


def _intake_actions(client: UserModel, body: dict, now: datetime) -> list:
    """Record the intake on the client (in memory, and as the actions that store it)."""
    intakes = dict(client.intake or {})
    intakes[body["provider_kind"]] = {"focus_areas": list(body["focus_areas"]),
                                      "gender_preference": body.get("gender_preference"),
                                      "provider_name": body.get("provider_name"), "at": iso(now)}
    client.region, client.languages, client.intake = body["region"], list(body["languages"]), intakes
    return [UserModel.region.set(client.region), UserModel.languages.set(client.languages),
            UserModel.intake.set(intakes), UserModel.updated_at.set(iso(now))]


def intake(caller: Caller, body: dict, now: datetime) -> dict:
    """`PUT /clients/me/intake`: record what the client asks for (profile region and languages,
    and the rest per provider kind) and match them, in the same transaction, unless they already
    have a provider of that kind (then the answer names that provider: a retry, or a second
    intake, never moves a client; a change of provider is its own route)."""
    kind = body["provider_kind"]

    def attempt(n: int) -> Answer:
        client = _client(caller.id)
        _not_discharged(client)
        actions = _intake_actions(client, body, now)
        scene = _scene(client, kind, client.region)
        if scene.current is not None:
            client.update(actions=actions, add_version_condition=False)
            return Answer(MATCHED, _last_reasons(scene.room), scene.current.id, scene.room.id)
        needs = needs_of(client, kind)
        chosen = _choose(scene, needs, now)
        if chosen is None:
            return _wait(scene, needs, now, INTAKE, caller.id, client_actions=actions)
        room_id = _commit(scene, Move(INTAKE, caller.id, scene.providers[chosen.provider_id], chosen.reasons,
                                      client_actions=tuple(actions)), now)
        return Answer(MATCHED, chosen.reasons, chosen.provider_id, room_id)

    return _retrying(attempt).view()


def _waiting_reasons(needs: rules.Needs) -> tuple[str, ...]:
    named = bool(needs.provider_name and needs.provider_name.strip())
    return ((rules.REQUESTED_PROVIDER_UNAVAILABLE,) if named else ()) + (rules.NO_PROVIDER_AVAILABLE,)


def _wait(scene: Scene, needs: rules.Needs, now: datetime, reason: str, by: str,
          from_provider: str | None = None, client_actions: list | None = None) -> Answer:
    """Nobody fits now: the client waits (their waiting item is retried by the deadlines sweep).
    A client who still has a provider (a change of mind) keeps them and stays `active`."""
    s = wiring.settings()
    uow = UnitOfWork()
    previous = scene.waiting.data if care.is_due(scene.waiting) else {}
    data = {"client_id": scene.client.id, "kind": scene.kind, "since": previous.get("since") or iso(now),
            "reason": reason, "ops_told": bool(previous.get("ops_told"))}
    if from_provider:
        data["from_provider_id"] = from_provider
    care.stage_waiting(uow, scene.client.id, scene.kind, data, now + timedelta(minutes=s.match_retry_minutes), now)
    actions = list(client_actions or [])
    if from_provider is None and scene.client.status != "discharged":
        waiting = dict(scene.client.waiting or {})
        waiting.setdefault(scene.kind, {"since": data["since"], "reason": reason})
        actions += [UserModel.status.set(WAITING), UserModel.waiting.set(waiting)]
    if actions:
        uow.update(scene.client, actions, UserModel.id.exists(), add_version_condition=False)
    uow.commit()
    logger.info("client waiting", extra={"client_id": scene.client.id, "kind": scene.kind, "reason": reason})
    return Answer(WAITING, _waiting_reasons(needs))


def change_provider(caller: Caller, body: dict, now: datetime) -> dict:
    """`POST /clients/me/provider-change`: matching without the current provider. A match takes
    over the same room at once; nobody fitting leaves the current provider in place (the client
    stays `active`) and the deadlines sweep keeps looking."""
    kind = body["provider_kind"]

    def attempt(n: int) -> Answer:
        fresh = _client(caller.id)
        _not_discharged(fresh)
        scene = _scene(fresh, kind, fresh.region)
        made = _made_by_this_request(scene)
        if made is not None:  # this request's first attempt moved the room, then died: finish, answer it
            finish_handover(scene.room, now)
            return made
        if scene.current is None:
            state = "waiting" if (fresh.waiting or {}).get(kind) else "no_provider"
            raise HavenError(f"You have no {kind} to change" + (" yet: we are still finding you one." if state ==
                             "waiting" else ": tell us what you need with PUT /clients/me/intake."),
                             "invalid_state", details={"state": state})
        needs = needs_of(fresh, kind, with_name=False)
        chosen = _choose(scene, needs, now, exclude=(scene.current.id,))
        if chosen is None:
            return _wait(scene, needs, now, CHANGE, caller.id, from_provider=scene.current.id)
        room_id = _commit(scene, Move(CHANGE, caller.id, scene.providers[chosen.provider_id], chosen.reasons), now)
        return Answer(MATCHED, chosen.reasons, chosen.provider_id, room_id)

    return _retrying(attempt).view()
