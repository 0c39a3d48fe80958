"""Issue 2 bench (2), last part: no DynamoDB Scan anywhere. Runs after the other benchmarks and
looks at every AWS call this process made (routes, sweeps, setup through the API), as counted
through botocore events by `tests.bench._support`."""
from __future__ import annotations

from collections import Counter

from tests.bench._support import everything, result, short_table


def run() -> list[dict]:
    calls = everything().of("dynamodb")
    scans = [c for c in calls if c.operation == "Scan"]
    tables = Counter(short_table(t) for c in scans for t in c.tables)
    return [result("dynamodb Scan calls, whole bench run", len(scans), "calls", target="0", ok=not scans,
                   note=(f"of {len(calls):,} DynamoDB calls"
                         + (f"; scanned: {', '.join(f'{t} x{n}' for t, n in tables.items())}" if scans else "")))]
