"""`make soak`: a simulated week of Haven under faults, judged by the oracle (issue 9).

    python -m tests.faults.soak                    # 50 and 200 clients (each in its own process)
    python -m tests.faults.soak --clients 50       # one size
    python -m tests.faults.soak --days 2           # a shorter stretch (from the same start)

For each size: Wed 2026-10-28 00:00Z to Thu 2026-11-05 00:00Z (the New York DST change on Sun 1 Nov,
Brazil's Finados on Mon 2 Nov), the services called directly (as the routes call them) against the
emulator's store, the `reminders` and `deadlines` sweeps every 5 minutes as of their event's time,
with runs missed (1 % at random, and the hour of the DST change), a 2-hour scheduler outage, replays
of the same moment (2 %) and of an old moment (1 h, 6 h back), two runs at once (2 %), and the mail
service down for 6 hours and for 30 minutes. Prints one table row per size and exits non-zero when a
promise was broken (the broken promises follow the table). Each size runs in its own process with its
own emulator, two at a time.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta

COLUMNS = ["clients", "emails expected", "sent", "lost", "duplicated", "sent after cancel", "dropped as moot",
           "max min from SES recovery to send", "late (> 1 period)", "credit drift", "double bookings",
           "races (one winner)", "sweep runs", "minutes"]


def _row(v, minutes: float) -> list[str]:
    return [str(v.clients), str(v.expected), str(v.sent), str(v.lost), str(v.duplicated), str(v.after_cancel),
            f"{v.dropped_moot} (oracle: {v.dropped_expected})", f"{v.max_recovery_minutes:g}", str(v.late),
            str(v.credit_drift), str(v.double_bookings), f"{v.races - v.race_failures}/{v.races}", str(v.runs),
            f"{minutes:.1f}"]


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _emulator(kind: str) -> None:
    """The emulator for this process, provisioned from `infra/resources.json` like the tests' one.

    `server` is the tests' own (moto's server on a free port, over HTTP); `inprocess` is the same
    moto, its backends called in-process through botocore's event hooks (no HTTP server): about twice
    as fast for the week's ~150,000 calls. Either way the app's code and store are the real ones."""
    if kind == "server":
        from tests.support.aws import ensure_stack, reset_data

        ensure_stack()
        reset_data()
        return
    from moto import mock_aws

    from infra import provision

    mock_aws().start()  # before any client of the app exists: every botocore client goes to moto
    provision.quiet_logs()
    provision.make_dynamodb_atomic()
    stack = provision.provision(None, stage="soak")
    provision.apply_env({k: v for k, v in provision.env_for(stack).items() if v not in (None, "None")})
    os.environ.pop("AWS_ENDPOINT_URL", None)


def run_one(clients: int, days: float | None, seed: int, emulator: str = "inprocess") -> dict:
    """One size in this process: its own emulator, the week, the verdict."""
    _emulator(emulator)
    import app  # noqa: F401 (the composition root: outbox channels, templates, handlers)
    from chalicelib import wiring
    from chalicelib.observability import logger
    from tests.faults.sim import simulate, week

    logger.setLevel("ERROR")  # ~5,000 sweep runs and an outage's retries: their lines only slow it down
    wiring.reset()
    config = week(clients, seed=seed)
    if days:
        config.end = config.start + timedelta(days=days)
    started = time.monotonic()

    def progress(mark, k, total):
        print(f"  {clients} clients: {mark:%a %d %b %H:%M}Z ({k}/{total} periods, "
              f"{(time.monotonic() - started) / 60:.1f} min)", file=sys.stderr, flush=True)

    print(f"simulating {clients} clients, {config.start:%d %b} to {config.end:%d %b %H:%M}Z ...", file=sys.stderr,
          flush=True)
    with contextlib.redirect_stdout(io.StringIO()):  # the metrics lines (EMF) each run prints
        verdict = simulate(config, progress=progress)
    minutes = (time.monotonic() - started) / 60
    return {"row": _row(verdict, minutes), "ok": verdict.ok, "problems": verdict.problems()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--days", type=float, default=None, help="simulate fewer days than the week")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="sizes run at once")
    parser.add_argument("--emulator", choices=("inprocess", "server"), default="inprocess",
                        help="moto in-process (default, faster) or the tests' moto server over HTTP")
    parser.add_argument("--json", help=argparse.SUPPRESS)  # a child process: write the result here
    args = parser.parse_args(argv)

    if args.json:
        with open(args.json, "w") as out:
            json.dump(run_one(args.clients[0], args.days, args.seed, args.emulator), out)
        return 0

    results: dict[int, dict] = {}
    if len(args.clients) == 1 or args.jobs <= 1:
        if len(args.clients) > 1:
            parser.error("several sizes run in their own processes (--jobs 2), each with its own emulator")
        results[args.clients[0]] = run_one(args.clients[0], args.days, args.seed, args.emulator)
    else:
        pending = list(args.clients)
        running: list[tuple[int, subprocess.Popen, str]] = []
        with tempfile.TemporaryDirectory() as tmp:
            while pending or running:
                while pending and len(running) < args.jobs:
                    n = pending.pop(0)
                    path = os.path.join(tmp, f"{n}.json")
                    command = [sys.executable, "-m", "tests.faults.soak", "--clients", str(n), "--seed",
                               str(args.seed), "--emulator", args.emulator, "--json", path] \
                        + (["--days", str(args.days)] if args.days else [])
                    running.append((n, subprocess.Popen(command), path))
                time.sleep(1)
                for item in list(running):
                    n, process, path = item
                    if process.poll() is None:
                        continue
                    running.remove(item)
                    if process.returncode == 0 and os.path.exists(path):
                        with open(path) as f:
                            results[n] = json.load(f)
                    else:
                        results[n] = {"row": [str(n)] + ["error"] * (len(COLUMNS) - 1), "ok": False,
                                      "problems": f"the run exited with {process.returncode}"}
    rows = [results[n]["row"] for n in args.clients]
    print(f"\nHaven under faults, simulated on {date.today().isoformat()} (python -m tests.faults.soak)\n")
    print(table(rows))
    failed = [n for n in args.clients if not results[n]["ok"]]
    for n in failed:
        print(f"\n{n} clients: promises broken\n{results[n]['problems']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
