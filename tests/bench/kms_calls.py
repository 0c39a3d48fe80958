"""Issue 2 bench (3): KMS calls to read a page of 50 messages in a cold container.

Message bodies are envelope-encrypted under the KMS key, with data keys cached for a bounded
time (whatever the cipher's design, the bench only counts calls). 50 text messages are posted
through the API, then the adapters are rebuilt (`wiring.reset()`: a fresh cipher, as in a new Lambda
container) and one page of 50 is read; KMS calls are counted through botocore events.

Two histories are measured, because a cache in one container cannot help with keys chosen by others:
- burst: the 50 messages were written in one go by one container;
- spread: each message was written by a different container (`wiring.reset()` before each
  post), as when messages are hours apart: whatever a container caches is gone by the next one.
Target: a handful of KMS calls per page, not 50.
"""
from __future__ import annotations

from datetime import timedelta

from tests.bench._support import MONDAY_10_NEW_YORK, Api, Cognito, World, fixed_clock, record, result, stack

PAGE = 50
TARGET = 5  # "a handful"


def _cold_container(at):
    from chalicelib import wiring

    wiring.reset()  # a fresh cipher (new data-key cache and KMS client), as in a new container
    return fixed_clock(at)


def _history(api: Api, world: World, *, spread: bool) -> tuple[str, object, int]:
    """A room with PAGE messages; returns (room_id, a member, KMS calls made while writing)."""
    client, provider = world.client(), world.provider()
    room_id = world.room(client, provider)
    clock = _cold_container(MONDAY_10_NEW_YORK)
    with record() as calls:
        for i in range(PAGE):
            if spread:  # each message written by another container (as when they are hours apart)
                clock = _cold_container(clock.at)
            clock.advance(minutes=40 if spread else 1)
            api.ok("POST", f"/rooms/{room_id}/messages", (client, provider)[i % 2],
                   {"kind": "text", "text": f"message {i}: how are you feeling today?"})
    return room_id, client, len(calls.of("kms"))


def _read_page_cold(api: Api, room_id: str, member) -> tuple[int, int, dict]:
    _cold_container(MONDAY_10_NEW_YORK + timedelta(days=1))
    with record() as cold:
        page = api.ok("GET", f"/rooms/{room_id}/messages?limit={PAGE}", member)
    assert len(page["items"]) == PAGE and all(m.get("text") for m in page["items"])
    with record() as warm:
        api.ok("GET", f"/rooms/{room_id}/messages?limit={PAGE}", member)
    operations: dict = {}
    for call in cold.of("kms"):
        operations[call.operation] = operations.get(call.operation, 0) + 1
    return len(cold.of("kms")), len(warm.of("kms")), operations


def run() -> list[dict]:
    s = stack()
    api = Api()
    world = World(api, Cognito(s))
    out = []
    for spread, label in ((False, "burst: written together by one container"),
                          (True, "spread: each message written by another container")):
        room_id, member, written = _history(api, world, spread=spread)
        cold, warm, operations = _read_page_cold(api, room_id, member)
        ops_text = ", ".join(f"{n} {op}" for op, n in sorted(operations.items())) or "none"
        out.append(result(f"kms calls, cold read of a {PAGE}-message page [{label}]", cold, "calls",
                          baseline=PAGE, target=f"<= {TARGET}", ok=cold <= TARGET,
                          note=f"{ops_text}; same page again in the warm container: {warm}; "
                               f"writing the {PAGE} messages took {written} KMS calls"))
    return out
