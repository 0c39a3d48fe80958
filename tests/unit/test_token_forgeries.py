"""ID token verification refuses every forgery (Haven checks tokens with `cryptography` directly,
not PyJWT: issue 16's cold start). Tokens are minted with PyJWT, the reference implementation,
so an accepted token here is one PyJWT would accept too, and the forgeries are the classic ones."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from chalicelib.adapters.tokens import TokenVerifier
from chalicelib.errors import Unauthorized
from tests.unit.test_token_jwks_refresh import AUDIENCE, ISSUER, JWKS_URL, Clock, Jwks


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(value) -> str:
    return _b64(json.dumps(value).encode())


@pytest.fixture
def pool():
    jwks = Jwks()
    return jwks, TokenVerifier(JWKS_URL, ISSUER, AUDIENCE, fetch=jwks, clock=Clock())


def _claims(**override):
    now = int(time.time())
    claims = {"sub": "u1", "aud": AUDIENCE, "iss": ISSUER, "token_use": "id", "iat": now, "exp": now + 600,
              "cognito:groups": ["providers"], "cognito:username": "u1", "email": "p@example.com"}
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not ...}


def _signed(jwks, claims=None, headers=None, kid="kid-1"):
    return jwt.encode(claims if claims is not None else _claims(), jwks.keys[kid], algorithm="RS256",
                      headers={"kid": kid, **(headers or {})})


def test_a_good_token_gives_the_caller(pool):
    jwks, verifier = pool
    caller = verifier.verify(_signed(jwks))
    assert (caller.id, caller.role, caller.username, caller.email) == ("u1", "provider", "u1", "p@example.com")
    audience_list = verifier.verify(_signed(jwks, _claims(aud=["other", AUDIENCE])))
    assert audience_list.id == "u1"


@pytest.mark.parametrize("override", [
    {"exp": int(time.time()) - 1}, {"exp": ...}, {"exp": "soon"}, {"exp": True}, {"iat": ...},
    {"iat": int(time.time()) + 3600}, {"nbf": int(time.time()) + 3600}, {"nbf": None}, {"sub": ...}, {"sub": 7},
    {"aud": "another-app"}, {"aud": ["another-app"]}, {"aud": ...}, {"iss": ISSUER + "x"}, {"iss": ...},
    {"token_use": "access"}, {"token_use": ...},
])
def test_validly_signed_with_a_wrong_claim_is_refused(pool, override):
    jwks, verifier = pool
    with pytest.raises(Unauthorized):
        verifier.verify(_signed(jwks, _claims(**override)))


def test_an_expired_token_says_so(pool):
    jwks, verifier = pool
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(_signed(jwks, _claims(exp=int(time.time()) - 5)))


def _forgeries(jwks) -> dict[str, str]:
    good = _signed(jwks)
    head, body, sig = good.split(".")
    public_pem = jwks.keys["kid-1"].public_key().public_bytes(
        encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).Encoding.PEM,
        format=__import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).PublicFormat.SubjectPublicKeyInfo)
    hs_head = _segment({"alg": "HS256", "kid": "kid-1", "typ": "JWT"})
    hs_sig = _b64(hmac.new(public_pem, f"{hs_head}.{body}".encode(), hashlib.sha256).digest())
    other_key = Jwks().keys["kid-1"]
    return {
        "alg none": f"{_segment({'alg': 'none', 'kid': 'kid-1'})}.{body}.",
        "HS256 keyed with the public key": f"{hs_head}.{body}.{hs_sig}",
        "RS512 header": f"{_segment({'alg': 'RS512', 'kid': 'kid-1'})}.{body}.{sig}",
        "payload swapped": f"{head}.{_segment(_claims(sub='someone-else'))}.{sig}",
        "signature cut": f"{head}.{body}.{sig[:-8]}",
        "no signature": f"{head}.{body}.",
        "signed by another key": jwt.encode(_claims(), other_key, algorithm="RS256", headers={"kid": "kid-1"}),
        "unknown kid": _signed(jwks, headers={"kid": "kid-9"}, kid="kid-1"),
        "kid a list": f"{_segment({'alg': 'RS256', 'kid': ['kid-1']})}.{body}.{sig}",
        "kid empty": f"{_segment({'alg': 'RS256', 'kid': ''})}.{body}.{sig}",
        "two segments": f"{head}.{body}",
        "four segments": f"{good}.{sig}",
        "padding in a segment": f"{head}=.{body}.{sig}",
        "not base64": f"{head}.{body}!.{sig}",
        "header not JSON": f"{_b64(b'not json')}.{body}.{sig}",
        "header a list": f"{_segment(['RS256'])}.{body}.{sig}",
        "header nested deep": f"{_b64(b'[' * 100000 + b']' * 100000)}.{body}.{sig}",
        "header not UTF-8": f"{_b64(bytes([0xff, 0xfe]))}.{body}.{sig}",
        "non-ASCII": f"{head}.{body}é.{sig}",
        "empty": "",
        "dots": "..",
    }


def test_every_forgery_is_refused(pool):
    jwks, verifier = pool
    accepted = []
    for name, token in _forgeries(jwks).items():
        try:
            verifier.verify(token)
            accepted.append(name)
        except Unauthorized:
            pass
    assert accepted == []


def test_a_signed_payload_that_is_not_an_object_is_refused(pool):
    jwks, verifier = pool
    head = _segment({"alg": "RS256", "kid": "kid-1", "typ": "JWT"})
    body = _b64(b"[1, 2]")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    sig = _b64(jwks.keys["kid-1"].sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()))
    with pytest.raises(Unauthorized):
        verifier.verify(f"{head}.{body}.{sig}")
