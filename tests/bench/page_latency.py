"""Issue 3 bench (5): reading a page of messages costs the same in a long history as in a short one.

Two rooms are filled directly (batch writes of `MessageModel` items whose bodies are encrypted by
the app's own cipher for that room, so every read really decrypts): one with 10,000 messages,
one with 10. Then `GET /rooms/{id}/messages?limit=10` (a full page in both rooms) is read in
process with a real token, RUNS times each, interleaved, in a warm container; the medians are
compared. A page from the middle of the long history (a `next` cursor at message 5,000) is
measured too. The messages are a keyset Query of `limit + 1` items on (room, seq), so a page
reads at most `limit + 1` items however long the history.

The emulator answers every Query by walking the whole table and sorting the partition (moto
keeps no B-tree), which real DynamoDB does not; the items read are the emulator-independent
proof, and the time spent outside the Query call is shown beside the wall time.
"""
from __future__ import annotations

from datetime import timedelta

from tests.bench._support import (
    MONDAY_10_NEW_YORK, Api, Cognito, fixed_clock, median, record, result, stack, timed)

BIG = 10_000
SMALL = 10
LIMIT = 10
RUNS = 25
TARGET = 1.5
DISTINCT_BODIES = 100  # encrypted once each and reused: writing 10,000 is then a matter of seconds


def _room(client_id: str, messages: int, now) -> str:
    import uuid

    from chalicelib import wiring
    from chalicelib.clock import iso
    from chalicelib.store.models import MessageModel, RoomModel
    from chalicelib.store.rooms import message_id

    room_id = f"room_bench_{uuid.uuid4().hex[:16]}"
    provider_id = f"bench-provider-{uuid.uuid4().hex[:8]}"
    start = now - timedelta(minutes=messages)
    # The room first: the cipher may keep the room's key on it.
    RoomModel(room_id, client_id=client_id, provider_id=provider_id, provider_kind="therapist",
              created_at=iso(start)).save()
    cipher = wiring.get("cipher")
    bodies = [cipher.encrypt(room_id, f"message {i}: how did this week go? " * 3)
              for i in range(min(messages, DISTINCT_BODIES))]
    sent = {"client": 0, "provider": 0}
    with MessageModel.batch_write() as batch:
        for seq in range(1, messages + 1):
            role = "client" if seq % 2 else "provider"
            sent[role] += 1
            batch.save(MessageModel(room_id, seq, id=message_id(seq), kind="text",
                                    sender_id=client_id if role == "client" else provider_id, sender_role=role,
                                    created_at=iso(start + timedelta(minutes=seq)), body=bodies[seq % len(bodies)],
                                    count_client=sent["client"], count_provider=sent["provider"], count_system=0))
    RoomModel(room_id).update(actions=[RoomModel.seq.set(messages), RoomModel.sent_client.set(sent["client"]),
                                       RoomModel.sent_provider.set(sent["provider"]),
                                       RoomModel.last_message_at.set(iso(now))])
    return room_id


def run() -> list[dict]:
    s = stack()
    from chalicelib import wiring

    api = Api()
    wiring.reset()
    fixed_clock(MONDAY_10_NEW_YORK)
    client = Cognito(s).client()  # a member of both rooms (membership is the room's client_id)
    write_ms, big = timed(lambda: _room(client.id, BIG, MONDAY_10_NEW_YORK))
    small = _room(client.id, SMALL, MONDAY_10_NEW_YORK)
    middle = wiring.get("cursors").encode(f"messages:{big}", BIG // 2 + 1)

    cases = {"big": f"/rooms/{big}/messages?limit={LIMIT}", "small": f"/rooms/{small}/messages?limit={LIMIT}",
             "deep": f"/rooms/{big}/messages?limit={LIMIT}&next={middle}"}
    for path in cases.values():  # warm: clients, data keys, signing key
        api.ok("GET", path, client)
    samples = {name: {"wall": [], "query": [], "items": [], "first": None} for name in cases}
    for _ in range(RUNS):
        for name, path in cases.items():
            with record() as recording:
                wall, page = timed(lambda: api.ok("GET", path, client))
            assert len(page["items"]) == LIMIT and all(m["text"] for m in page["items"])
            sample = samples[name]
            sample["wall"].append(wall)
            sample["query"].append(sum(c.ms for c in recording.of("dynamodb") if c.operation == "Query"))
            sample["items"].append(sum(c.items_read for c in recording.of("dynamodb") if c.operation == "Query"))
            sample["first"] = page["items"][0]["id"]
    assert samples["deep"]["first"].startswith(f"msg_{BIG // 2:010d}"), samples["deep"]["first"]

    def med(name, key):
        return median(samples[name][key])

    def rest(name):
        return median([w - q for w, q in zip(samples[name]["wall"], samples[name]["query"])])

    out = []
    labels = (("big", f"newest page, {BIG:,}-message room"),
              ("deep", f"page from message {BIG // 2:,}, {BIG:,}-message room"))
    for name, label in labels:
        value, base = med(name, "wall"), med("small", "wall")
        out.append(result(f"message page latency, {label}", value, "ms", baseline=base, target=f"<= {TARGET}x",
                          ok=value / base <= TARGET,
                          note=f"baseline: newest page of a {SMALL}-message room; limit={LIMIT}, median of {RUNS}; "
                               f"of which the emulator's Query {med(name, 'query'):.1f} ms vs "
                               f"{med('small', 'query'):.1f} ms"))
    for name, label in labels:
        value, base = rest(name), rest("small")
        out.append(result(f"message page latency outside the Query call, {label}", value, "ms", baseline=base,
                          target=f"<= {TARGET}x", ok=value / base <= TARGET,
                          note="the app's own work: token, membership read, decrypt, render, cursor"))
    items_big, items_small = med("big", "items"), med("small", "items")
    out.append(result(f"message page, dynamodb items read by the Query, {BIG:,}-message room", items_big, "items",
                      baseline=items_small, target=f"<= limit + 1 = {LIMIT + 1}", ok=items_big <= LIMIT + 1,
                      note=f"baseline: the {SMALL}-message room (all it has); plus one GetItem of the room for membership; the {BIG:,} messages were written in {write_ms / 1000:.1f} s"))
    return out
