"""The one clock. Routes read `wiring.clock()`; sweeps use their event's `time`; domain code is given `now`.

The local stack can move it (`make clock TIME=...`, SPEC §5): `infra/local.py` gives the API and
its scheduler the path of an offset file in `HAVEN_CLOCK_FILE`, and `utc_now` adds the offset
written there, so time moves to that moment and runs on from it. The file is honoured only when
the stage is `local` and the code is not running in Lambda; anywhere else (every deployed stage,
the tests' `test` stage) it is ignored. It is looked at (one `stat`) at most once a second and
read only when it changed, so a request pays nothing for it.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

CLOCK_FILE_ENV = "HAVEN_CLOCK_FILE"
LOCAL_STAGE = "local"
CHECK_SECONDS = 1.0

log = logging.getLogger(__name__)


class OffsetFile:
    """The local stack's clock offset: `{"offset_seconds": <float>}` in a JSON file (no file: 0).

    `offset()` stats the file at most once per `check_seconds` and reads it only when its
    identity (inode, size, mtime) changed; a file that cannot be read counts as no offset."""

    def __init__(self, path: str | os.PathLike, check_seconds: float = CHECK_SECONDS, monotonic=time.monotonic):
        self.path = Path(path)
        self.check_seconds = check_seconds
        self._monotonic = monotonic
        self._next_check = float("-inf")
        self._stamp: tuple | None = None
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def offset(self) -> timedelta:
        if self._monotonic() < self._next_check:
            return self._offset
        with self._lock:
            checked_at = self._monotonic()
            if checked_at < self._next_check:  # another thread just looked
                return self._offset
            self._next_check = checked_at + self.check_seconds
            try:
                st = os.stat(self.path)
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                stamp = None
            if stamp != self._stamp:
                self._stamp = stamp
                self._offset = self._read() if stamp is not None else timedelta(0)
            return self._offset

    def _read(self) -> timedelta:
        try:
            return timedelta(seconds=float(json.loads(self.path.read_text())["offset_seconds"]))
        except (OSError, ValueError, KeyError, TypeError, OverflowError) as error:
            log.warning("clock file %s ignored: %s", self.path, error)
            return timedelta(0)


def clock_file_for(environ=None, stage: str | None = None) -> OffsetFile | None:
    """The offset file this process honours, or None: only with `HAVEN_CLOCK_FILE` set, the
    stage `local`, and not in Lambda (a deployed function never moves its clock)."""
    environ = os.environ if environ is None else environ
    path = environ.get(CLOCK_FILE_ENV)
    if not path:
        return None
    if stage is None:
        from chalicelib import settings

        stage = settings.get().stage
    if stage != LOCAL_STAGE or environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        log.warning("%s ignored: the clock moves only on the local stack (stage %r)", CLOCK_FILE_ENV, stage)
        return None
    return OffsetFile(path)


_UNSET = object()
_source = _UNSET


def _configure():
    global _source
    _source = clock_file_for()
    return _source


def reset() -> None:
    """Forget the offset source (tests that change the environment)."""
    global _source
    _source = _UNSET


def offset() -> timedelta:
    """How far the clock is moved (zero except on a local stack after `make clock`)."""
    source = _source if _source is not _UNSET else _configure()
    return timedelta(0) if source is None else source.offset()


def utc_now() -> datetime:
    source = _source if _source is not _UNSET else _configure()
    now = datetime.now(timezone.utc)
    return now if source is None else now + source.offset()


class FixedClock:
    """A clock tests can set and move; callable like `utc_now`."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> datetime:
        self.at = self.at + timedelta(**delta)
        return self.at


def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with `Z`, to the second (or millisecond when it has them)."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 instant; a time without an offset is refused (ValueError)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("a time needs an offset, e.g. 2026-01-05T09:00:00Z")
    return dt.astimezone(timezone.utc)


def sortable(dt: datetime) -> str:
    """Fixed-width UTC text (always milliseconds) for index keys, where text order must be time order."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
