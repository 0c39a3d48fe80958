"""Issue 16 bench (1): cold start as Lambda pays it, judged by the first request.

What runs: the BUILT package. `chalice package` then `infra.package` (what `make package` does,
without the template lint) build `deployment.zip` in a temporary directory; it is unzipped, and
each sample is a fresh interpreter (`python -I -S -B`: no site-packages, no environment
`PYTHON*` variables, no bytecode written) whose `sys.path` is the unzipped package (as
`/var/task`) then only what the Lambda runtime provides (boto3, botocore, s3transfer, jmespath,
dateutil, urllib3, six, linked from this virtualenv, as `/var/runtime`). So no warmed bytecode
is used but what the package ships (and the runtime's own). The process imports `app` and calls
it once with an API Gateway proxy event, against the emulator; timed from the script's first
line (interpreter start-up, the same for both, left out) to the response.

Haven's routes, each in its own fresh processes:
- read: `GET /clients/me` (a real Cognito ID token: JWKS fetch and verification, DynamoDB);
- write: `POST /rooms/{id}/messages`, a follow-up text message (encrypted with the room's data
  key: a KMS Decrypt, DynamoDB, the idempotency record), a new Idempotency-Key each time;
- page: `GET /rooms/{id}/messages?limit=50` of a room of 50 messages (one KMS Decrypt).

Baseline: tests/bench/baseline_app, built and run the same way (chalice package, infra.package,
unzipped, same interpreter flags): a Chalice app that imports boto3, makes one DynamoDB client
and serves `GET /item` (one GetItem). Median of RUNS processes per case, interleaved, after one
warm-up round (the file cache only: no bytecode is written). Target: ≤ 1.3× the baseline.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

from tests.bench._support import QUIET, Api, Cognito, World, median, result, stack

RUNS = 9
TARGET = 1.3
PAGE = 50
ROOT = Path(__file__).resolve().parents[2]
BASELINE_DIR = Path(__file__).resolve().parent / "baseline_app"
# What the Lambda Python runtime provides beside the function's code (infra.package leaves them out).
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")

# Runs in the fresh process: argv = task dir, runtime dir, method, resource, path, token, body, query.
DRIVER = r'''
import time
T0, C0 = time.perf_counter(), time.process_time()
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import json
method, resource, path, token, body, query = sys.argv[3:9]
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
if body:
    headers["content-type"] = "application/json"
    headers["idempotency-key"] = "bench-" + str(time.time_ns())
params = json.loads(query) if query else None
path_params = {}
for template, value in zip(resource.strip("/").split("/"), path.strip("/").split("/")):
    if template.startswith("{"):
        path_params[template[1:-1]] = value
event = {
    "resource": resource, "path": path, "httpMethod": method, "headers": headers,
    "multiValueHeaders": {k: [v] for k, v in headers.items()},
    "queryStringParameters": params,
    "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
    "pathParameters": path_params or None, "stageVariables": None, "body": body or None,
    "isBase64Encoded": False,
    "requestContext": {"resourcePath": resource, "httpMethod": method, "path": "/api" + path, "stage": "api",
                       "requestId": "bench-request", "identity": {"sourceIp": "127.0.0.1"}},
}
response = app(event, Context())
T2, C2 = time.perf_counter(), time.process_time()
print("BENCH " + json.dumps({"import_ms": (T1 - T0) * 1000, "total_ms": (T2 - T0) * 1000, "cpu_ms": (C2 - C0) * 1000,
                             "status": response["statusCode"], "body": response["body"][:200],
                             "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
'''


def build(app_dir: Path, into: Path) -> tuple[Path, int]:
    """`chalice package` + `infra.package` for `app_dir`, unzipped into `into/task`; (dir, zip bytes)."""
    from infra import package

    out = into / "package"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "--project-dir", str(app_dir), "package", "--stage", "prod"]
    if app_dir == ROOT:
        command += ["--merge-template", str(ROOT / "infra" / "resources.json")]
    completed = subprocess.run([*command, str(out)], cwd=app_dir, env=env, capture_output=True, text=True,
                               timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"chalice package {app_dir.name} failed:\n{completed.stdout[-2000:]}\n"
                           f"{completed.stderr[-2000:]}")
    zipped = out / "deployment.zip"
    size = package.rebuild(zipped)
    task = into / "task"
    with zipfile.ZipFile(zipped) as z:
        z.extractall(task)
    return task, size


def runtime_dir(into: Path) -> Path:
    """The runtime's libraries (links to this virtualenv's copies), as Lambda's /var/runtime."""
    import botocore

    site = Path(botocore.__file__).resolve().parents[1]
    runtime = into / "runtime"
    runtime.mkdir()
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    return runtime


