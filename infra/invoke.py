"""`make invoke FN=<name> TIME=<iso>`: run one scheduled function as of TIME against the
running local stack (the local twin of `chalice invoke`), in this process, and print its result.
Without TIME it runs as of the stack's clock (real time, or where `make clock` moved it).

    python -m infra.invoke reminders --time 2026-11-23T09:00:00Z

An event-driven function runs on a sample event from `events/` instead, with fields of its
`detail` replaced (`--set key=value`, repeatable) and, with TIME, its moment moved:

    python -m infra.invoke meeting_events --event events/chime_attendee_joined.json \
        --set externalMeetingId=bk_... --set externalUserId=<participant id>
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    from infra import local, provision, schedules

    parser = argparse.ArgumentParser(description="Run one scheduled function against the local stack.")
    parser.add_argument("function", help="scheduled function name (reminders, deadlines, discharges, ...)")
    parser.add_argument("--time", default="",
                        help="ISO 8601 moment with Z or an offset (default: the stack's clock, see `make clock`)")
    parser.add_argument("--event", default="", help="a sample event (JSON file) for an event-driven function")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="replace a field of the sample event's `detail` (repeatable)")
    args = parser.parse_args(argv)

    try:
        moment = schedules.parse_time(args.time) if args.time else None
    except ValueError as error:
        print(f"TIME: {error}", file=sys.stderr)
        return 2
    stack = local.read_stack_file()
    try:
        urllib.request.urlopen(f"{stack['aws_endpoint_url']}/moto-api/", timeout=3).close()
    except (urllib.error.URLError, OSError):
        print(f"the emulator at {stack['aws_endpoint_url']} does not answer: is `make run` up?", file=sys.stderr)
        return 1
    provision.apply_env(local.local_env(stack))
    sys.path.insert(0, str(local.ROOT))
    # The function's own logs go to stderr (loggers bind the stream at import), so stdout
    # carries only the result and can be piped.
    with contextlib.redirect_stdout(sys.stderr):
        import app as app_module  # after the environment points at the emulator

        if moment is None:
            from chalicelib.clock import utc_now  # the stack's clock, as the scheduler's

            moment = utc_now().replace(microsecond=0)
        print(f"{args.function} as of {schedules.iso_z(moment)}", file=sys.stderr)
        try:
            if args.event:
                event = sample_event(args.event, args.set, moment)  # the event happens now (stack clock) or at TIME
                handler = schedules.handler_for(app_module.app, args.function)
                result = handler(event, schedules.lambda_context(args.function))
            else:
                result = schedules.invoke(app_module.app, args.function, moment, stack["region"])
        except KeyError as error:
            print(error.args[0], file=sys.stderr)
            return 2
    print(json.dumps(result, indent=2, default=str, sort_keys=True))
    return 0


def sample_event(path: str, settings: list[str], moment=None) -> dict:
    """The JSON event at `path`, with `detail` fields replaced and (when given) moved to `moment`."""
    from pathlib import Path

    from infra import schedules

    event = json.loads(Path(path).read_text())
    for item in settings:
        key, _, value = item.partition("=")
        if not key or not _:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
        event.setdefault("detail", {})[key] = value
    if moment is not None:
        event["time"] = schedules.iso_z(moment)
        if "timestamp" in event.get("detail", {}):
            event["detail"]["timestamp"] = int(moment.timestamp() * 1000)
    return event


if __name__ == "__main__":
    sys.exit(main())
