"""Cognito ID token verification: signature against the pool's JWKS, issuer, audience, use, expiry.

The JWKS is fetched once per container, again when it is older than `cache_seconds`, and for an
unknown `kid` (key rotation) — but never more than once per `min_refresh_seconds` (60 s): a flood
of tokens with made-up `kid`s costs at most one fetch a minute, not one each. A `kid` still
missing after a fetch is remembered (a bounded negative cache) until the next refresh is allowed,
so it is refused without taking the lock again. A key Cognito rotates in is therefore found within
a minute of its first use.
Expiry is judged against real time, not the injected clock: it is a security boundary.

The token is checked here with `cryptography` (RSA PKCS#1 v1.5 with SHA-256, the only algorithm
accepted) rather than PyJWT, whose import (its x509 and SSH key support) cost about 175 ms of
every cold start's first request against 40 ms for the RSA verification alone (issue 16). The
checks are PyJWT's for these options: three base64url segments of JSON objects,
`alg` RS256 and a string `kid`; the signature; `exp`, `iat`, `sub`, `aud`, `iss`, `token_use`
required; `exp` after now (no leeway); `iat` and `nbf` (if any) not after now (`SKEW_SECONDS`
allowed for the clocks of Cognito and the function); issuer equal; audience equal
(or in a list); then `token_use` `id`.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import urllib.request
from collections import OrderedDict

from chalicelib.errors import Unauthorized
from chalicelib.identity import Caller, role_from_groups


SKEW_SECONDS = 5
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


def _b64url(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_object(raw: bytes) -> dict:
    value = json.loads(raw.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _rsa_key(jwk: dict):
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    return RSAPublicNumbers(int.from_bytes(_b64url(jwk["e"]), "big"),
                            int.from_bytes(_b64url(jwk["n"]), "big")).public_key()


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TokenVerifier:
    MISSING_CAPACITY = 1024

    def __init__(self, jwks_url: str, issuer: str, audience: str, cache_seconds: int = 3600,
                 fetch=None, *, min_refresh_seconds: float = 60.0, clock=time.monotonic):
        """`fetch(url) -> dict` reads the JWKS (HTTP by default); `clock` measures the refresh
        intervals (monotonic seconds). Both are injectable for tests."""
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._fetch = fetch or self._http_fetch
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None    # last successful fetch
        self._attempted_at: float | None = None  # last fetch tried, successful or not
        self._missing: OrderedDict[str, float] = OrderedDict()  # kid -> refused until (clock)
        self._lock = threading.Lock()

    @staticmethod
    def _http_fetch(url: str) -> dict:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (configured URL)
            return json.loads(response.read())

    def _load_keys(self, now: float) -> None:
        self._attempted_at = now
        document = self._fetch(self.jwks_url)
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and isinstance(jwk.get("kid"), str) and jwk.get("alg", "RS256") == "RS256":
                keys[jwk["kid"]] = _rsa_key(jwk)
        self._keys = keys
        self._fetched_at = now
        self._missing.clear()

    def _may_refresh(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refresh_seconds

    def _remember_missing(self, kid: str, now: float) -> None:
        until = (self._attempted_at if self._attempted_at is not None else now) + self.min_refresh_seconds
        self._missing[kid] = until
        self._missing.move_to_end(kid)
        while len(self._missing) > self.MISSING_CAPACITY:
            self._missing.popitem(last=False)

    def _key_for(self, kid: str):
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self.cache_seconds
            if kid in self._keys and not stale:
                return self._keys[kid]
            until = self._missing.get(kid)
            if until is not None and now < until:
                return None
            if self._may_refresh(now):
                try:
                    self._load_keys(now)
                except Exception:  # the JWKS endpoint being down must not look like a bad token
                    if kid not in self._keys:
                        raise
            key = self._keys.get(kid)
            if key is None:
                if self._fetched_at is None or self._attempted_at > self._fetched_at:
                    # The last fetch failed: the kid may well be real; no 401, and no remembering.
                    raise RuntimeError("the user pool's JWKS could not be read; retried within a minute")
                self._remember_missing(kid, now)
            return key

    def verify(self, token: str) -> Caller:
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not three segments")
            header, signature = _json_object(_b64url(parts[0])), _b64url(parts[2])
            payload = _b64url(parts[1])
        except (ValueError, binascii.Error, RecursionError):  # JSON and UTF-8 errors are ValueErrors
            raise Unauthorized("The token is not a valid JWT.")
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str) or not kid:
            raise Unauthorized("The token is not signed as Cognito signs ID tokens.")
        key = self._key_for(kid)
        if key is None:
            raise Unauthorized("The token was not signed by this user pool.")
        claims = self._verified_claims(key, parts, signature, payload)
        if claims.get("token_use") != "id":
            raise Unauthorized("An ID token is required.")
        groups = claims.get("cognito:groups") or []
        if isinstance(groups, str):
            groups = [groups]
        username = claims.get("cognito:username") or ""
        return Caller(id=claims["sub"], email=claims.get("email") or username, role=role_from_groups(groups),
                      username=username, issued_at=int(claims.get("iat") or 0))

    def _verified_claims(self, key, parts: list[str], signature: bytes, payload: bytes) -> dict:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
            claims = _json_object(payload)
        except (InvalidSignature, ValueError, RecursionError):
            raise Unauthorized("The token is invalid.")
        required = ("exp", "iat", "sub", "aud", "iss", "token_use")
        if any(claims.get(name) is None for name in required) or not isinstance(claims["sub"], str):
            raise Unauthorized("The token is invalid.")
        now = time.time()
        if not _number(claims["exp"]) or not _number(claims["iat"]) or not _number(claims.get("nbf", 0)):
            raise Unauthorized("The token is invalid.")
        if claims["exp"] <= now:
            raise Unauthorized("The token has expired; sign in again.")
        if claims["iat"] > now + SKEW_SECONDS or claims.get("nbf", 0) > now + SKEW_SECONDS:
            raise Unauthorized("The token is invalid.")
        audience = claims["aud"]
        if claims["iss"] != self.issuer or not (audience == self.audience or (
                isinstance(audience, list) and self.audience in audience)):
            raise Unauthorized("The token is invalid.")
        return claims
