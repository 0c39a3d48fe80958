"""Envelope encryption of message bodies with the AWS Encryption SDK under the KMS key.

The encryption context binds each ciphertext to its room (checked again on decrypt), and a
caching materials manager reuses data keys for a bounded time and message count, so a page of
50 messages costs one KMS Decrypt, not 50. The SDK is imported only when a body is touched.
"""
from __future__ import annotations

import threading

from chalicelib.errors import HavenError


class MessageCipher:
    def __init__(self, key_arn: str, region: str, *, max_age: float = 300.0, max_messages: int = 10_000,
                 cache_capacity: int = 1000, endpoint_url: str | None = None, botocore_session=None):
        self.key_arn = key_arn
        self.region = region
        self.max_age = max_age
        self.max_messages = max_messages
        self.cache_capacity = cache_capacity
        self.botocore_session = botocore_session
        self._lock = threading.Lock()
        self._sdk = None
        self._cmm = None

    def _materials(self):
        if self._cmm is None:
            with self._lock:
                if self._cmm is None:
                    import aws_encryption_sdk
                    import botocore.session
                    from aws_encryption_sdk.identifiers import CommitmentPolicy

                    session = self.botocore_session or botocore.session.Session()
                    if session.get_config_variable("region") is None:
                        session.set_config_variable("region", self.region)
                    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
                        key_ids=[self.key_arn], botocore_session=session)
                    cache = aws_encryption_sdk.LocalCryptoMaterialsCache(capacity=self.cache_capacity)
                    self._cmm = aws_encryption_sdk.CachingCryptoMaterialsManager(
                        master_key_provider=provider, cache=cache, max_age=float(self.max_age),
                        max_messages_encrypted=self.max_messages)
                    self._sdk = aws_encryption_sdk.EncryptionSDKClient(
                        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
        return self._sdk, self._cmm

    def encrypt(self, room_id: str, plaintext: str) -> bytes:
        sdk, cmm = self._materials()
        ciphertext, _header = sdk.encrypt(source=plaintext.encode("utf-8"), materials_manager=cmm,
                                          encryption_context={"purpose": "message", "room_id": room_id})
        return ciphertext

    def decrypt(self, room_id: str, ciphertext: bytes) -> str:
        sdk, cmm = self._materials()
        plaintext, header = sdk.decrypt(source=ciphertext, materials_manager=cmm)
        # The SDK proves integrity; we prove the body belongs to this room (no copy-paste between rooms).
        if header.encryption_context.get("room_id") != room_id:
            raise HavenError("A message could not be read.", "internal_error")
        return plaintext.decode("utf-8")
