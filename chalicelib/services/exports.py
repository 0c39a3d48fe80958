"""Data exports (SPEC §2 Data rights): a client asks for everything Haven holds about them.

`POST /clients/me/exports` only records the request and puts a message on the exports queue
(202); the `exports` function builds the archive off the request path
(`services/export_builder.py`). One export at a time: the request takes the client's `active`
item in the same transaction that creates the export (409 `already_active` while another is
preparing; one stuck preparing for `export_stale_hours` no longer blocks). Once built it is
`ready`: the client is emailed, and `GET` gives a presigned URL valid 15 minutes. It stays
available for 7 days; from then `GET` answers 410 `export_expired` (decided by the clock), and
the daily `discharges` sweep deletes every version of the object.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.clock import iso, parse_iso, sortable
from chalicelib.errors import HavenError, NotFound
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import outbox
from chalicelib.store import exports as store
from chalicelib.store.between import new_id
from chalicelib.store.models import ExportModel, TimerModel
from chalicelib.store.unit_of_work import Refused, UnitOfWork


def request(caller: Caller, now: datetime) -> dict:
    from chalicelib.services.journal import registered_client

    registered_client(caller)  # discharged clients may export too (SPEC §2 Discharges)
    s = wiring.settings()
    export = ExportModel(caller.id, new_id(store.PREFIX, now), status="preparing", created_at=iso(now))
    uow = UnitOfWork()
    # stale from exactly `export_stale_hours` on: the `active` item is taken over at or after it
    store.stage_start(uow, export, sortable(now),
                      sortable(now - timedelta(hours=s.export_stale_hours) + timedelta(milliseconds=1)))
    try:
        uow.commit()
    except Refused:
        raise HavenError("Your data export is still being prepared; you can ask for another once it is ready.",
                         "already_active", details={"export_id": store.holder(caller.id)}) from None
    try:
        wiring.get("export_queue").send({"client_id": caller.id, "export_id": export.id})
    except Exception:
        # Without its message nobody would ever build it: undo, so the client can simply ask again.
        logger.exception("could not queue an export", extra={"export_id": export.id})
        export.delete()
        store.release(caller.id, export.id)
        raise HavenError("Exports are unavailable right now; nothing was started. Try again shortly.",
                         "internal_error") from None
    metrics.add_metric(name="ExportRequested", unit="Count", value=1)
    logger.info("export requested", extra={"export_id": export.id})
    return {"id": export.id, "status": "preparing", "created_at": export.created_at}


def expired(export: ExportModel, now: datetime) -> bool:
    return export.status == "expired" or (
        export.status == "ready" and export.available_until is not None
        and now >= parse_iso(export.available_until))


def status(caller: Caller, export_id: str, now: datetime) -> dict:
    export = store.get(caller.id, export_id)
    if export is None:
        raise NotFound("export")
    if expired(export, now):
        raise HavenError(f"This export was available until {export.available_until} and has been deleted; "
                         "ask for a new one.", "export_expired")
    view = {"id": export.id, "status": export.status, "created_at": export.created_at}
    if export.status != "ready":
        return view
    s = wiring.settings()
    filename = f"haven-export-{export.ready_at[:10]}.zip"
    url = wiring.get("media").client.generate_presigned_url(
        "get_object", ExpiresIn=s.export_url_seconds,
        Params={"Bucket": s.bucket, "Key": export.object_key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"'})
    return {**view, "url": url, "expires_at": iso(now + timedelta(seconds=s.export_url_seconds)),
            "ready_at": export.ready_at, "available_until": export.available_until,
            "size_bytes": int(export.size_bytes or 0)}


def object_key(client_id: str, export_id: str) -> str:
    return f"{wiring.settings().export_prefix}{client_id}/{export_id}.zip"


def mark_ready(export: ExportModel, key: str, size: int, notify: bool, now: datetime) -> bool:
    """`ready`, its expiry due item and the client's email, in one transaction; then the email
    goes out and the `active` item is given back. False when it was ready already (a duplicate)."""
    s = wiring.settings()
    until = now + timedelta(days=s.export_days)
    uow = UnitOfWork()
    uow.update(ExportModel(export.client_id, export.id),
               [ExportModel.status.set("ready"), ExportModel.ready_at.set(iso(now)),
                ExportModel.available_until.set(iso(until)), ExportModel.size_bytes.set(size),
                ExportModel.object_key.set(key), ExportModel.building_until.remove()],
               ExportModel.status == "preparing")
    uow.put(TimerModel(f"export#{export.client_id}#{export.id}", kind=store.EXPIRY_KIND, ref_id=export.id,
                       created_at=iso(now), data={"client_id": export.client_id, "export_id": export.id, "key": key},
                       due_kind=store.EXPIRY_KIND, due_at=sortable(until)))
    if notify:  # to the profile's address when it is sent; pointless once the export is gone
        uow.record(outbox.record(f"export:{export.id}:ready", "export_ready", outbox.user_address(export.client_id),
                                 {"export_id": export.id, "available_until": f"{until:%A %d %B %Y, %H:%M} UTC"},
                                 now, moot_at=until))
    try:
        uow.commit()
    except Refused:
        return False
    store.release(export.client_id, export.id)
    outbox.deliver_all(uow.records, now)
    metrics.add_metric(name="ExportReady", unit="Count", value=1)
    logger.info("export ready", extra={"export_id": export.id, "bytes": size})
    return True


# --- expiry (discharges sweep) ---------------------------------------------------------------------

def delete_objects(key: str) -> int:
    """Delete every version (and delete marker) of one object of the media bucket."""
    s = wiring.settings()
    s3 = wiring.get("media").client
    deleted = 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=s.bucket, Prefix=key):
        versions = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", []) if v["Key"] == key]
        for start in range(0, len(versions), 1000):
            batch = versions[start:start + 1000]
            response = s3.delete_objects(Bucket=s.bucket, Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                raise RuntimeError(f"could not delete {len(response['Errors'])} version(s) of an export")
            deleted += len(batch)
    return deleted


def delete_expired(now: datetime) -> dict:
    """Exports 7 days past ready: every version of the object deleted, the export `expired`."""
    s = wiring.settings()
    done = 0
    for timer in list(TimerModel.due.query(store.EXPIRY_KIND, TimerModel.due_at <= sortable(now),
                                           limit=s.sweep_batch)):
        data = dict(timer.data or {})
        versions = delete_objects(data["key"]) if data.get("key") else 0  # idempotent: a rerun finds none
        uow = UnitOfWork()
        uow.update(timer, [TimerModel.due_kind.remove(), TimerModel.due_at.remove(),
                           TimerModel.settled_at.set(iso(now)), TimerModel.stage.set(1),
                           TimerModel.outcome.set("deleted")], TimerModel.due_at.exists())
        uow.update(ExportModel(data["client_id"], data["export_id"]),
                   [ExportModel.status.set("expired"), ExportModel.deleted_at.set(iso(now))],
                   ExportModel.status.exists())
        try:
            uow.commit()
        except Refused:
            continue
        done += 1
        logger.info("export deleted", extra={"export_id": data["export_id"], "versions": versions})
    return {"exports_deleted": done}
