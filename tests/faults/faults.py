"""The faults this tier injects into the real code paths, without patching the project.

    Crash            raised right after an AWS call returned: the process "dies" there. A
                     BaseException, so no `except Exception` in Haven (the route's 500 envelope,
                     the outbox's "retry later", powertools' idempotency clean-up) sees it, just
                     as no code runs after a Lambda is killed.
    AwsCalls         ONE botocore handler on `after-call` (every `after-call.<service>.<Operation>`)
                     of the shared botocore session (`chalicelib.store.base.shared_session()`,
                     the session every boto3 client and PynamoDB table of the app is made from).
                     It records the calls while `recording()`, and raises `Crash` on the Nth call
                     of an armed operation. Botocore copies a session's handlers into each client
                     when the client is made, so `install()` also makes the app forget the
                     clients it already built (they are made again, with the handler).
    FlakyMailer      a mail adapter (`wiring.override("mailer", ...)`) that fails while the mail
                     service is down (a flag, or outage windows on a clock), and records every
                     email it did send with the (simulated) time it went out.
    lambda_timed_out the crashed request's `Idempotency-Key` record is left "in progress" (no
                     code ran to release it); a client's retry comes after the Lambda's timeout,
                     when powertools lets the key be used again. This moves that expiry to the
                     past in the emulator's idempotency table.

Names of calls are `<service id>.<Operation>` as botocore emits them: `dynamodb.TransactWriteItems`,
`ses.SendEmail`, `cognito-identity-provider.AdminAddUserToGroup`, `s3.CopyObject`, `kms.Decrypt`.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable


class Crash(BaseException):
    """The process died right after the named AWS call returned."""

    def __init__(self, point: str):
        super().__init__(f"crash after {point}")
        self.point = point


class MailServiceDown(ConnectionError):
    """What the flaky mail adapter raises while the mail service is down."""


# --- crash after any named AWS call ------------------------------------------------------------

@dataclass
class Point:
    """The `nth` call (1-based) of `name` in one request: where a crash is injected. `table` (the
    DynamoDB table(s) the call wrote, as recorded) only labels it."""
    name: str
    nth: int = 1
    table: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.name}#{self.nth}" + (f" ({self.table})" if self.table else "")


class AwsCalls:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: set[int] = set()
        self._recording: list[str] | None = None
        self._armed: Point | None = None
        self._seen: dict[str, int] = {}
        self.fired: Point | None = None
        self._local = threading.local()

    # installation ---------------------------------------------------------------------------
    def install(self) -> None:
        """Register the handler on this thread's shared botocore session (once per session) and
        make the app build its clients again, so every client carries the handler."""
        from chalicelib import wiring
        from chalicelib.store import base
        from chalicelib.store.models import ALL_MODELS

        session = base.shared_session()
        if id(session) not in self._sessions:
            session.register("before-parameter-build.dynamodb", self._tables, unique_id="haven-tests-faults-tables")
            session.register("after-call", self._after_call, unique_id="haven-tests-faults")
            self._sessions.add(id(session))
        # Forget the clients made before the handler existed (botocore copied the session's
        # handlers into each): boto3 clients live in the wiring container, PynamoDB keeps one
        # connection per model and the store one for transactions and batch reads.
        with wiring._lock:
            for key in [k for k in wiring._built if k.startswith("client:") or k in (
                    "cognito", "mailer", "media", "cipher", "idempotency_store")]:
                wiring._built.pop(key, None)
        for model in ALL_MODELS:
            model._connection = None
        base._connection = None
        try:  # the idempotency layer keeps the client it was first built with
            from chalicelib.api import routing

            routing._ONCE = None
        except ImportError:  # pragma: no cover
            pass

    # recording ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def recording(self):
        """Collect the names of the calls made inside the block (a list, filled as they happen)."""
        calls: list[str] = []
        with self._lock:
            self._recording = calls
        try:
            yield calls
        finally:
            with self._lock:
                self._recording = None

    # crashing -------------------------------------------------------------------------------
    def arm(self, point: Point) -> None:
        with self._lock:
            self._armed, self._seen, self.fired = point, {}, None

    def disarm(self) -> None:
        with self._lock:
            self._armed, self._seen = None, {}

    @contextlib.contextmanager
    def crash_after(self, point: Point):
        self.arm(point)
        try:
            yield self
        finally:
            self.disarm()

    def _tables(self, params=None, **_kwargs) -> None:
        """Which table(s) the coming DynamoDB call names (a label for the record)."""
        params = params or {}
        names = [params["TableName"]] if "TableName" in params else []
        for item in params.get("TransactItems") or []:
            for op in item.values():
                if isinstance(op, dict) and op.get("TableName"):
                    names.append(op["TableName"])
        names += list((params.get("RequestItems") or {}).keys())
        short = sorted({n.rsplit("-", 1)[-1] for n in names})
        self._local.table = "+".join(short)

    def _after_call(self, event_name: str, **_kwargs) -> None:
        # event_name: "after-call.<service id>.<Operation>"
        name = event_name.split(".", 1)[1] if "." in event_name else event_name
        table = getattr(self._local, "table", "") if name.startswith("dynamodb.") else ""
        self._local.table = ""
        with self._lock:
            if self._recording is not None:
                self._recording.append(Call(name, table))
            armed = self._armed
            if armed is None or armed.name != name:
                return
            count = self._seen[name] = self._seen.get(name, 0) + 1
            if count != armed.nth:
                return
            self._armed, self.fired = None, armed  # one crash per arming
        raise Crash(str(armed))


# Calls that change nothing anywhere. A crash right after one leaves exactly what a crash right
# after the write before it leaves (or, first in a request, what no request at all leaves), so the
# short tier crashes after every write and after the first call; HAVEN_FAULTS=full crashes after
# every call.
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "HeadObject",
         "GetObject", "ListObjectsV2", "AdminGetUser", "AdminListGroupsForUser", "ListUsers", "Decrypt",
         "Encrypt", "GenerateDataKey", "DescribeKey", "GetParameter", "GetSecretValue"}


def is_write(name: str) -> bool:
    return name.split(".", 1)[-1] not in READS


class Call(str):
    """A recorded call's name (`dynamodb.PutItem`), with the table(s) it named."""

    def __new__(cls, name: str, table: str = ""):
        value = super().__new__(cls, name)
        value.table = table
        return value


