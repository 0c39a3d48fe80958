"""Issue 2 bench (3): KMS calls to read a page of 50 messages in a cold container.

Message bodies are envelope-encrypted (AWS Encryption SDK, caching materials manager: a data key
is reused for a bounded time and number of messages). 50 text messages are posted through the
API, then the adapters are rebuilt (`wiring.reset()`: a fresh cipher, as in a new Lambda
container) and one page of 50 is read; KMS calls are counted through botocore events.

Two histories are measured, because the cache can only help when messages share a data key:
- burst: the 50 messages were written in one go by one container (they share one data key);
- spread: each message was written by a different container, or after the data-key cache
  expired (every message has its own data key: the usual case when messages are minutes to
  hours apart).
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
    if spread:
        # A cipher whose data-key cache serves one message: each message gets its own data key,
        # exactly as if each had been written by another container or after the cache expired.
        from chalicelib import wiring
        from chalicelib.adapters.crypto import MessageCipher

        settings = wiring.settings()
        wiring.override("cipher", MessageCipher(settings.kms_key_id, settings.region, max_messages=1,
                                                endpoint_url=settings.endpoint_url))
    with record() as calls:
        for i in range(PAGE):
            clock.advance(minutes=7)
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
    for spread, label in ((False, "burst: written together, one data key"),
                          (True, "spread: each message under its own data key")):
        room_id, member, written = _history(api, world, spread=spread)
        cold, warm, operations = _read_page_cold(api, room_id, member)
        ops_text = ", ".join(f"{n} {op}" for op, n in sorted(operations.items())) or "none"
        out.append(result(f"kms calls, cold read of a {PAGE}-message page [{label}]", cold, "calls",
                          baseline=PAGE, target=f"<= {TARGET}", ok=cold <= TARGET,
                          note=f"{ops_text}; same page again in the warm container: {warm}; "
                               f"writing the {PAGE} messages took {written} KMS calls"))
    return out
