"""Schemathesis over every operation of `/openapi.json`, as each role and with no token (issue 8
item 10): requests generated from the document (fitting it, and not) must never get a server
error, and every answer must be one the document describes (status, content type, body schema).

The app runs in-process (a small WSGI bridge to chalice's test client) against the moto stack,
bounded so CI stays at a few minutes: few examples per operation, derandomized (the same requests
every run), no deadline, no shrinking (the first failure of each operation is reported as is).
"""
from __future__ import annotations

import io
import time
from datetime import date, datetime, timezone

import pytest

hypothesis = pytest.importorskip("hypothesis")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (content_type_conformance, not_a_server_error,  # noqa: E402
                                 response_schema_conformance, status_code_conformance)

# Dates and times inside the range the document states (its pattern: years 1900..2099): the
# default `date`/`date-time` strategies span years 1..9999 and would be filtered by the pattern.
_DATES = hypothesis.strategies.dates(date(1900, 1, 1), date(2099, 12, 31)).map(date.isoformat)
_TIMES = hypothesis.strategies.datetimes(datetime(1900, 1, 2), datetime(2099, 12, 30),
                                         timezones=hypothesis.strategies.just(timezone.utc)) \
    .map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
schemathesis.openapi.format("date", _DATES)
schemathesis.openapi.format("date-time", _TIMES)

EXAMPLES = 3  # per operation, caller and mode: ~77 operations x 4 callers x 2 modes
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def wsgi_bridge(chalice_client):
    """A WSGI app that hands each request to chalice's in-process gateway (the same routing,
    middleware and greedy-path matching the functional tests use)."""
    def app(environ, start_response):
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        if "?" not in raw_path and environ.get("QUERY_STRING"):
            raw_path += "?" + environ["QUERY_STRING"]
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        response = chalice_client.http.request(environ["REQUEST_METHOD"], raw_path, headers=headers, body=body)
        status = f"{response.status_code} Status"
        start_response(status, [(k, str(v)) for k, v in response.headers.items()])
        return [response.body if isinstance(response.body, bytes) else (response.body or "").encode()]
    return app


@pytest.fixture
def callers(world, ops_user):
    client, provider, _room = world.pair()
    world.plan(client)
    return {"client": client.token, "provider": provider.token, "ops": ops_user.token, "anonymous": None}


def _run_operation(operation, token: str | None, failures: list, seed: int) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sent = 0

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(generation_mode=mode)

        @hypothesis.seed(seed)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                  print_blob=False)
        @hypothesis.given(case=strategy)
        def run(case):
            nonlocal sent
            if failures and failures[-1][0] == operation.label:
                return  # one failure per operation is enough
            status = None
            try:
                response = case.call(headers=headers)
                sent += 1
                status = response.status_code
                case.validate_response(response, checks=CHECKS, headers=headers)
            except BaseException as error:  # noqa: BLE001 (reported below, with the request)
                failures.append((operation.label, mode.value, status,
                                 f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"[:400],
                                 str(error)[:600]))

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            pass
    return sent


@pytest.mark.parametrize("role", ["client", "provider", "ops", "anonymous"])
def test_every_operation_answers_as_documented(role, chalice_client, callers):
    app = wsgi_bridge(chalice_client)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list = []
    started, sent = time.monotonic(), 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 70
    for index, operation in enumerate(operations):
        sent += _run_operation(operation, callers[role], failures, seed=index)
    elapsed = time.monotonic() - started
    print(f"schemathesis as {role}: {len(operations)} operations, {sent} requests in {elapsed:.1f} s")
    report = io.StringIO()
    for label, mode, status, request, error in failures:
        report.write(f"\n--- {label} ({mode}) -> {status}\n{request}\n{error}\n")
    assert not failures, f"{len(failures)} operation(s) answered outside the document:{report.getvalue()}"


def test_an_address_cognito_refuses_is_a_400_not_a_500(api, ops_user):
    """Found by the fuzzer: `0@0.0` fits the documented pattern, Cognito refuses it (was 500)."""
    body = {"email": "0@0.0", "kind": "therapist", "languages": ["en"], "licensed_regions": ["GB"],
            "name": "Dr. Zero", "timezone": "Europe/London"}
    reply = api.post("/ops/providers", ops_user, body)
    assert reply.status == 400 and reply.json["error"]["details"] == {"field": "email"}
