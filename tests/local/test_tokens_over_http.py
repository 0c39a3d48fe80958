"""SPEC §1 over HTTP under `chalice local`: a missing, malformed, forged, expired or foreign token
answers 401 with Haven's error envelope (not API Gateway's), and a real one gets in."""
from __future__ import annotations

import base64
import functools
import json
import time

import jwt
import pytest

pytestmark = pytest.mark.local


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@functools.lru_cache(maxsize=1)
def _pool_signing_key():
    """The emulator's own Cognito signing key (moto ships it), to make tokens with a *valid*
    signature that must still be refused for their claims."""
    from moto.utilities.utils import load_resource

    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json"), algorithm="RS256").key


def _signed_by_pool(token: str, **changes) -> str:
    header = jwt.get_unverified_header(token)
    claims = {**_claims(token), **changes}
    return jwt.encode(claims, _pool_signing_key(), algorithm="RS256", headers={"kid": header["kid"]})


@functools.lru_cache(maxsize=1)
def _stranger_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _forged(token: str) -> str:
    """Same claims and kid, signed by a key that is not the pool's."""
    header = jwt.get_unverified_header(token)
    key = _stranger_key()
    return jwt.encode(_claims(token), key, algorithm="RS256", headers={"kid": header["kid"]})


def _tampered(token: str, **changes) -> str:
    """The pool's signature kept, the claims edited (e.g. joining group `ops`)."""
    header, _payload, signature = token.split(".")
    payload = _b64(json.dumps({**_claims(token), **changes}).encode())
    return f"{header}.{payload}.{signature}"


def _unsigned(token: str) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(_claims(token)).encode())}."


@pytest.fixture(scope="module")
def client(world):
    return world.client()


def _authorization(kind: str, token: str) -> dict:
    now = int(time.time())
    make = {
        "no header": lambda: None,
        "empty bearer": lambda: "Bearer ",
        "not bearer": lambda: f"Basic {token}",
        "garbage": lambda: "Bearer not-a-jwt",
        "forged signature": lambda: f"Bearer {_forged(token)}",
        "tampered claims": lambda: f"Bearer {_tampered(token, **{'cognito:groups': ['ops']})}",
        "alg none": lambda: f"Bearer {_unsigned(token)}",
        "expired": lambda: f"Bearer {_signed_by_pool(token, iat=now - 7200, exp=now - 3600)}",
        "other audience": lambda: f"Bearer {_signed_by_pool(token, aud='some-other-app-client')}",
        "other issuer": lambda: f"Bearer {_signed_by_pool(token, iss='https://evil.example.com/pool')}",
        "access token": lambda: f"Bearer {_signed_by_pool(token, token_use='access')}",
    }[kind]
    value = make()
    return {} if value is None else {"Authorization": value}


KINDS = ["no header", "empty bearer", "not bearer", "garbage", "forged signature", "tampered claims", "alg none",
         "expired", "other audience", "other issuer", "access token"]


@pytest.fixture(scope="module")
def world(http, cognito, ops):
    from tests.local.conftest import World

    return World(http, cognito, ops)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method,path", [("GET", "/clients/me"), ("GET", "/rooms"), ("GET", "/providers"),
                                         ("PUT", "/ops/assignments")])
def test_a_bad_token_is_401_with_the_error_envelope(http, client, kind, method, path):
    response = http.session.request(method, http.base_url + path, headers=_authorization(kind, client.token),
                                    json={} if method == "PUT" else None, timeout=15)
    assert response.status_code == 401, (kind, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "unauthorized" and body["error"]["message"]
    assert response.headers["Content-Type"].startswith("application/json")


def test_the_real_token_gets_in_and_the_tokens_built_here_are_only_wrong_in_their_claims(http, client):
    assert http.get("/clients/me", client).status == 200
    # proves the "expired"/"other audience" cases above were refused for the claim, not the signature
    resigned = _signed_by_pool(client.token)
    assert http.get("/clients/me", headers={"Authorization": f"Bearer {resigned}"}).status == 200


def test_public_routes_need_no_token(http):
    assert http.get("/health").json == {"status": "ok"}
    assert http.get("/openapi.json").status == 200
    assert http.get("/crisis-resources").status == 200
