"""What the benchmarks share: the emulator, AWS call counting, an in-process API with real tokens,
and the result format `python -m tests.bench` prints.

AWS calls are counted through botocore's own events. Every botocore client in this process is
made by `botocore.session.Session.create_client` (boto3 clients, PynamoDB's per-thread
connections, the cipher's KMS client), so `instrument()` wraps that one method and
registers two handlers on each new client: `before-parameter-build` notes the tables a call
names, `after-call` records the call with what it returned (items read). Nothing in the app
is patched or told it is being measured.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator



# --- results -----------------------------------------------------------------------------------

def result(name: str, value, unit: str, *, baseline=None, target: str | None = None, ok: bool | None = None,
           ratio: float | None = None, note: str = "", **extra) -> dict:
    """One line of `make bench`. `ratio` defaults to value / baseline when both are numbers."""
    if ratio is None and isinstance(value, (int, float)) and isinstance(baseline, (int, float)) and baseline:
        ratio = value / baseline
    return {"name": name, "value": _round(value), "unit": unit, "baseline": _round(baseline),
            "ratio": _round(ratio), "target": target, "ok": ok, "note": note, **extra}


def _round(value):
    if isinstance(value, float):
        return round(value, 3 if abs(value) < 10 else 1)
    return value


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- the emulator ------------------------------------------------------------------------------

# Set in the benchmark process (not in the cold-start subprocesses): the app's JSON logs would
# otherwise interleave with the results on stdout. (EMF metrics still print, as on Lambda; the
# runner sends a module's stdout to /dev/null while it runs.)
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING"}


def stack() -> dict:
    """This process's provisioned emulator; the environment points at it (before `app` is imported)."""
    import os

    from tests.support.aws import ensure_stack

    instrument()
    stack = ensure_stack()
    os.environ.update(QUIET)  # after ensure_stack(), which sets the functions' environment
    return stack


# --- counting AWS calls ------------------------------------------------------------------------

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
# Round trips counted apart from a route's own (issue 16), the same in every bench: calls that touch
# only the idempotency table (the record of an idempotent request), only the access log (the audit
# line a provider's read appends, issue 2), and every call made while the outbox delivers the
# notices a change recorded inside its own transaction (`services.outbox.deliver_all`: lease, the
# recipient's address, `sent`, per email), marked through `_outbox_marker`; and the calls that
# fetch the caller's data key to seal or unseal the idempotency record's answer (SPEC §2: the
# record is encrypted), which belong to the record: `between` key item, marked by `_marker`.
APART = ("idempotency", "access_log", "notifications")


@dataclass
class Call:
    service: str
    operation: str
    tables: tuple[str, ...]
    items_read: int = 0
    error: str | None = None
    ms: float = 0.0  # from parameter build to parsed response (what the caller waits, retries included)
    outbox: bool = False  # made while the outbox delivered notices after a change
    sealing: bool = False  # made while the idempotency record's answer was sealed or unsealed


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)

    def of(self, service: str) -> list[Call]:
        return [c for c in self.calls if c.service == service]

    def dynamodb(self, tables_apart: tuple[str, ...] = ()) -> tuple[list[Call], list[Call]]:
        """DynamoDB calls split into (domain, apart): a call touching only `tables_apart` is apart."""
        domain, apart = [], []
        for call in self.of("dynamodb"):
            short = {short_table(t) for t in call.tables}
            (apart if call.outbox or call.sealing or (short and short <= set(tables_apart)) else domain).append(call)
        return domain, apart

    def items_read(self, service: str = "dynamodb") -> int:
        """Items read, but not by the outbox delivering emails (the recipient's address), which is
        counted apart like its writes (APART)."""
        return sum(c.items_read for c in self.of(service) if not c.outbox)


_lock = threading.Lock()
_delivering = threading.local()
_sealing = threading.local()
_active: list[Recording] = []
_everything = Recording()  # every call of the whole run (the Scan check)
_installed = False


