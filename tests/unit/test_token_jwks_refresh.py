"""The JWKS behind token verification is fetched at most once a minute, however many unknown
`kid`s arrive (issue 8.14): a flood of made-up key ids must not become a flood of fetches."""
from __future__ import annotations

import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.tokens import TokenVerifier
from chalicelib.errors import Unauthorized

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
AUDIENCE = "client-id"
JWKS_URL = "https://example.invalid/jwks.json"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Jwks:
    """The pool's JWKS endpoint: counts fetches; keys can be rotated in."""

    def __init__(self):
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.add("kid-1")

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def __call__(self, url: str) -> dict:
        assert url == JWKS_URL
        self.fetches += 1
        documents = []
        for kid, key in self.keys.items():
            public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            documents.append({**public, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": documents}

    def token(self, kid: str, key: rsa.RSAPrivateKey | None = None) -> str:
        now = int(time.time())
        claims = {"sub": "u1", "aud": AUDIENCE, "iss": ISSUER, "token_use": "id", "iat": now, "exp": now + 600}
        return jwt.encode(claims, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def world():
    jwks, clock = Jwks(), Clock()
    verifier = TokenVerifier(JWKS_URL, ISSUER, AUDIENCE, fetch=jwks, clock=clock)
    return jwks, clock, verifier


def test_fifty_tokens_with_random_kids_cost_at_most_one_fetch(world):
    jwks, _, verifier = world
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for _ in range(50):
        with pytest.raises(Unauthorized):
            verifier.verify(jwks.token(f"kid-{secrets.token_hex(8)}", key=forger))
    assert jwks.fetches <= 1


def test_a_known_kid_still_verifies_during_a_flood_of_unknown_ones(world):
    jwks, _, verifier = world
    assert verifier.verify(jwks.token("kid-1")).id == "u1"
    for _ in range(20):
        with pytest.raises(Unauthorized):
            verifier.verify(jwks.token("kid-unknown", key=jwks.keys["kid-1"]))
        assert verifier.verify(jwks.token("kid-1")).id == "u1"
    assert jwks.fetches == 1


def test_unknown_kids_refetch_at_most_once_a_minute(world):
    jwks, clock, verifier = world
    verifier.verify(jwks.token("kid-1"))
    for second in range(0, 180, 3):  # three minutes of unknown kids, one every 3 seconds
        clock.now = 1000.0 + second
        with pytest.raises(Unauthorized):
            verifier.verify(jwks.token(f"kid-{secrets.token_hex(8)}", key=jwks.keys["kid-1"]))
    assert jwks.fetches <= 1 + 3


def test_a_key_rotated_in_is_found_within_a_minute(world):
    jwks, clock, verifier = world
    verifier.verify(jwks.token("kid-1"))
    new_key = jwks.add("kid-2")
    token = jwks.token("kid-2", key=new_key)
    # Asked for just after the last fetch: refused for now (remembered as missing), not refetched.
    clock.now += 1
    with pytest.raises(Unauthorized):
        verifier.verify(token)
    assert jwks.fetches == 1
    clock.now += 60
    assert verifier.verify(token).id == "u1"
    assert jwks.fetches == 2


def test_a_jwks_outage_is_not_a_401_and_is_retried_after_the_interval(world):
    jwks, clock, verifier = world
    calls = []

    def down(url):
        calls.append(url)
        raise OSError("connection refused")

    verifier = TokenVerifier(JWKS_URL, ISSUER, AUDIENCE, fetch=down, clock=clock)
    for _ in range(5):
        with pytest.raises(Exception) as raised:
            verifier.verify(jwks.token("kid-1"))
        assert not isinstance(raised.value, Unauthorized)
    assert len(calls) == 1
    clock.now += 60
    with pytest.raises(OSError):
        verifier.verify(jwks.token("kid-1"))
    assert len(calls) == 2
