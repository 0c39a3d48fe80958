"""`make soak`: a simulated week of Haven under faults, judged by the oracle (issue 9).

    python -m tests.faults.soak                    # 50 and 200 clients
    python -m tests.faults.soak --clients 50       # one size
    python -m tests.faults.soak --days 2           # a shorter stretch (from the same start)

For each size: Wed 2026-10-28 00:00Z to Thu 2026-11-05 00:00Z (the New York DST change on Sun 1 Nov,
Brazil's Finados on Mon 2 Nov), the services called directly (as the routes call them) against the
emulator's store, the `reminders` and `deadlines` sweeps every 5 minutes as of their event's time,
with runs missed (1 % at random, and the hour of the DST change), a 2-hour scheduler outage, replays
of the same moment (2 %) and of an old moment (1 h, 6 h back), two runs at once (2 %), and the mail
service down for 6 hours and for 30 minutes. Prints one table row per size and exits non-zero when a
promise was broken (the rows' details follow the table).
"""
from __future__ import annotations

import argparse
import os
import sys
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--days", type=float, default=None, help="simulate fewer days than the week")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)

    # quiet: a week is ~5,000 sweep runs; their INFO lines and metrics would only slow it down
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from tests.support.aws import ensure_stack, reset_data

    ensure_stack()
    import app  # noqa: F401 (the composition root: outbox channels, templates, handlers)
    from chalicelib import wiring
    from tests.faults.sim import simulate, week

    rows, failed = [], []
    for n in args.clients:
        reset_data()
        wiring.reset()
        config = week(n, seed=args.seed)
        if args.days:
            config.end = config.start + timedelta(days=args.days)
        started = time.monotonic()

        def progress(mark, k, total, n=n, started=started):
            print(f"  {n} clients: {mark:%a %d %b %H:%M}Z ({k}/{total} periods, "
                  f"{(time.monotonic() - started) / 60:.1f} min)", file=sys.stderr, flush=True)

        print(f"simulating {n} clients, {config.start:%d %b} to {config.end:%d %b %H:%M}Z ...", file=sys.stderr,
              flush=True)
        verdict = simulate(config, progress=progress)
        minutes = (time.monotonic() - started) / 60
        rows.append(_row(verdict, minutes))
        if not verdict.ok:
            failed.append((n, verdict))
    print(f"\nHaven under faults, simulated {date.today().isoformat()} (python -m tests.faults.soak)\n")
    print(table(rows))
    for n, verdict in failed:
        print(f"\n{n} clients: promises broken\n{verdict.problems()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