def instrument() -> None:
    """Count every AWS call of every botocore client created from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import botocore.session

        original = botocore.session.Session.create_client

        def create_client(self, service_name, *args, **kwargs):
            client = original(self, service_name, *args, **kwargs)
            client.meta.events.register("before-parameter-build", _before_parameter_build)
            client.meta.events.register("after-call", _after_call)
            return client

        create_client.__wrapped__ = original
        botocore.session.Session.create_client = create_client
        _installed = True


def _tables(params: dict) -> tuple[str, ...]:
    names = []
    if isinstance(params.get("TableName"), str):
        names.append(params["TableName"])
    for key in ("RequestItems",):
        if isinstance(params.get(key), dict):
            names += list(params[key])
    for item in params.get("TransactItems") or []:
        for action in item.values():
            if isinstance(action, dict) and action.get("TableName"):
                names.append(action["TableName"])
    return tuple(dict.fromkeys(names))


def _before_parameter_build(params, model, context, **kwargs):
    context["bench_tables"] = _tables(params or {})
    context["bench_started"] = time.perf_counter()


def _items_read(operation: str, parsed: dict) -> int:
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation in ("Query", "Scan"):
        return int(parsed.get("ScannedCount", parsed.get("Count", 0)) or 0)
    if operation == "BatchGetItem":
        return sum(len(items) for items in (parsed.get("Responses") or {}).values())
    if operation == "TransactGetItems":
        return sum(1 for r in parsed.get("Responses") or [] if r.get("Item"))
    return 0


def _after_call(http_response, parsed, model, context, **kwargs):
    service = model.service_model.service_name
    error = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
    context = context or {}
    started = context.get("bench_started")
    call = Call(service, model.name, tuple(context.get("bench_tables", ())),
                _items_read(model.name, parsed or {}) if service == "dynamodb" else 0, error,
                (time.perf_counter() - started) * 1000 if started else 0.0,
                outbox=bool(getattr(_delivering, "depth", 0)), sealing=bool(getattr(_sealing, "depth", 0)))
    with _lock:
        _everything.calls.append(call)
        for recording in _active:
            recording.calls.append(call)


def _outbox_marker() -> None:
    """Mark the calls made inside `services.outbox.deliver_all` and the idempotency record's
    `_seal`/`_unseal` (called through their module attributes), once the app is imported: the only
    wrappers the bench puts on the app, and they change nothing but thread-local counters."""
    import sys

    idempotency = sys.modules.get("chalicelib.api.idempotency")
    if idempotency is not None:
        for name in ("_seal", "_unseal"):
            setattr(idempotency, name, _marked(getattr(idempotency, name), _sealing))
    outbox = sys.modules.get("chalicelib.services.outbox")
    if outbox is not None:
        outbox.deliver_all = _marked(outbox.deliver_all, _delivering)


def _marked(function, flag):
    """`function`, counting its calls as made under `flag` (a thread-local depth)."""
    if getattr(function, "_bench_marked", False):
        return function

    def marked(*args, **kwargs):
        flag.depth = getattr(flag, "depth", 0) + 1
        try:
            return function(*args, **kwargs)
        finally:
            flag.depth -= 1

    marked._bench_marked = True
    return marked


@contextmanager
def record() -> Iterator[Recording]:
    _outbox_marker()
    recording = Recording()
    with _lock:
        _active.append(recording)
    try:
        yield recording
    finally:
        with _lock:
            _active.remove(recording)


def everything() -> Recording:
    return _everything


def short_table(name: str) -> str:
    """`haven-test-rooms` → `rooms`."""
    parts = name.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "haven" else name


# --- people and the in-process API ---------------------------------------------------------------

from tests.support.cognito import Cognito, User  # noqa: E402,F401 (re-exported)


@dataclass
class Reply:
    status: int
    json: Any
    body: str


class Api:
    """The app in this process (chalice.test.Client: the same event path as API Gateway)."""

    def __init__(self):
        from pathlib import Path

        from chalice.test import Client

        from app import app

        self.client = Client(app, project_dir=str(Path(__file__).resolve().parents[2]))

    def call(self, method: str, path: str, user: User | None = None, body=None, headers=None) -> Reply:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if user is not None:
            all_headers["Authorization"] = f"Bearer {user.token}"
        kwargs = {"headers": all_headers}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        response = getattr(self.client.http, method.lower())(path, **kwargs)
        text = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        return Reply(response.status_code, data, text)

    def ok(self, method: str, path: str, user: User | None = None, body=None, headers=None,
           expect: tuple[int, ...] = (200, 201)) -> Any:
        reply = self.call(method, path, user, body, headers)
        if reply.status not in expect:
            raise AssertionError(f"{method} {path}: {reply.status} {reply.body[:300]}")
        return reply.json


class World:
    """Clients, providers, plans and rooms made through the API (like the tests' World)."""

    def __init__(self, api: Api, cognito: Cognito):
        self.api, self.cognito = api, cognito
        self.ops = cognito.ops()

    def client(self, **profile) -> User:
        user = self.cognito.client()
        self.api.ok("POST", "/clients/me", user, {"name": "Bench Client", "date_of_birth": "1990-04-21",
                                                  "timezone": "America/New_York", "region": "US-NY",
                                                  "languages": ["en"], **profile})
        return user

    def provider(self, **fields) -> User:
        email = f"bench-provider-{uuid.uuid4().hex[:10]}@example.com"
        self.api.ok("POST", "/ops/providers", self.ops, {
            "email": email, "name": "Dr. Bench", "kind": "therapist", "licensed_regions": ["US-NY"],
            "languages": ["en"], "timezone": "America/New_York", **fields})
        return self.cognito.activate(email, "provider")

    def plan(self, client: User, **plan) -> dict:
        return self.api.ok("PUT", f"/ops/clients/{client.id}/plan", self.ops,
                           {"kind": "subscription", "live_credits": 4, "period_anchor": "2026-11-01", **plan})

    def room(self, client: User, provider: User) -> str:
        return self.api.ok("PUT", "/ops/assignments", self.ops,
                           {"client_id": client.id, "provider_id": provider.id})["room_id"]


def fixed_clock(at: datetime):
    """Route handlers read `wiring.clock()`; the benchmarks pin it so every run does the same work."""
    from chalicelib import wiring
    from chalicelib.clock import FixedClock

    clock = FixedClock(at)
    wiring.override("clock", clock)
    return clock


MONDAY_10_NEW_YORK = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result)"""
    started = time.perf_counter()
    value = function()
    return (time.perf_counter() - started) * 1000, value
