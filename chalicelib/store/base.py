"""What every table shares: its name from settings, the endpoint, on-demand billing."""
from __future__ import annotations

from chalicelib import settings

_s = settings.get()


def meta(table: str, **extra):
    """A PynamoDB `Meta` for one of `settings.TABLE_NAMES`."""
    attrs = {
        "table_name": _s.table(table),
        "region": _s.region,
        "host": _s.endpoint_url,
        "billing_mode": "PAY_PER_REQUEST",
        "max_retry_attempts": 3,
        "connect_timeout_seconds": 5,
        "read_timeout_seconds": 10,
        **extra,
    }
    return type("Meta", (), attrs)


def index_meta(name: str, projection):
    return type("Meta", (), {"index_name": name, "projection": projection,
                             "billing_mode": "PAY_PER_REQUEST"})
