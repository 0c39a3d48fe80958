"""Issue 2 bench (1): cold start. A fresh `python -c` process imports `app` and serves one request
in-process, the way Lambda calls it (the app object called with an API Gateway proxy event and a
context), against the emulator. Measured from the first line of the script (interpreter start-up
is the same for both and left out) to the response.

Haven: `GET /health` (public) and `GET /clients/me` (a real Cognito ID token: JWKS fetch and
verification, then the profile and rooms from DynamoDB). Baseline: tests/bench/baseline_app,
a Chalice app that imports boto3 and makes one DynamoDB client, serving `GET /health` and
`GET /item` (one GetItem). Median of RUNS fresh processes each, interleaved, after one warm-up
run each (bytecode and file cache). Target: Haven ≤ 1.5× the baseline.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.bench._support import QUIET, Api, Cognito, World, median, result, stack

RUNS = 9
TARGET = 1.5
ROOT = Path(__file__).resolve().parents[2]
BASELINE_DIR = Path(__file__).resolve().parent / "baseline_app"

# Runs in the fresh process: argv = method, path, token ("" for none).
DRIVER = r'''
import time
T0 = time.perf_counter()
import json, sys
method, path, token = sys.argv[1], sys.argv[2], sys.argv[3]
from app import app
T1 = time.perf_counter()


class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 512
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 30000


headers = {"host": "bench.execute-api.us-east-1.amazonaws.com", "accept": "application/json"}
if token:
    headers["authorization"] = "Bearer " + token
event = {
    "resource": path, "path": path, "httpMethod": method, "headers": headers,
    "multiValueHeaders": {k: [v] for k, v in headers.items()},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": path, "httpMethod": method, "path": "/api" + path, "stage": "api",
                       "requestId": "bench-request", "identity": {"sourceIp": "127.0.0.1"}},
}
response = app(event, Context())
T2 = time.perf_counter()
print("BENCH " + json.dumps({"import_ms": (T1 - T0) * 1000, "total_ms": (T2 - T0) * 1000,
                             "status": response["statusCode"], "body": response["body"][:200]}))
'''


def _once(app_dir: Path, method: str, path: str, token: str, env: dict) -> dict:
    completed = subprocess.run([sys.executable, "-c", DRIVER, method, path, token], cwd=app_dir, env=env,
                               capture_output=True, text=True, timeout=120)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{app_dir.name} {method} {path} failed ({completed.returncode}):\n"
                           f"{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    measured = json.loads(lines[-1][len("BENCH "):])
    if measured["status"] != 200:
        raise RuntimeError(f"{app_dir.name} {method} {path} answered {measured['status']}: {measured['body']}")
    return measured


def run() -> list[dict]:
    s = stack()
    api = Api()
    world = World(api, Cognito(s))
    client = world.client()  # registered, so GET /clients/me answers 200

    from infra import provision

    # The functions' own environment (logging and metrics as deployed), not the quieted bench one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in QUIET}
    env.update(provision.env_for(s))
    env["BASELINE_TABLE"] = s["tables"]["users"]
    env["BASELINE_KEY"] = client.id
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cases = {
        "haven_health": (ROOT, "GET", "/health", ""),
        "haven_clients_me": (ROOT, "GET", "/clients/me", client.token),
        "baseline_health": (BASELINE_DIR, "GET", "/health", ""),
        "baseline_item": (BASELINE_DIR, "GET", "/item", ""),
    }
    samples: dict[str, list[dict]] = {name: [] for name in cases}
    for round_number in range(RUNS + 1):  # round 0 warms bytecode and the file cache
        for name, (app_dir, method, path, token) in cases.items():
            measured = _once(app_dir, method, path, token, env)
            if round_number:
                samples[name].append(measured)

    def med(name: str, key: str = "total_ms") -> float:
        return median([m[key] for m in samples[name]])

    out = []
    for haven, baseline, label in (("haven_health", "baseline_health", "GET /health"),
                                   ("haven_clients_me", "baseline_item", "GET /clients/me (authenticated)")):
        value, base = med(haven), med(baseline)
        out.append(result(f"cold start, import app + {label}", value, "ms", baseline=base,
                          target=f"<= {TARGET}x", ok=value / base <= TARGET,
                          note=f"median of {RUNS} fresh processes; import alone {med(haven, 'import_ms'):.0f} ms "
                               f"vs baseline {med(baseline, 'import_ms'):.0f} ms"))
    return out
