"""SPEC §1: every request is verified against the pool's JWKS; anything else is 401."""
import gzip
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa


def _claims(stack, **over):
    now = int(time.time())
    claims = {"sub": "attacker", "aud": stack["user_pool_client_id"], "token_use": "id", "email": "x@example.com",
              "iss": f"https://cognito-idp.{stack['region']}.amazonaws.com/{stack['user_pool_id']}",
              "iat": now, "exp": now + 3600, "cognito:groups": ["ops"]}
    claims.update(over)
    return claims


def _pool_signing_key():
    """The emulator's own private key, to mint tokens that are validly signed but wrong in one claim."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    jwk = json.loads(gzip.decompress(path.read_bytes()))
    return jwt.PyJWK(jwk, algorithm="RS256").key, jwk["kid"]


def _as_user(token):
    from tests.functional.conftest import User

    return User("x", "x@example.com", token, "client")


def test_no_token_is_401_with_the_error_envelope(api):
    reply = api.get("/clients/me")
    assert reply.status == 401
    assert reply.code == "unauthorized"


@pytest.mark.parametrize("header", ["Bearer", "Bearer not-a-jwt", "Basic abc", "bearer a.b.c"])
def test_malformed_authorization_is_401(api, header):
    reply = api.get("/clients/me", headers={"Authorization": header})
    assert reply.status == 401 and reply.code == "unauthorized"


def test_token_signed_by_another_key_is_401(api, stack):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, kid = _pool_signing_key()
    token = jwt.encode(_claims(stack), other, algorithm="RS256", headers={"kid": kid})
    assert api.get("/clients/me", _as_user(token)).status == 401


@pytest.mark.parametrize("override", [
    {"exp": int(time.time()) - 10},
    {"aud": "another-app-client"},
    {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},
    {"token_use": "access"},
])
def test_validly_signed_but_wrong_claims_are_401(api, stack, override):
    key, kid = _pool_signing_key()
    token = jwt.encode(_claims(stack, **override), key, algorithm="RS256", headers={"kid": kid})
    reply = api.get("/clients/me", _as_user(token))
    assert reply.status == 401 and reply.code == "unauthorized"


def test_a_correct_minted_token_is_accepted_so_the_401s_above_are_about_the_claim(api, stack):
    key, kid = _pool_signing_key()
    token = jwt.encode(_claims(stack, **{"cognito:groups": []}), key, algorithm="RS256", headers={"kid": kid})
    # A valid client token with no profile yet: not 401 but 404 (register first).
    assert api.get("/clients/me", _as_user(token)).status == 404


def test_real_cognito_tokens_carry_the_role_from_groups(api, world, cognito):
    client = world.client()
    provider = world.provider()
    assert api.get("/clients/me", client).status == 200
    assert api.get("/clients/me", provider).status == 403
    assert api.get("/providers/me", provider).status == 200
    assert api.post("/ops/providers", client, {}).status == 403


def test_public_routes_need_no_token(api):
    assert api.get("/health").json == {"status": "ok"}
    assert api.get("/crisis-resources?region=GB").status == 200
    assert api.get("/openapi.json").status == 200


def test_providers_and_ops_need_mfa_when_it_is_required(api, world, cognito, stack, monkeypatch):
    """Deployed, HAVEN_REQUIRE_STAFF_MFA is on: staff without TOTP are refused until they enrol."""
    from chalicelib import wiring

    client, provider = world.client(), world.provider()
    monkeypatch.setenv("HAVEN_REQUIRE_STAFF_MFA", "true")
    wiring.reset()
    reply = api.get("/providers/me", provider)
    assert reply.status == 403 and reply.code == "mfa_required"
    assert api.get("/clients/me", client).status == 200  # clients are not asked
    # enrol TOTP the way the provider's app would
    idp = cognito.idp
    auth = idp.initiate_auth(ClientId=stack["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": provider.email, "PASSWORD": "Correct-Horse-9-battery"})
    access = auth["AuthenticationResult"]["AccessToken"]
    idp.associate_software_token(AccessToken=access)
    idp.verify_software_token(AccessToken=access, UserCode="123456")
    idp.set_user_mfa_preference(AccessToken=access,
                                SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    assert api.get("/providers/me", provider).status == 200


def test_a_401_still_carries_cors_and_a_correlation_id(api):
    reply = api.get("/clients/me", headers={"Origin": "http://localhost:3000", "X-Correlation-Id": "abc-123"})
    assert reply.status == 401
    assert reply.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"
    assert reply.headers.get("X-Correlation-Id") == "abc-123"
    odd = api.get("/health", headers={"X-Correlation-Id": "not an id <script>"})
    assert odd.headers.get("X-Correlation-Id") != "not an id <script>"


def test_requests_served_side_by_side_each_see_only_their_own_caller(api, world):
    """`chalice local` (make run) serves each request on its own thread; Chalice keeps the request
    on the app object. Two callers at once must never be answered as each other."""
    from concurrent.futures import ThreadPoolExecutor

    first, second = world.client(), world.client()

    def as_caller(user):
        return {api.get("/clients/me", user).json.get("id") for _ in range(25)}

    with ThreadPoolExecutor(2) as pool:
        seen = list(pool.map(as_caller, [first, second, first, second]))
    assert seen == [{first.id}, {second.id}, {first.id}, {second.id}]