def points_of(calls: Iterable[str], every_call: bool | None = None) -> list[Point]:
    """Each call of a recorded request as a crash point (the Nth call of its operation): every
    call with `every_call` (default: HAVEN_FAULTS=full), else the first call and every write."""
    import os

    if every_call is None:
        every_call = os.environ.get("HAVEN_FAULTS", "").lower() == "full"
    seen: dict[str, int] = {}
    out = []
    for index, name in enumerate(calls):
        seen[name] = seen.get(name, 0) + 1
        if every_call or index == 0 or is_write(name):
            out.append(Point(str(name), seen[name], getattr(name, "table", "")))
    return out


AWS_CALLS = AwsCalls()


def lambda_timed_out() -> int:
    """Let the Idempotency-Key of a crashed request be used again, as after the Lambda's timeout:
    its "in progress" record (nobody released it) expires now. Returns how many were released."""
    from chalicelib import wiring

    s = wiring.settings()
    ddb = _test_client("dynamodb", s.region, s.endpoint_url)
    table = s.table("idempotency")
    released = 0
    pages = ddb.get_paginator("scan").paginate(TableName=table)  # test-only read of a tiny table
    for page in pages:
        for item in page.get("Items", []):
            if item.get("status", {}).get("S") == "INPROGRESS":
                ddb.update_item(TableName=table, Key={"id": item["id"]},
                                UpdateExpression="SET in_progress_expiration = :past",
                                ExpressionAttributeValues={":past": {"N": "1"}})
                released += 1
    return released


_clients: dict = {}


def _test_client(service: str, region: str, endpoint_url: str):
    """The tests' own boto3 client (its own session: the app's fault handler never sees its calls)."""
    key = (service, region, endpoint_url)
    if key not in _clients:
        import boto3

        _clients[key] = boto3.session.Session().client(service, region_name=region, endpoint_url=endpoint_url)
    return _clients[key]


# --- a mail service that fails on demand --------------------------------------------------------

@dataclass
class Sent:
    to: str
    subject: str
    text: str
    at: datetime | None
    files: tuple = ()


@dataclass
class FlakyMailer:
    """The `mailer` adapter's shape (`send(to, subject, text, html, files)`), failing on demand:
    while `down`, during any of `outages` (half-open `[start, end)` on `clock()`), or for the next
    `fail_next` sends. Every email that went out is in `sent`, stamped with `clock()`."""
    clock: Callable[[], datetime] | None = None
    down: bool = False
    outages: list[tuple[datetime, datetime]] = field(default_factory=list)
    fail_next: int = 0
    sent: list[Sent] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def is_down(self, at: datetime | None = None) -> bool:
        at = at if at is not None else (self.clock() if self.clock else None)
        return self.down or (at is not None and any(a <= at < b for a, b in self.outages))

    def send(self, to, subject, text, html, attachments=()):
        at = self.clock() if self.clock else None
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                self.refused += 1
                raise MailServiceDown("mail service refused the message")
            if self.is_down(at):
                self.refused += 1
                raise MailServiceDown("mail service is down")
            self.sent.append(Sent(to, subject, text, at, tuple(attachments or ())))
        return f"fake-{len(self.sent)}"

    def to(self, address: str) -> list[Sent]:
        return [m for m in self.sent if m.to == address]
