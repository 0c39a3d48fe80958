"""Import-time budget for the Lambda entry point, in the style of powertools' `tests/performance`.

Every cold start pays for `import app`; a new eager import of a heavy library (boto3 clients,
the encryption SDK, powertools utilities) shows up here before it shows up in production.
A fresh interpreter imports `app` with the environment the functional tests use, minus the
emulator: a dummy region and endpoint are enough, since nothing connects at import (ARCHITECTURE
"Habits": no boto3 client at import time). The child times the import alone (interpreter
start-up left out); the best of RUNS counts, after one warm-up run that writes the bytecode.

Two clocks, because this box is a shared 2-core machine: the wall clock of the same import
swung from 1.0 s to 6.5 s with the neighbours' load while its CPU time stayed within 0.38-0.55 s.
- CPU time (`time.process_time()` in the child) is the budget that catches a regression: it
  barely moves with load.
- Wall time (`time.perf_counter()`) is a backstop with room for a busy machine.

Measured here on the 2-core box, load average 12-13, the full suite (`pytest -n 2 tests`)
running beside it, 10 fresh processes each (python -m tests.performance.test_import_budget 10):
    CPU  median 428 ms, max 549 ms  -> budget 900 ms (2x median)
    wall median 3942 ms, max 6466 ms -> budget 8000 ms (2x median)
(With only the neighbours' load, no suite, wall was median 1254 ms, max 1531 ms.) Raise a budget only
with a reason in the commit message.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 5

MEASURED_CPU_MEDIAN_MS = 428
MEASURED_CPU_MAX_MS = 549
CPU_BUDGET_MS = 900
MEASURED_WALL_MEDIAN_MS = 3942
MEASURED_WALL_MAX_MS = 6466
WALL_BUDGET_MS = 8000

DRIVER = r"""
import json, time
wall, cpu = time.perf_counter(), time.process_time()
import app
print("IMPORT " + json.dumps({"wall_ms": (time.perf_counter() - wall) * 1000,
                              "cpu_ms": (time.process_time() - cpu) * 1000}))
"""

# What the functional tests set (infra.provision.env_for), with addresses that nothing dials.
DUMMY_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "HAVEN_STAGE": "test",
    "HAVEN_BUCKET": "haven-test-media",
    "HAVEN_USER_POOL_ID": "us-east-1_dummy",
    "HAVEN_USER_POOL_CLIENT_ID": "dummy",
    "HAVEN_JWKS_URL": "http://127.0.0.1:9/us-east-1_dummy/.well-known/jwks.json",
    "HAVEN_REQUIRE_STAFF_MFA": "false",
    "POWERTOOLS_SERVICE_NAME": "haven",
    "POWERTOOLS_METRICS_NAMESPACE": "Haven",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def _environment() -> dict[str, str]:
    # An xdist worker's own AWS/Haven settings point at its emulator (functional conftest); drop
    # them, and whatever changes how the child imports (PYTHONDONTWRITEBYTECODE and the like).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "HAVEN_", "POWERTOOLS_", "PYTEST_", "PYTHON", "COV_"))}
    env.update(DUMMY_ENV)
    return env


def import_once(env: dict[str, str]) -> dict[str, float]:
    """{"wall_ms", "cpu_ms"} one fresh interpreter spends in `import app`."""
    completed = subprocess.run([sys.executable, "-c", DRIVER], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("IMPORT ")]
    assert completed.returncode == 0 and lines, f"import app failed:\n{completed.stderr[-3000:]}"
    return json.loads(lines[-1][len("IMPORT "):])


def test_import_app_stays_within_its_budget():
    env = _environment()
    import_once(env)  # warm-up: bytecode written, files in the page cache
    samples = [import_once(env) for _ in range(RUNS)]
    cpu = sorted(s["cpu_ms"] for s in samples)
    wall = sorted(s["wall_ms"] for s in samples)
    hint = "look for a new eager import: python -X importtime -c 'import app' 2>&1 | sort -t'|' -k2 -n"
    assert cpu[0] <= CPU_BUDGET_MS, (
        f"`import app` used {cpu[0]:.0f} ms CPU at best of {RUNS} (all {[round(v) for v in cpu]}); budget "
        f"{CPU_BUDGET_MS} ms, measured median {MEASURED_CPU_MEDIAN_MS} ms when set. {hint}")
    assert wall[0] <= WALL_BUDGET_MS, (
        f"`import app` took {wall[0]:.0f} ms wall at best of {RUNS} (all {[round(v) for v in wall]}); budget "
        f"{WALL_BUDGET_MS} ms, measured median {MEASURED_WALL_MEDIAN_MS} ms when set. {hint}")


if __name__ == "__main__":  # python -m tests.performance.test_import_budget [runs]: measure again
    import statistics

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    env = _environment()
    import_once(env)
    samples = [import_once(env) for _ in range(runs)]
    for clock in ("cpu_ms", "wall_ms"):
        values = [s[clock] for s in samples]
        print(f"{clock}: {runs} runs, median {statistics.median(values):.0f}, min {min(values):.0f}, "
              f"max {max(values):.0f}; all {[round(v) for v in values]}")
