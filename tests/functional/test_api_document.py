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


def test_every_operation_documents_what_it_answers(api):
    """Issue 8 item 10: each 2xx has a schema from `models.RESPONSES` (none empty), each 4xx the envelope."""
    from chalicelib.api import models

    assert set(models.RESPONSES) == set(ROUTES), "every route has exactly one entry in models.RESPONSES"
    doc = api.get("/openapi.json").json
    for (path, method), spec in ROUTES.items():
        responses = doc["paths"][path][method.lower()]["responses"]
        assert "4XX" in responses, (method, path)
        envelope = responses["4XX"]["content"]["application/json"]["schema"]
        assert envelope == {"$ref": "#/components/schemas/Error"}
        success = [status for status in responses if status.startswith("2")]
        answer = models.RESPONSES[(path, method)]
        if answer is None:
            assert success == [], (method, path)
            continue
        assert success == [str(spec.status)], (method, path)
        if spec.status == 204:
            assert "content" not in responses["204"]
            continue
        (media_type, content), = responses[str(spec.status)]["content"].items()
        assert media_type == spec.produces
        schema = content["schema"]
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert schema and schema.get("type") in ("object", "string"), (method, path, schema)
        if schema["type"] == "object":
            assert schema["properties"], (method, path)
    booking = doc["components"]["schemas"]["Booking"]
    assert {"id", "status", "client_id", "provider_id", "modality", "starts_at", "ends_at"} <= set(booking["required"])
    assert doc["paths"]["/bookings"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Bookings"}
    assert "404" in doc["paths"]["/bookings/{booking_id}"]["get"]["responses"]
    not_found = doc["components"]["schemas"]["Error404"]["properties"]["error"]["properties"]["code"]["enum"]
    assert not_found == ["not_found"]


def test_request_schemas_carry_the_rules_the_server_enforces(api):
    doc = api.get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    profile = schemas["ClientProfile"]["properties"]
    assert "Europe/London" in profile["timezone"]["enum"] and "Mars/Olympus" not in profile["timezone"]["enum"]
    assert profile["region"]["pattern"].startswith("^") and "GB" in profile["region"]["pattern"]
    assert profile["languages"]["items"]["pattern"].startswith("^")
    assert profile["date_of_birth"]["format"] == "date"
    # `text` xor `media_id`, and which id each role sends, as `oneOf`
    message = schemas["NewMessage"]
    assert len(message["oneOf"]) == 2
    assert {"required": ["media_id"]} in message["oneOf"][0]["not"]["anyOf"]
    assert len(schemas["NewBooking"]["oneOf"]) == 2
    assert schemas["NewBooking"]["properties"]["starts_at"]["format"] == "date-time"
    upload = schemas["NewUpload"]["oneOf"]
    assert "audio/webm" in upload[0]["properties"]["content_type"]["pattern"]
    window = schemas["Availability"]["properties"]["windows"]["items"]["properties"]["start"]
    assert window["pattern"] == "^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    # the link form's content type
    form = doc["paths"]["/links/{token}"]["post"]["requestBody"]["content"]
    assert form["application/x-www-form-urlencoded"]["schema"]["properties"]["action"]["enum"] == ["confirm", "decline"]


def test_the_cross_field_rules_are_enforced_as_documented(api, world):
    client, provider, room = world.pair()
    both = api.post(f"/rooms/{room}/messages", client, {"kind": "text", "text": "hi", "media_id": "med_1"})
    assert both.status == 400 and both.json["error"]["details"]["field"] == "text"
    neither = api.post(f"/rooms/{room}/messages", client, {"kind": "audio"})
    assert neither.status == 400 and neither.json["error"]["details"]["field"] == "media_id"
    two_ids = api.post("/bookings", client, {"provider_id": provider.id, "client_id": client.id, "modality": "video",
                                             "starts_at": "2026-11-30T15:00:00Z"})
    assert two_ids.status == 400 and two_ids.code == "validation_error"
    zone = api.post("/clients/me", client, {"name": "A", "date_of_birth": "1990-04-21", "timezone": "Mars/Olympus",
                                            "region": "US-NY", "languages": ["en"]})
    assert zone.status == 400 and "IANA" in zone.json["error"]["message"]
    late = api.put("/providers/me/availability", provider,
                   {"timezone": "UTC", "windows": [{"weekday": 0, "start": "9:00", "end": "17:00"}]})
    assert late.status == 400 and late.json["error"]["details"]["field"] == "windows[0].start"
