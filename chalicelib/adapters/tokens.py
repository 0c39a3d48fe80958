"""Cognito ID token verification: signature against the pool's JWKS, issuer, audience, use, expiry.

The JWKS is fetched once per container and again only for an unknown `kid` (key rotation).
Expiry is judged against real time, not the injected clock: it is a security boundary.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request

from chalicelib.errors import Unauthorized
from chalicelib.identity import Caller, role_from_groups


class TokenVerifier:
    def __init__(self, jwks_url: str, issuer: str, audience: str, cache_seconds: int = 3600,
                 fetch=None):
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.cache_seconds = cache_seconds
        self._fetch = fetch or self._http_fetch
        self._keys: dict[str, object] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def _http_fetch(url: str) -> dict:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (configured URL)
            return json.loads(response.read())

    def _load_keys(self) -> None:
        from jwt import PyJWK

        document = self._fetch(self.jwks_url)
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[jwk["kid"]] = PyJWK(jwk, algorithm="RS256").key
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _key_for(self, kid: str):
        with self._lock:
            stale = time.monotonic() - self._fetched_at > self.cache_seconds
            if kid not in self._keys or stale:
                try:
                    self._load_keys()
                except Exception:  # the JWKS endpoint being down must not look like a bad token
                    if kid not in self._keys:
                        raise
            return self._keys.get(kid)

    def verify(self, token: str) -> Caller:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("The token is not a valid JWT.")
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise Unauthorized("The token is not signed as Cognito signs ID tokens.")
        key = self._key_for(header["kid"])
        if key is None:
            raise Unauthorized("The token was not signed by this user pool.")
        try:
            claims = jwt.decode(
                token, key=key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired; sign in again.")
        except jwt.PyJWTError:
            raise Unauthorized("The token is invalid.")
        if claims.get("token_use") != "id":
            raise Unauthorized("An ID token is required.")
        groups = claims.get("cognito:groups") or []
        if isinstance(groups, str):
            groups = [groups]
        return Caller(id=claims["sub"], email=claims.get("email") or claims.get("cognito:username", ""),
                      role=role_from_groups(groups))
