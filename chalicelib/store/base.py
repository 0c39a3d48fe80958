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


_connection = None


def transact_write(**kwargs):
    """A PynamoDB TransactWrite on this container's one connection (all-or-nothing writes)."""
    global _connection
    from pynamodb.connection import Connection
    from pynamodb.transactions import TransactWrite

    if _connection is None:
        _connection = Connection(region=_s.region, host=_s.endpoint_url)
    return TransactWrite(connection=_connection, **kwargs)
