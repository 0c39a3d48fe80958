"""The OpenAPI document, the error envelope, CORS and crisis resources (SPEC §3)."""
from app import app
from chalicelib.api.routing import ROUTES
from chalicelib.errors import CODES


def _request_schema(doc, path, method):
    ref = doc["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_openapi_lists_every_route_with_its_request_schema(api):
    doc = api.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    # Every route the app serves is documented, also one registered without `route(...)`.
    # (The fallbacks that answer 404/405 in the error envelope are not operations.)
    served = {(path, method) for path, methods in app.routes.items() for method, entry in methods.items()
              if not entry.view_name.startswith("fallback_")}
    documented = {(path, method.upper()) for path, operations in doc["paths"].items() for method in operations}
    assert served <= documented, f"undocumented routes: {sorted(served - documented)}"
    for (path, method), spec in ROUTES.items():
        operation = doc["paths"][path][method.lower()]
        if spec.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert schema["type"] == "object" and schema["additionalProperties"] is False
            assert schema["properties"], (method, path)
    profile = doc["components"]["schemas"]["ClientProfile"]
    assert set(profile["required"]) == {"name", "date_of_birth", "timezone", "region", "languages"}
    assert _request_schema(doc, "/clients/me", "POST") == profile
    assert _request_schema(doc, "/rooms/{room_id}/messages", "POST")["properties"]["text"]["maxLength"] == 20_000
    assert sorted(doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]) \
        == sorted(CODES)
    limit = [p for p in doc["paths"]["/rooms/{room_id}/messages"]["get"]["parameters"] if p["name"] == "limit"][0]
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 100


def test_the_document_is_valid_openapi(api):
    from openapi_spec_validator import validate

    validate(api.get("/openapi.json").json)


def test_cors_answers_our_origins_only(api):
    ours = api.get("/health", headers={"Origin": "http://localhost:3000"})
    assert ours.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"
    theirs = api.get("/health", headers={"Origin": "https://evil.example"})
    assert theirs.headers.get("Access-Control-Allow-Origin") != "https://evil.example"


def test_crisis_resources_by_region(api):
    us = api.get("/crisis-resources?region=US-NY").json
    assert us["region"] == "US" and any("988" in (r.get("phone") or "") for r in us["resources"])
    gb = api.get("/crisis-resources?region=GB").json
    phones = " ".join(r.get("phone") or "" for r in gb["resources"])
    assert "116 123" in phones and "111" in phones
    default = api.get("/crisis-resources").json
    assert default["resources"]


def test_every_response_carries_a_correlation_id(api):
    assert api.get("/health").headers.get("X-Correlation-Id")
