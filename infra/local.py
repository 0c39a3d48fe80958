"""`make run`: the whole stack on this machine, stopped by Ctrl-C with nothing left listening.

1. the AWS emulator (moto server, in this process) at 127.0.0.1:4566 (HAVEN_AWS_PORT),
2. every resource of infra/resources.json provisioned into it (infra/provision.py),
3. the API: `chalice local` at 127.0.0.1:8000 (HAVEN_API_PORT) in its own process group,
4. the schedules of the app firing on their rates, in this process, as Lambda would call them,
   and its queues drained into their functions (infra/queues.py),
5. `.local/stack.json` (HAVEN_STACK_FILE) describing all of it (read by `make invoke`, `make outbox`,
   `make user`, `make clock`).

The stack's clock can be moved (`make clock`): the API and the scheduler both read
`chalicelib.clock.utc_now`, which adds the offset in `.local/clock.json` (beside the stack file),
named to them in `HAVEN_CLOCK_FILE`. Each `make run` starts at real time.
"""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".local"
STACK_FILE = Path(os.environ.get("HAVEN_STACK_FILE") or STATE_DIR / "stack.json")
CLOCK_FILE = STACK_FILE.with_name("clock.json")
HOST = "127.0.0.1"

log = logging.getLogger("haven.local")


# --- the API (chalice local) ----------------------------------------------------------------

# The dev server prints every request line; link tokens and cursors must never reach a log.
_SECRETS_IN_PATHS = re.compile(r"(/links/|/join/)[^\s/?\"]+|([?&]next=)[^\s&\"]+")


def redact(line: str) -> str:
    """A request line with link tokens (email links, join links) and `next` cursors replaced."""
    return _SECRETS_IN_PATHS.sub(lambda m: (m.group(1) or m.group(2)) + "[redacted]", line)


def _copy_redacted(stream, sink) -> None:
    for raw in iter(stream.readline, b""):
        sink.write(redact(raw.decode("utf-8", "replace")))
        sink.flush()


def start_api(env: dict[str, str], host: str = HOST, port: int = 8000, quiet: bool = False,
              log_path: Path | None = None) -> subprocess.Popen:
    """`chalice local` in a new process group (so stopping it stops everything it started); its
    output goes through `redact` to the terminal or `log_path`."""
    # chalice's CLI with API Gateway's greedy-path matching (infra/chalice_greedy.py)
    command = [sys.executable, "-m", "infra.chalice_greedy", "local", "--no-autoreload", "--stage", "dev",
               "--host", host, "--port", str(port)]
    output = subprocess.DEVNULL if quiet and log_path is None else subprocess.PIPE
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True, preexec_fn=_die_with_parent)
    if output is subprocess.PIPE:
        sink = open(log_path, "a", encoding="utf-8") if log_path is not None else sys.stderr
        threading.Thread(target=_copy_redacted, args=(process.stdout, sink), daemon=True,
                         name="chalice-local-output").start()
    return process


