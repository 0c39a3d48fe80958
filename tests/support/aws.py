"""The AWS emulator the tests share: one per test process (each xdist worker has its own).

Call `ensure_stack()` from a conftest at import time, before anything imports `app` or
`chalicelib.store`: settings and the PynamoDB table metadata are read at import, so the
environment must already point at the emulator. Unit tests never call it.

    ensure_stack() -> dict    start moto on a free port, provision infra/resources.json,
                              set os.environ (infra.provision.env_for); later calls return
                              the same dict
    reset_data() -> None      empty every table and forget the mail sent
    sent_mail() -> list[dict] mail the emulator's SES accepted (moto's data.json records)
    ensure_api() -> str       `chalice local` on a free port against the stack (tests/local)
    shutdown() -> None        stop the API and the emulator (also at process exit)
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import provision  # noqa: E402

TEST_STAGE = "test"

_lock = threading.RLock()
_stack: dict | None = None
_server = None
_api: tuple | None = None  # (process, url)


def _check_not_imported_too_early(endpoint_url: str) -> None:
    base = sys.modules.get("chalicelib.store.base")
    settings = getattr(base, "_s", None) if base is not None else None
    if settings is not None and settings.endpoint_url != endpoint_url:
        raise RuntimeError(
            "chalicelib.store was imported before the emulator started, so its tables point at "
            f"{settings.endpoint_url!r}; call tests.support.aws.ensure_stack() in the conftest, before "
            "importing app or chalicelib.store")


def ensure_stack() -> dict:
    """The provisioned emulator of this process, started on first use; os.environ points at it."""
    global _stack, _server
    with _lock:
        if _stack is None:
            server, endpoint_url = provision.start_emulator(0)
            try:
                stack = provision.provision(endpoint_url, stage=TEST_STAGE)
            except BaseException:
                provision.stop_emulator(server)
                raise
            _server = server
            atexit.register(shutdown)
            provision.apply_env(provision.env_for(stack))
            _check_not_imported_too_early(endpoint_url)
            if "chalicelib.wiring" in sys.modules:
                sys.modules["chalicelib.wiring"].reset()
            _stack = stack
        return _stack


def reset_data() -> None:
    """Empty every table and the SES outbox (tables are deleted and recreated from the template)."""
    provision.reset_data(ensure_stack())


def sent_mail() -> list[dict]:
    """What `provision.sent_mail` reads from `/moto-api/data.json`, read from moto's SES models in
    this process (the tests' emulator runs here). data.json serialises every model of every
    service and fails (500) once an S3 multipart part exists whose bucket it cannot find (the
    export adapter's tests make such parts), which made mail-reading tests depend on test order."""
    ensure_stack()
    try:
        from moto.core.model_instances import model_data
    except ImportError:  # pragma: no cover - moto's internals changed: fall back to the HTTP view
        return provision.sent_mail(ensure_stack()["aws_endpoint_url"])
    import json

    def plain(instance) -> dict:
        out = {}
        for attr in dir(instance):
            if attr.startswith("_"):
                continue
            try:
                value = getattr(instance, attr)
                json.dumps(value)
            except Exception:  # what data.json leaves out (methods, objects, failing properties)
                continue
            out[attr] = value
        return out

    ses = model_data.get("ses", {})
    return [plain(instance) for name in ("Message", "RawMessage", "TemplateMessage")
            for instance in getattr(ses.get(name), "instances_tracked", [])]


def ensure_api() -> str:
    """Base URL of `chalice local` serving the app against this process's emulator."""
    global _api
    with _lock:
        if _api is None:
            from infra import local

            stack = ensure_stack()
            port = provision.free_port()
            env = dict(os.environ)
            env.update(provision.env_for(stack))
            env["HAVEN_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
            process = local.start_api(env, host="127.0.0.1", port=port, quiet=True)
            url = f"http://127.0.0.1:{port}"
            try:
                local.wait_for_api(url, process)
            except BaseException:
                local.stop_api(process)
                raise
            _api = (process, url)
        return _api[1]


def shutdown() -> None:
    global _stack, _server, _api
    with _lock:
        if _api is not None:
            from infra import local

            local.stop_api(_api[0])
            _api = None
        if _server is not None:
            provision.stop_emulator(_server)
            _server = None
            _stack = None
