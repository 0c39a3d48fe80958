"""A client's own between-sessions data (the `between` table): their own data key, journal
entries and mood check-ins, keyed by client; ids sort in time order (`jr_` / `md_` + epoch ms +
random). (A provider's partition holds only their own data key, for their idempotency records.)

Free text arrives here already encrypted (`body`); this module only stores and pages it.
Shared journal entries also sit in the sparse `shared` index, which is all a provider reads.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.store.errors import condition_failed
from chalicelib.store.models import BetweenModel

KEY_ID = "key"
JOURNAL = "jr_"
MOOD = "md_"


def _ms(instant: datetime) -> int:
    return int(instant.astimezone(timezone.utc).timestamp() * 1000)


def new_id(prefix: str, now: datetime) -> str:
    """An id that sorts by creation time (to the millisecond), then at random."""
    return f"{prefix}{_ms(now):013d}{secrets.token_hex(4)}"


def id_time_bound(prefix: str, instant: datetime) -> str:
    """The smallest id of `prefix` created at or after `instant`."""
    return f"{prefix}{_ms(instant):013d}"


def is_id(prefix: str, value) -> bool:
    return isinstance(value, str) and value.startswith(prefix) and len(value) == len(prefix) + 21


class UserKeys:
    """Where each user's own KMS-encrypted data key lives: the `key` item of their partition.
    A client's seals their journal and mood notes; anyone's seals their idempotency records.

    A key item is written once and never changed, so the ciphertexts read are remembered per
    container (at most `capacity` users): a page of 50 entries reads the item once, not 50 times.
    """

    def __init__(self, capacity: int = 1000):
        import threading
        from collections import OrderedDict

        self.capacity = capacity
        self._known: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _remember(self, user_id: str, blob: bytes) -> bytes:
        with self._lock:
            self._known[user_id] = blob
            self._known.move_to_end(user_id)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)
        return blob

    def get(self, user_id: str) -> bytes | None:
        with self._lock:
            known = self._known.get(user_id)
        if known is not None:
            return known
        try:
            blob = BetweenModel.get(user_id, KEY_ID, consistent_read=True).key_blob
        except DoesNotExist:
            return None
        return self._remember(user_id, blob)

    def put_if_absent(self, user_id: str, blob: bytes) -> bytes:
        """Store `blob` unless the user has a key already; the key the user ends up with."""
        try:
            BetweenModel(user_id, KEY_ID, kind="key", key_blob=blob).save(
                condition=BetweenModel.id.does_not_exist())
            return self._remember(user_id, blob)
        except PutError as error:
            if not condition_failed(error):
                raise
        return self._remember(user_id, BetweenModel.get(user_id, KEY_ID, consistent_read=True).key_blob)


# --- journal ------------------------------------------------------------------------------------

def put_journal(client_id: str, entry_id: str, created_at: str, body: bytes, shared: bool) -> BetweenModel:
    entry = BetweenModel(client_id, entry_id, kind="journal", created_at=created_at, body=body, shared=shared,
                         shared_client_id=client_id if shared else None)
    entry.save(condition=BetweenModel.id.does_not_exist())
    return entry


def journal_page(client_id: str, limit: int, after_id: str | None, *, shared_only: bool = False):
    """Newest first, `limit` at a time after `after_id`; (items, more). One Query of limit + 1.
    `shared_only` reads the sparse `shared` index: private entries are never read at all."""
    if shared_only:
        last_key = ({"shared_client_id": {"S": client_id}, "id": {"S": after_id}, "client_id": {"S": client_id}}
                    if after_id else None)
        query = BetweenModel.shared_index.query(client_id, BetweenModel.id.startswith(JOURNAL),
                                                scan_index_forward=False, limit=limit + 1,
                                                last_evaluated_key=last_key, page_size=limit + 1)
    else:
        last_key = {"client_id": {"S": client_id}, "id": {"S": after_id}} if after_id else None
        query = BetweenModel.query(client_id, BetweenModel.id.startswith(JOURNAL), scan_index_forward=False,
                                   limit=limit + 1, last_evaluated_key=last_key, page_size=limit + 1)
    items = list(query)
    return items[:limit], len(items) > limit


def all_journal(client_id: str):
    """Every entry, oldest first (lazily paged): the client's export."""
    return BetweenModel.query(client_id, BetweenModel.id.startswith(JOURNAL), page_size=200)


# --- moods --------------------------------------------------------------------------------------

def put_mood(client_id: str, mood_id: str, created_at: str, score: int, emotions: list[str],
             note: bytes | None) -> BetweenModel:
    mood = BetweenModel(client_id, mood_id, kind="mood", created_at=created_at, score=score,
                        emotions=list(emotions), body=note)
    mood.save(condition=BetweenModel.id.does_not_exist())
    return mood


def moods_between(client_id: str, start: datetime, end: datetime) -> list[BetweenModel]:
    """Check-ins created in `[start, end)`, oldest first: one Query on the key range."""
    low, high = id_time_bound(MOOD, start), id_time_bound(MOOD, end)
    return [m for m in BetweenModel.query(client_id, BetweenModel.id.between(low, high), page_size=500)
            if m.id < high]


def all_moods(client_id: str):
    return BetweenModel.query(client_id, BetweenModel.id.startswith(MOOD), page_size=500)