def _die_with_parent() -> None:
    """Linux: SIGTERM the API if the process that started it dies without stopping it (kill -9)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_for_api(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until GET /health answers (any HTTP status counts: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chalice local exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"{url}/health did not answer within {timeout:.0f}s")


def stop_api(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=timeout)


# --- the schedules --------------------------------------------------------------------------

class Scheduler:
    """Fires each scheduled function on its rate or cron, with an EventBridge event whose
    `time` is now (the stack's clock, which `make clock` moves). A run still going when its next
    turn comes is not doubled up. When the clock jumps forward each overdue schedule fires once;
    when it goes back, the plan starts again from the new time."""

    def __init__(self, chalice_app, region: str, now=lambda: datetime.now(timezone.utc)):
        from infra.schedules import scheduled_functions

        self.app = chalice_app
        self.region = region
        self.now = now
        self.schedules = scheduled_functions(chalice_app)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="haven-scheduler", daemon=True)
        self.running: dict[str, threading.Thread] = {}

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        for worker in list(self.running.values()):
            worker.join(timeout)

    def plan(self) -> dict[str, datetime]:
        start = self.now()
        plan = {}
        for schedule in self.schedules:
            try:
                plan[schedule.name] = schedule.next_after(start)
            except ValueError as error:
                log.error("schedule %s (%s) cannot run locally: %s", schedule.name, schedule.expression, error)
        return plan

    def _loop(self) -> None:
        by_name = {s.name: s for s in self.schedules}
        due = self.plan()
        last = self.now()
        while not self.stop_event.is_set():
            now = self.now()
            if now < last - timedelta(seconds=1):  # the clock was moved back: plan from there
                due = self.plan()
                log.info("the clock went back to %s; schedules planned again", now.isoformat())
            last = now
            for name, when in list(due.items()):
                if when <= now:
                    self._fire(name)
                    following = by_name[name].next_after(when)
                    while following <= now:  # after a stall, fire once, not once per missed turn
                        following = by_name[name].next_after(following)
                    due[name] = following
            wait = min((w - self.now()).total_seconds() for w in due.values()) if due else 60
            self.stop_event.wait(max(0.05, min(wait, 1.0)))

    def _fire(self, name: str) -> None:
        current = self.running.get(name)
        if current is not None and current.is_alive():
            log.warning("schedule %s: previous run still going; this turn is skipped", name)
            return
        worker = threading.Thread(target=self._run, args=(name,), name=f"haven-{name}", daemon=True)
        self.running[name] = worker
        worker.start()

    def _run(self, name: str) -> None:
        from infra.schedules import invoke, iso_z

        moment = self.now().replace(microsecond=0)
        started = time.monotonic()
        try:
            result = invoke(self.app, name, moment, self.region)
        except Exception:  # a failing sweep must not stop the others
            log.error("schedule %s as of %s failed:\n%s", name, iso_z(moment), traceback.format_exc())
            return
        log.info("schedule %s as of %s done in %.2fs: %s", name, iso_z(moment), time.monotonic() - started,
                 json.dumps(result, default=str)[:500])


# --- the whole stack ------------------------------------------------------------------------

def write_stack_file(stack: dict, path: Path = STACK_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stack, indent=2, default=str) + "\n")
    tmp.replace(path)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def read_stack_file(path: Path = STACK_FILE) -> dict:
    if not path.exists():
        raise SystemExit(f"{shown(path)} not found: start the local stack with `make run` first")
    return json.loads(path.read_text())


def local_env(stack: dict) -> dict[str, str]:
    """The environment of the local stage's API, scheduler and `make invoke`: the emulator's
    (`provision.env_for`) plus the clock file, which only this runner ever names."""
    from infra import provision

    env = provision.env_for(stack)
    if stack.get("clock_file"):
        env["HAVEN_CLOCK_FILE"] = str(stack["clock_file"])
    return env


def summary(stack: dict, schedules: dict[str, datetime]) -> str:
    lines = [
        "",
        "Haven local stack is up (Ctrl-C stops everything)",
        f"  API                {stack['api_url']}   (GET /health, /openapi.json)",
        f"  AWS emulator       {stack['aws_endpoint_url']}   region {stack['region']}, "
        f"dashboard {stack['aws_endpoint_url']}/moto-api/",
        f"  Cognito pool       {stack['user_pool_id']}   app client {stack['user_pool_client_id']}",
        f"  JWKS               {stack['jwks_url']}",
        f"  Media bucket       {stack['bucket']}",
        f"  KMS key            {stack['kms_key_id']} ({stack['kms_key_alias']})",
        f"  Signing key        {stack['signing_key_parameter']}",
        f"  Mail sender        {stack['mail_sender']}   (read mail: make outbox)",
        f"  Tables             {', '.join(sorted(stack['tables'].values()))}",
    ]
    for name, when in schedules.items():
        lines.append(f"  Schedule           {name:<12} {stack['schedules'].get(name, '')}, next {when:%H:%M:%S}Z")
    for name in stack.get("queue_functions", []):
        lines.append(f"  Queue              {name:<12} drained into the function `{name}` every second")
    lines.append("  Clock              real time   (make clock TIME=<iso>|+3d|now)")
    lines.append("  Users              make user ROLE=client|provider|ops EMAIL=...   (prints an ID token)")
    lines.append(f"  Stack file         {shown(STACK_FILE)}   (make invoke FN=<name> TIME=<iso>)")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from infra import provision

    aws_port = int(os.environ.get("HAVEN_AWS_PORT", "4566"))
    api_port = int(os.environ.get("HAVEN_API_PORT", "8000"))
    if not provision.port_is_free(api_port, HOST):
        print(f"port {api_port} is in use; set HAVEN_API_PORT to another port", file=sys.stderr)
        return 1

    stop = threading.Event()
    serving = False

    def request_stop(signum, frame):
        stop.set()
        if not serving:  # still starting: abandon the start-up, the finally block cleans up
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    server = api = scheduler = drainer = None
    try:
        server, endpoint_url = provision.start_emulator(aws_port, HOST)
        api_url = f"http://{HOST}:{api_port}"
        stack = provision.provision(endpoint_url, parameters={"PublicBaseUrl": api_url})
        CLOCK_FILE.unlink(missing_ok=True)  # each stack starts at real time
        stack["clock_file"] = str(CLOCK_FILE)
        provision.apply_env(local_env(stack))
        stack["api_url"] = api_url
        api = start_api(dict(os.environ), HOST, api_port)
        wait_for_api(api_url, api)

        sys.path.insert(0, str(ROOT))
        import app as app_module  # after the environment points at the emulator
        from chalicelib.clock import utc_now  # the API's clock: `make clock` moves both

        scheduler = Scheduler(app_module.app, stack["region"], now=utc_now)
        stack["schedules"] = {s.name: s.expression for s in scheduler.schedules}
        from infra.queues import QueueDrainer

        drainer = QueueDrainer(app_module.app, stack)
        stack["queue_functions"] = [f.name for f in drainer.functions]
        stack.pop("table_properties", None)
        write_stack_file(stack)
        print(summary(stack, scheduler.plan()), flush=True)
        scheduler.start()
        drainer.start()
        serving = True
        while not stop.wait(0.5):
            if api.poll() is not None:
                log.error("chalice local exited with %s; stopping", api.returncode)
                return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        # Ignore further Ctrl-C while shutting down, so nothing is left half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if scheduler is not None:
            scheduler.stop_event.set()
        if api is not None:
            stop_api(api)
        if scheduler is not None:
            scheduler.stop(timeout=10)
        if drainer is not None:
            drainer.stop(timeout=10)
        if server is not None:
            provision.stop_emulator(server)
        STACK_FILE.unlink(missing_ok=True)
        CLOCK_FILE.unlink(missing_ok=True)
        print("Haven local stack stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
