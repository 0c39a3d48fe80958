"""`make clock TIME=<iso>|now`: move the running local stack's clock (SPEC §5).

    python -m infra.clock 2026-12-24T09:00:00Z   # the API and the schedules are now at that moment
    python -m infra.clock +3d                     # 3 days on from the stack's current time (s, m, h, d)
    python -m infra.clock now                     # back to real time
    python -m infra.clock                         # show the stack's time

Time keeps flowing from the moment set. It writes `{"offset_seconds": ...}` to the clock file the
runner named in `.local/stack.json` (`clock_file`, passed to the API and the scheduler in
`HAVEN_CLOCK_FILE`); they look at it at most once a second, so this waits that long before it
returns. Only the local stage honours the file (`chalicelib/clock.py`); deployed stages ignore it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

_RELATIVE = re.compile(r"^([+-])(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def read_offset(path: Path) -> float:
    try:
        return float(json.loads(path.read_text())["offset_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def write_offset(path: Path, offset_seconds: float, target: datetime | None) -> None:
    """Atomically (a new file each time, so readers see a changed identity)."""
    from infra.schedules import iso_z

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    record = {"offset_seconds": offset_seconds,
              "set_to": iso_z(target) if target else None,
              "set_at": iso_z(datetime.now(timezone.utc))}
    tmp.write_text(json.dumps(record) + "\n")
    tmp.replace(path)


def target_offset(text: str, current_offset: float, real_now: datetime) -> tuple[float, datetime | None]:
    """(the new offset in seconds, the moment it puts the clock at; None for `now`)."""
    from infra.schedules import parse_time

    text = text.strip()
    if text.lower() == "now":
        return 0.0, None
    match = _RELATIVE.match(text)
    if match:
        sign, amount, unit = match.groups()
        delta = timedelta(**{_UNIT[unit]: float(amount)}) * (1 if sign == "+" else -1)
        target = real_now + timedelta(seconds=current_offset) + delta
    else:
        target = parse_time(text)
    return (target - real_now).total_seconds(), target


def main(argv: list[str] | None = None) -> int:
    from infra import local
    from infra.schedules import iso_z

    parser = argparse.ArgumentParser(description="Move the local stack's clock (API and schedules).")
    parser.add_argument("time", nargs="?", default="",
                        help="ISO 8601 moment with Z or an offset, +<n>s|m|h|d from the stack's time, or `now`")
    args = parser.parse_args(argv)

    stack = local.read_stack_file()
    if not stack.get("clock_file"):
        print("this stack has no clock file: restart `make run` with this version", file=sys.stderr)
        return 1
    path = Path(stack["clock_file"])
    real_now = datetime.now(timezone.utc)
    if args.time:
        try:
            offset, target = target_offset(args.time, read_offset(path), real_now)
        except ValueError as error:
            print(f"TIME: {error} (e.g. 2026-12-24T09:00:00Z, +3d or now)", file=sys.stderr)
            return 2
        if target is None:
            path.unlink(missing_ok=True)
        else:
            write_offset(path, offset, target)
        time.sleep(1.2)  # the API and the scheduler look at the file at most once a second
    offset = read_offset(path)
    shifted = datetime.now(timezone.utc) + timedelta(seconds=offset)
    if offset:
        print(f"local stack clock: {iso_z(shifted)} (real time {offset:+.0f} s); `make clock TIME=now` goes back")
    else:
        print(f"local stack clock: {iso_z(shifted)} (real time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
