"""JSON as the API writes it: datetimes as ISO-8601 UTC, dates as YYYY-MM-DD, sets and tuples as lists.

Shared by the route responses (`routing`) and the answers `idempotency` stores for replay, so a
retried request gets byte-for-byte the body the first one got.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from chalicelib.clock import iso


def json_default(value: Any):
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(type(value).__name__)


def dumps(value: Any) -> str:
    """A response body: UTF-8 text as is (`ensure_ascii=False`), our types as above."""
    return json.dumps(value, default=json_default, ensure_ascii=False)
