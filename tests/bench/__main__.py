"""`make bench` (`python -m tests.bench [module ...]`): runs every benchmark module in tests/bench/.

A benchmark module is any module here (not starting with `_`) with `run() -> list[dict]`; each dict
is one result, made with `tests.bench._support.result(...)`:

    {"name", "value", "unit", "baseline", "ratio", "target", "ok", "note"}

Each is printed as one line

    name: value unit (baseline: b, ratio: r, target: t) OK|MISS

and all of them are written to `.local/bench.json`. Modules start the AWS emulator themselves
(`tests.bench._support.stack()`, before importing `app`); they share one per process.
Exit status: 0 when every module ran (a MISS is a finding, not a crash), 1 when one raised.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUTPUT = ROOT / ".local" / "bench.json"
# Modules run in this order, then any others by name, then LAST (`no_scan` looks at every AWS call
# the modules before it made).
ORDER = ("coldstart", "ddb_calls", "kms_calls", "deadlines_sweep", "page_latency")
LAST = ("no_scan",)


def modules(selected: list[str]) -> list[str]:
    found = [m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_") and not m.ispkg]
    ordered = ([name for name in ORDER if name in found] + sorted(set(found) - set(ORDER) - set(LAST))
               + [name for name in LAST if name in found])
    if selected:
        unknown = set(selected) - set(found)
        if unknown:
            raise SystemExit(f"no benchmark module named {', '.join(sorted(unknown))}; have {', '.join(ordered)}")
        ordered = [name for name in ordered if name in selected]
    return ordered


def _show(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def line(r: dict) -> str:
    verdict = {True: "OK", False: "MISS", None: "INFO"}[r.get("ok")]
    ratio = f"{r['ratio']:.2f}x" if isinstance(r.get("ratio"), (int, float)) else "n/a"
    text = (f"{r['name']}: {_show(r.get('value'))} {r.get('unit', '')} (baseline: {_show(r.get('baseline'))}, "
            f"ratio: {ratio}, target: {r.get('target') or 'n/a'}) {verdict}")
    if r.get("note"):
        text += f"  # {r['note']}"
    return text


def main(argv: list[str]) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    results: list[dict] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in modules(argv):
        module_started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            module = importlib.import_module(f"tests.bench.{name}")
            run = getattr(module, "run", None)
            if run is None:
                continue
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                produced = run()  # the app prints its EMF metrics to stdout, as on Lambda
            for r in produced:
                r.setdefault("module", name)
                results.append(r)
                print(line(r), flush=True)
        except Exception:
            failed.append(name)
            traceback.print_exc()
            results.append({"module": name, "name": f"{name}", "value": None, "unit": "", "ok": False,
                            "note": "the benchmark raised; see the traceback above"})
            print(line(results[-1]), flush=True)
        print(f"   ({time.perf_counter() - module_started:.1f}s)", flush=True)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }, indent=2, default=str) + "\n")
    misses = [r["name"] for r in results if r.get("ok") is False]
    print(f"\n{len(results)} results, {len(misses)} MISS, written to {OUTPUT.relative_to(ROOT)} "
          f"in {time.perf_counter() - started:.0f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
