"""Rooms and their messages: membership-checked counter updates and keyset pages."""
from __future__ import annotations

import hashlib
import secrets

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.store.errors import condition_failed
from chalicelib.store.models import MessageModel, RoomModel

SENDER_COUNTER = {"client": "sent_client", "provider": "sent_provider", "system": "sent_system"}
# Haven's notices addressed to one member only (e.g. the out-of-hours reply promise, to the client)
NOTICE_COUNTER = {None: "sent_system", "client": "sent_system_client", "provider": "sent_system_provider"}
# What each member's unread count is made of: the other member's messages, Haven's notices to both
# members and Haven's notices to them alone; never their own messages, never a notice to the other.
ADDRESSED_TO = {"client": ("provider", "system", "system_client"),
                "provider": ("client", "system", "system_provider")}


def room_id_for(client_id: str, provider_kind: str) -> str:
    """One room per client per provider kind (SPEC §2); deterministic so assignment is idempotent."""
    digest = hashlib.sha256(f"room:{client_id}:{provider_kind}".encode()).hexdigest()[:24]
    return f"room_{digest}"


def get(room_id: str, consistent: bool = False) -> RoomModel | None:
    try:
        return RoomModel.get(room_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def for_client(client_id: str) -> list[RoomModel]:
    return list(RoomModel.by_client.query(client_id))


def page_for_member(role: str, member_id: str, limit: int, after_id: str | None) -> tuple[list[RoomModel], bool]:
    """A member's rooms by id, `limit` at a time, continuing after `after_id`. One Query."""
    index, key = (RoomModel.by_client, "client_id") if role == "client" else (RoomModel.by_provider, "provider_id")
    last_key = {key: {"S": member_id}, "id": {"S": after_id}} if after_id else None
    items = list(index.query(member_id, limit=limit + 1, last_evaluated_key=last_key, page_size=limit + 1))
    return items[:limit], len(items) > limit


def stage_new_room(uow, client_id: str, provider_id: str, provider_kind: str, now_iso: str, entry: dict, *,
                   plan_kind: str | None = None, key_blob: bytes | None = None) -> str:
    """The client's first room of this kind, created with its first history entry (only if absent)."""
    room_id = room_id_for(client_id, provider_kind)
    uow.create(RoomModel(room_id, client_id=client_id, provider_id=provider_id, provider_kind=provider_kind,
                         created_at=now_iso, plan_kind=plan_kind, key_blob=key_blob, history=[entry]))
    return room_id


def stage_handover(uow, room_id: str, from_provider_id: str | None, to_provider_id: str | None, entry: dict) -> None:
    """Hand the room (and its whole history) from one provider to another, or leave it with none
    (`to_provider_id` None: the client waits for a new provider), only if it is still the
    `from_provider_id`'s (None: the room has no provider now). The old provider is out the moment
    this commits: every membership check reads `provider_id`."""
    condition = (RoomModel.provider_id == from_provider_id) if from_provider_id \
        else (RoomModel.id.exists() & RoomModel.provider_id.does_not_exist())
    move = RoomModel.provider_id.set(to_provider_id) if to_provider_id else RoomModel.provider_id.remove()
    # The new provider's first new-message alert must not wait on one the old provider never read.
    uow.update(RoomModel(room_id), [move, RoomModel.history.set((RoomModel.history | []).append([entry])),
                                    RoomModel.alert_provider_at.remove(), RoomModel.alert_provider_seq.remove()],
               condition)


LAST_POST = {"client": RoomModel.last_post_client, "provider": RoomModel.last_post_provider,
             "system": RoomModel.last_post_system}


def stage_member_message(uow, room: RoomModel, role: str, sender_id: str | None, now_iso: str, request: str | None,
                         extra_actions: list, *, counter: str | None = None, **fields) -> MessageModel:
    """The next message in the room and the room's counters, in `uow`, from the room as read: the
    room update is conditioned on the room being unchanged since (`seq`; for a member's message
    also membership, the provider and the recipient's read marker), so the reply promise and the
    alert decided from that read hold; a refusal means "read again". `counter`: the room counter
    the message adds to (default: its author's, `SENDER_COUNTER`; a notice to one member:
    `NOTICE_COUNTER`). `extra_actions`: what the
    message's handlers set on the room (one update per item in a transaction). `request`: the
    keyed request's digest (a member's) or the outbox notice's id (a system message)."""
    seq = int(room.seq or 0) + 1
    counter = counter or SENDER_COUNTER[role]
    counts = {name: int(getattr(room, name) or 0)
              for name in dict.fromkeys([*SENDER_COUNTER.values(), *NOTICE_COUNTER.values()])}
    counts[counter] += 1
    # the room's counts right after this message, for read markers: sent_x -> count_x
    message = MessageModel(room.id, seq, id=message_id(seq), sender_id=sender_id, sender_role=role,
                           created_at=now_iso, **{"count_" + name[len("sent_"):]: n for name, n in counts.items()},
                           **fields)
    uow.create(message, MessageModel.seq.does_not_exist())
    actions = [RoomModel.seq.set(seq), getattr(RoomModel, counter).set(counts[counter]),
               RoomModel.last_message_at.set(now_iso)]
    if request:
        actions.append(LAST_POST[role].set(f"{request}#{seq}"))
    condition = (RoomModel.seq == seq - 1) if seq > 1 else (RoomModel.seq.does_not_exist() | (RoomModel.seq == 0))
    if role == "system":  # Haven's own message: no membership, no alert decided from the read
        uow.update(RoomModel(room.id), actions + list(extra_actions), condition & RoomModel.id.exists())
        return message
    if role == "client":
        condition &= RoomModel.client_id == sender_id
        condition &= (RoomModel.provider_id == room.provider_id) if room.provider_id \
            else RoomModel.provider_id.does_not_exist()
        read_seq = RoomModel.read_provider_seq
        read_value = room.read_provider_seq
    else:
        condition &= RoomModel.provider_id == sender_id
        read_seq = RoomModel.read_client_seq
        read_value = room.read_client_seq
    condition &= (read_seq == int(read_value)) if read_value else (read_seq.does_not_exist() | (read_seq == 0))
    uow.update(RoomModel(room.id), actions + list(extra_actions), condition)
    return message


def posted_by_request(room: RoomModel, role: str, request: str | None) -> int | None:
    """The seq of the message this keyed request already posted in the room (a retry), if any."""
    last = getattr(room, LAST_POST[role].attr_name)
    if not request or not last or not last.startswith(request + "#"):
        return None
    return int(last.rsplit("#", 1)[1])


def message_id(seq: int) -> str:
    return f"msg_{seq:010d}{secrets.token_hex(4)}"


def seq_of(message_id_value: str) -> int | None:
    if not isinstance(message_id_value, str) or not message_id_value.startswith("msg_") or len(message_id_value) != 22:
        return None
    try:
        return int(message_id_value[4:14])
    except ValueError:
        return None


def get_message(room_id: str, seq: int) -> MessageModel | None:
    try:
        return MessageModel.get(room_id, seq)
    except DoesNotExist:
        return None


def message_page(room_id: str, limit: int, before_seq: int | None) -> tuple[list[MessageModel], bool]:
    """Newest first; `before_seq` continues a page. One Query of `limit + 1` items."""
    last_key = {"room_id": {"S": room_id}, "seq": {"N": str(before_seq)}} if before_seq else None
    items = list(MessageModel.query(room_id, scan_index_forward=False, limit=limit + 1,
                                    last_evaluated_key=last_key, page_size=limit + 1))
    return items[:limit], len(items) > limit


def mark_read(room_id: str, role: str, read_count: int, seq: int) -> None:
    """Move the member's read marker forward only (an older message_id changes nothing)."""
    count_attr = RoomModel.read_client if role == "client" else RoomModel.read_provider
    seq_attr = RoomModel.read_client_seq if role == "client" else RoomModel.read_provider_seq
    try:
        RoomModel(room_id).update(actions=[count_attr.set(read_count), seq_attr.set(seq)],
                                  condition=(seq_attr < seq) | seq_attr.does_not_exist())
    except UpdateError as error:
        if not condition_failed(error):
            raise


def read_count(message: MessageModel, role: str) -> int:
    """How many messages addressed to `role` the room held up to and including `message`."""
    return int(sum(getattr(message, f"count_{part}") or 0 for part in ADDRESSED_TO[role]))


def unread_count(room: RoomModel, role: str) -> int:
    addressed = sum(getattr(room, f"sent_{part}") or 0 for part in ADDRESSED_TO[role])
    read = room.read_client if role == "client" else room.read_provider
    return max(0, int(addressed - (read or 0)))


def set_plan_kind(client_id: str, plan_kind: str) -> None:
    for room in for_client(client_id):
        room.update(actions=[RoomModel.plan_kind.set(plan_kind)])


def stage_plan_kind(uow, client_id: str, plan_kind: str) -> None:
    """The plan kind copied onto each of the client's rooms, in the caller's transaction."""
    for room in for_client(client_id):
        uow.update(RoomModel(room.id), [RoomModel.plan_kind.set(plan_kind)])


class RoomKeys:
    """Where each room's KMS-encrypted data key lives: on the room item."""

    def get(self, room_id: str) -> bytes | None:
        try:
            room = RoomModel.get(room_id, attributes_to_get=["id", "key_blob"])
        except DoesNotExist:
            return None
        return room.key_blob

    def put_if_absent(self, room_id: str, blob: bytes) -> bytes:
        """Store `blob` unless the room has a key already; return the key the room ends up with."""
        try:
            RoomModel(room_id).update(actions=[RoomModel.key_blob.set(blob)],
                                      condition=RoomModel.id.exists() & RoomModel.key_blob.does_not_exist())
            return blob
        except UpdateError as error:
            if not condition_failed(error):
                raise
        existing = RoomModel.get(room_id, consistent_read=True, attributes_to_get=["id", "key_blob"])
        if existing.key_blob is None:  # no such room: nothing to encrypt for
            raise DoesNotExist()
        return existing.key_blob
