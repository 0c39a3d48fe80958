"""Envelope encryption of message bodies: a data key per room under the KMS key, message bodies
sealed with the AWS Encryption SDK.

Each room has one 256-bit data key, made by KMS `GenerateDataKey` with the encryption context
`{"purpose": "room-key", "room_id": ...}` and stored only as its KMS ciphertext on the room item.
A message body is an Encryption SDK message whose data key is wrapped by the room key (a raw AES
master key), with the encryption context `{"purpose": "message", "room_id": ...}`, checked again
on decrypt. The plaintext room key is cached per container for a bounded time (settings:
`data_key_cache_seconds`) and a bounded number of rooms, so reading a page of 50 messages costs
at most one KMS `Decrypt`, however long ago and by whichever container they were written. A table
reader sees only ciphertext: the room key needs KMS (and its grant) to be usable.

The SDK and KMS are touched only when a body is.
"""
from __future__ import annotations

import hashlib
import importlib
import sys
import threading
import time
import types
from collections import OrderedDict

from chalicelib.errors import HavenError

PROVIDER_ID = "haven-room-key"


class _Deferred(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet; the first attribute read imports
    the real one (which then takes its place in `sys.modules`) and reads it there."""

    _lock = threading.Lock()

    def __getattr__(self, name):
        real = self.__dict__.get("_real")
        if real is None:
            with self._lock:
                real = self.__dict__.get("_real")
                if real is None:
                    if sys.modules.get(self.__name__) is self:
                        del sys.modules[self.__name__]
                    real = self.__dict__["_real"] = importlib.import_module(self.__name__)
        return getattr(real, name)


def _import_sdk():
    """The Encryption SDK, imported with boto3 deferred if nothing imported it yet. The SDK
    imports boto3 at its top for its KMS key provider, which Haven does not use (a room key is a
    raw AES key, unwrapped with Haven's own KMS client), and boto3's import (s3transfer and all)
    would add ~200 ms to the first request that touches a body. The SDK's `boto3` is a
    `_Deferred` until something reads from it (Haven's S3 client, in `wiring`)."""
    if "boto3" not in sys.modules:
        sys.modules["boto3"] = _Deferred("boto3")
    import aws_encryption_sdk

    return aws_encryption_sdk


class MessageCipher:
    # What the encryption contexts say: the purpose of a scope's data key, the purpose of a sealed
    # body, and the name of the id both are bound to (a room's, for messages).
    KEY_PURPOSE, BODY_PURPOSE, SCOPE = "room-key", "message", "room_id"

    def __init__(self, kms, key_arn: str, room_keys, *, max_age: float = 300.0, capacity: int = 1000,
                 clock=time.monotonic):
        """`kms`: a boto3 KMS client (or a callable returning one); `room_keys`: the store of
        room key ciphertexts (`get(room_id)`, `put_if_absent(room_id, blob) -> blob`)."""
        self._kms = kms
        self.key_arn = key_arn
        self.room_keys = room_keys
        self.max_age = max_age
        self.capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, bytes], tuple[float, object]] = OrderedDict()
        self._sdk = None

    @property
    def kms(self):
        return self._kms() if callable(self._kms) else self._kms

    def _client(self):
        if self._sdk is None:
            aws_encryption_sdk = _import_sdk()
            from aws_encryption_sdk.identifiers import CommitmentPolicy

            self._sdk = aws_encryption_sdk.EncryptionSDKClient(
                commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
        return self._sdk

    # --- room keys ------------------------------------------------------------------------

    def _context(self, room_id: str) -> dict:
        return {"purpose": self.KEY_PURPOSE, self.SCOPE: room_id}

    def _master_key(self, room_id: str, plaintext_key: bytes):
        _import_sdk()
        from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
        from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
        from aws_encryption_sdk.key_providers.raw import RawMasterKey

        return RawMasterKey(provider_id=PROVIDER_ID, key_id=room_id.encode(), wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
            wrapping_key=plaintext_key, wrapping_key_type=EncryptionKeyType.SYMMETRIC))

    def _remember(self, room_id: str, blob: bytes, master_key) -> None:
        with self._lock:
            self._cache[(room_id, hashlib.sha256(blob).digest())] = (self._clock() + self.max_age, master_key)
            self._cache.move_to_end((room_id, hashlib.sha256(blob).digest()))
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def _cached(self, room_id: str, blob: bytes):
        key = (room_id, hashlib.sha256(blob).digest())
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                return None
            expires, master_key = hit
            if expires <= self._clock():
                del self._cache[key]
                return None
            return master_key

    def new_room_key(self, room_id: str) -> bytes:
        """A fresh room key's KMS ciphertext (to store with a new room); its plaintext is cached."""
        generated = self.kms.generate_data_key(KeyId=self.key_arn, KeySpec="AES_256",
                                               EncryptionContext=self._context(room_id))
        self._remember(room_id, generated["CiphertextBlob"], self._master_key(room_id, generated["Plaintext"]))
        return generated["CiphertextBlob"]

    def _room_master_key(self, room_id: str, blob: bytes | None):
        if blob is None:
            blob = self.room_keys.get(room_id)
        if blob is None:  # a room made before keys came with rooms: make its key once
            blob = self.room_keys.put_if_absent(room_id, self.new_room_key(room_id))
        master_key = self._cached(room_id, blob)
        if master_key is None:
            plaintext = self.kms.decrypt(CiphertextBlob=blob, KeyId=self.key_arn,
                                         EncryptionContext=self._context(room_id))["Plaintext"]
            master_key = self._master_key(room_id, plaintext)
            self._remember(room_id, blob, master_key)
        return master_key

    # --- message bodies ---------------------------------------------------------------------

    def encrypt(self, room_id: str, plaintext: str, key_blob: bytes | None = None, *,
                purpose: str | None = None, context: dict | None = None) -> bytes:
        """Seal `plaintext` with the room's key. `purpose` and `context` (e.g. the clinical
        record's `{"booking_id"}`) go into the encryption context, so a sealed record cannot be
        passed off as a message, or one booking's entry as another's."""
        _import_sdk()
        from aws_encryption_sdk.identifiers import Algorithm

        master_key = self._room_master_key(room_id, key_blob)
        ciphertext, _header = self._client().encrypt(
            source=plaintext.encode("utf-8"), key_provider=master_key,
            encryption_context={**(context or {}), "purpose": purpose or self.BODY_PURPOSE, self.SCOPE: room_id},
            algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY)
        return ciphertext

    def decrypt(self, room_id: str, ciphertext: bytes, key_blob: bytes | None = None, *,
                purpose: str | None = None, context: dict | None = None) -> str:
        """Open a body sealed by `encrypt`. With `purpose` (and `context`) given, the body must
        have been sealed for exactly those."""
        master_key = self._room_master_key(room_id, key_blob)
        plaintext, header = self._client().decrypt(source=ciphertext, key_provider=master_key)
        # The SDK proves integrity; this proves the body belongs to this scope (and use).
        sealed = header.encryption_context
        expected = {**(context or {}), self.SCOPE: room_id, **({"purpose": purpose} if purpose else {})}
        if any(sealed.get(key) != value for key, value in expected.items()):
            raise HavenError("A message could not be read.", "internal_error")
        return plaintext.decode("utf-8")


class NoteCipher(MessageCipher):
    """Free text of session requests (the client's note, the provider's decline reason): the same
    envelope scheme with one data key per request, bound to the request id. A request may be made
    to a provider the client shares no room with, so no room key can serve."""
    KEY_PURPOSE, BODY_PURPOSE, SCOPE = "request-key", "request-text", "request_id"


class UserCipher(MessageCipher):
    """What a user keeps to themselves (a client's journal entries and mood notes; anyone's answers
    kept for Idempotency-Key retries): the same envelope scheme with one data key per user, bound to
    the user id. They belong to no room, so no room key can serve (and a change of provider must
    change nothing about who can read them). Callers name the body's purpose (`journal`,
    `mood-note`, `idempotency-record`), so one kind cannot be passed off as another."""
    KEY_PURPOSE, BODY_PURPOSE, SCOPE = "user-key", "user-data", "user_id"