def _once(task: Path, runtime: Path, case: tuple, env: dict) -> dict:
    method, resource, path, token, body, query = case
    completed = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", DRIVER, str(task), str(runtime),
                                method, resource, path, token, body, query],
                               cwd=task, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{task} {method} {path} failed ({completed.returncode}):\n"
                           f"{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    measured = json.loads(lines[-1][len("BENCH "):])
    if measured["status"] not in (200, 201):
        raise RuntimeError(f"{method} {path} answered {measured['status']}: {measured['body']}")
    return measured


def run() -> list[dict]:
    s = stack()
    api = Api()
    world = World(api, Cognito(s))
    client, provider = world.client(), world.provider()
    room_id = world.room(client, provider)
    for i in range(PAGE):
        api.ok("POST", f"/rooms/{room_id}/messages", (client, provider)[i % 2],
               {"kind": "text", "text": f"message {i}: how are you feeling today?"})

    from infra import provision

    # The functions' own environment (logging and metrics as deployed), not the quieted bench one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PYTHON")) and k not in QUIET}
    env.update(provision.env_for(s))
    env["BASELINE_TABLE"] = s["tables"]["users"]
    env["BASELINE_KEY"] = client.id

    workdir = Path(tempfile.mkdtemp(prefix="haven-coldstart-"))
    try:
        haven_task, haven_size = build(ROOT, workdir / "haven")
        baseline_task, _ = build(BASELINE_DIR, workdir / "baseline")
        runtime = runtime_dir(workdir)
        message = json.dumps({"kind": "text", "text": "a follow-up: how are you feeling today?"})
        cases = {
            "haven_read": (haven_task, ("GET", "/clients/me", "/clients/me", client.token, "", "")),
            "haven_write": (haven_task, ("POST", "/rooms/{room_id}/messages", f"/rooms/{room_id}/messages",
                                         client.token, message, "")),
            "haven_page": (haven_task, ("GET", "/rooms/{room_id}/messages", f"/rooms/{room_id}/messages",
                                        client.token, "", json.dumps({"limit": str(PAGE)}))),
            "baseline_item": (baseline_task, ("GET", "/item", "/item", "", "", "")),
        }
        samples: dict[str, list[dict]] = {name: [] for name in cases}
        for round_number in range(RUNS + 1):  # round 0 warms the file cache (no bytecode is written)
            for name, (task, case) in cases.items():
                measured = _once(task, runtime, case, env)
                if round_number:
                    samples[name].append(measured)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def med(name: str, key: str = "total_ms") -> float:
        return median([m[key] for m in samples[name]])

    base = med("baseline_item")
    out = []
    for name, label in (("haven_read", "GET /clients/me (read)"),
                        ("haven_write", "POST /rooms/{id}/messages (write)"),
                        ("haven_page", f"GET /rooms/{{id}}/messages?limit={PAGE} (page)")):
        value = med(name)
        out.append(result(f"cold start, built package, import app + first {label}", value, "ms", baseline=base,
                          target=f"<= {TARGET}x", ok=value / base <= TARGET,
                          note=f"median of {RUNS} fresh processes; import alone {med(name, 'import_ms'):.0f} ms vs "
                               f"baseline {med('baseline_item', 'import_ms'):.0f} ms; first request "
                               f"{value - med(name, 'import_ms'):.0f} ms vs baseline "
                               f"{base - med('baseline_item', 'import_ms'):.0f} ms; CPU time (this process only, "
                               f"steadier under load) {med(name, 'cpu_ms'):.0f} ms vs baseline "
                               f"{med('baseline_item', 'cpu_ms'):.0f} ms = "
                               f"{med(name, 'cpu_ms') / med('baseline_item', 'cpu_ms'):.2f}x"))
    out.append(result("deployment.zip as built", haven_size / 1e6, "MB", target="<= 10 MB",
                      ok=haven_size <= 10_000_000, note=f"{haven_size / 1024 / 1024:.2f} MiB"))
    return out
