"""What every table shares: its name from settings, the endpoint, on-demand billing."""
from __future__ import annotations

import threading

import botocore.session
import pynamodb.connection.base as _pynamodb_connection

from chalicelib import settings

_s = settings.get()
_sessions = threading.local()


class _SharingSession(botocore.session.Session):
    """A botocore session that hands out ONE DynamoDB client per set of options. PynamoDB makes a
    client per table connection, each costing a cold start tens of ms (endpoint resolution,
    handlers); the tables all use the same options (`meta`), so they share one. botocore clients
    are thread safe; a client that has no credentials (PynamoDB then asks for a new one) is not
    kept."""

    def create_client(self, service_name, *args, **kwargs):
        if service_name != "dynamodb":
            return super().create_client(service_name, *args, **kwargs)
        config = kwargs.get("config")
        options = sorted(config._user_provided_options.items()) if config is not None else ()
        key = repr((args, sorted((k, v) for k, v in kwargs.items() if k != "config"), options))
        cache = self.__dict__.setdefault("_haven_clients", {})
        client = cache.get(key)
        signer = getattr(client, "_request_signer", None)
        if client is None or (signer is not None and not signer._credentials):
            client = cache[key] = super().create_client(service_name, *args, **kwargs)
        return client


def shared_session() -> botocore.session.Session:
    """One botocore session per thread for every table and AWS client. PynamoDB makes a session
    per table connection, and each new session loads DynamoDB's service model from disk again:
    about 50 ms of a cold start per table a request touches; and the tables share one client."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = _SharingSession()
    return session


_pynamodb_connection.get_session = shared_session


# How every DynamoDB call connects: the tables' `Meta` and the multi-table `Connection` alike, so
# they all get the one client `_SharingSession` keeps for these options.
_CONNECTION = {"max_retry_attempts": 3, "connect_timeout_seconds": 5, "read_timeout_seconds": 10}


def meta(table: str, **extra):
    """A PynamoDB `Meta` for one of `settings.TABLE_NAMES`."""
    attrs = {
        "table_name": _s.table(table),
        "region": _s.region,
        "host": _s.endpoint_url,
        "billing_mode": "PAY_PER_REQUEST",
        **_CONNECTION,
        **extra,
    }
    return type("Meta", (), attrs)


def index_meta(name: str, projection):
    return type("Meta", (), {"index_name": name, "projection": projection,
                             "billing_mode": "PAY_PER_REQUEST"})


_connection = None


def _shared_connection():
    """This container's one PynamoDB `Connection` for multi-table calls (transactions, batch reads)."""
    global _connection
    from pynamodb.connection import Connection

    if _connection is None:
        _connection = Connection(region=_s.region, host=_s.endpoint_url, **_CONNECTION)
    return _connection


def dynamodb_client():
    """The container's DynamoDB client (botocore's, which is boto3's too), the one the tables use:
    for code that takes a boto3 client (the idempotency layer). One client, one cold-start cost."""
    return _shared_connection().client


def transact_write(**kwargs):
    """A PynamoDB TransactWrite on this container's one connection (all-or-nothing writes)."""
    from pynamodb.transactions import TransactWrite

    return TransactWrite(connection=_shared_connection(), **kwargs)


def batch_get(wanted: dict, attempts: int = 5, consistent: bool = False) -> dict:
    """Items of several tables in ONE BatchGetItem: `{Model: [key, ...]}` -> `{Model: {key: item}}`,
    a key being the hash key, or `(hash, range)` for a table with a range key; missing keys are
    simply absent. `consistent`: strongly consistent reads. Unprocessed keys are asked again, a few
    times."""
    by_table = {model.Meta.table_name: model for model in wanted}

    def key_of(model, key) -> dict:
        if isinstance(key, tuple):
            return {model._hash_keyname: {"S": key[0]}, model._range_keyname: {"S": key[1]}}
        return {model._hash_keyname: {"S": key}}

    request = {model.Meta.table_name: {"Keys": [key_of(model, key) for key in dict.fromkeys(keys)],
                                       **({"ConsistentRead": True} if consistent else {})}
               for model, keys in wanted.items() if keys}
    found: dict = {model: {} for model in wanted}
    ranged = {model for model, keys in wanted.items() if any(isinstance(key, tuple) for key in keys)}
    client = _shared_connection().client
    for _attempt in range(attempts):
        if not request:
            break
        response = client.batch_get_item(RequestItems=request)
        for table, items in response.get("Responses", {}).items():
            model = by_table[table]
            for raw in items:
                item = model.from_raw_data(raw)
                hash_key = getattr(item, model._hash_keyname)
                found[model][(hash_key, getattr(item, model._range_keyname)) if model in ranged else hash_key] = item
        request = response.get("UnprocessedKeys") or {}
    return found
