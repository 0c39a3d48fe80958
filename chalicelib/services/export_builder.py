"""The `exports` function: builds a client's data export off the request path (SPEC §2 Data rights).

It takes one queue message (`{"client_id", "export_id"}`) at a time, leases the export (SQS may
deliver a message twice; a second builder drops its copy), and streams a ZIP64 archive of JSON
files and media straight into an S3 multipart upload under SSE-KMS (`adapters/export_zip.py`:
never the whole archive in memory or /tmp). Messages, journal entries, mood notes, goals,
homework and talkcast scripts are decrypted with their keys; every media file of the client's
rooms is copied in as it is. Then the export is `ready` and the client emailed
(`services/exports.mark_ready`). A failure aborts the upload (nothing partial is left) and raises,
so the queue delivers the message again; after 3 tries it goes to the dead-letter queue (alarmed).

The archive's layout and fields are documented in docs/export-format.md. Sections other areas
own are added through `services/export_sections.py`.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from chalicelib import wiring
from chalicelib.adapters.media import final_key
from chalicelib.clock import iso, sortable
from chalicelib.identity import Caller
from chalicelib.observability import logger, metrics
from chalicelib.services import export_sections
from chalicelib.services.export_sections import ExportContext
from chalicelib.store import exports as store
from chalicelib.store.models import ExportModel

SCHEMA_VERSION = 1
LEASE = timedelta(minutes=15)  # the function's timeout
EXTENSIONS = {"audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/ogg": ".ogg",
              "audio/webm": ".weba", "audio/wav": ".wav", "video/mp4": ".mp4", "video/webm": ".webm",
              "video/quicktime": ".mov"}


def handle(event) -> dict:
    """The SQS handler: each record names one export."""
    from chalicelib import bootstrap

    bootstrap.start()
    outcomes = []
    for record in event:
        body = json.loads(record.body)
        outcomes.append(build(body["client_id"], body["export_id"], wiring.clock()()))
    return {"exports": outcomes}


def _lease(export: ExportModel, now: datetime) -> bool:
    from pynamodb.exceptions import UpdateError

    from chalicelib.store.errors import condition_failed

    free = ExportModel.building_until.does_not_exist() | (ExportModel.building_until < sortable(now))
    try:
        export.update(actions=[ExportModel.building_until.set(sortable(now + LEASE))],
                      condition=(ExportModel.status == "preparing") & free)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _unlease(export: ExportModel) -> None:
    try:
        export.update(actions=[ExportModel.building_until.remove()],
                      condition=ExportModel.building_until == export.building_until)
    except Exception:  # the lease then simply runs out
        logger.warning("could not release an export's lease", extra={"export_id": export.id})


def build(client_id: str, export_id: str, now: datetime) -> str:
    from chalicelib.adapters.export_zip import ExportZip
    from chalicelib.services import exports
    from chalicelib.store import rooms as room_store
    from chalicelib.store import users as user_store

    export = store.get(client_id, export_id)
    if export is None or export.status != "preparing":
        return "skipped"  # a late duplicate of a message already done
    if not _lease(export, now):
        return "busy"  # another delivery is building it; if that one dies, its own message comes back
    client = user_store.get(client_id)
    s = wiring.settings()
    key = exports.object_key(client_id, export_id)
    started = datetime.now().timestamp()
    try:
        with ExportZip(wiring.get("media").client, s.bucket, key, s.kms_key_id, created_at=now) as archive:
            ctx = ExportContext(archive=archive, client_id=client_id, client=client,
                                rooms=room_store.for_client(client_id), now=now, export_id=export_id)
            names = []
            for name, write in [*BUILT_IN, *export_sections.registered()]:
                write(ctx)
                names.append(name)
            archive.write_json("manifest.json", _manifest(ctx, export, names))
    except BaseException:
        _unlease(export)  # the queue's next delivery may build it at once
        logger.exception("export failed", extra={"export_id": export_id})
        raise
    exports.mark_ready(export, key, int(archive.size or 0), client is not None, now)
    metrics.add_metric(name="ExportBuilt", unit="Count", value=1)
    logger.info("export built", extra={"export_id": export_id, "bytes": archive.size, "parts": archive.parts,
                                       "files": len(ctx.files),
                                       "seconds": round(datetime.now().timestamp() - started, 2)})
    return "ready"


def _manifest(ctx: ExportContext, export: ExportModel, sections: list[str]) -> dict:
    return {
        "format": "haven-data-export", "schema_version": SCHEMA_VERSION, "export_id": export.id,
        "client_id": ctx.client_id, "requested_at": export.created_at, "generated_at": iso(ctx.now),
        "sections": sections, "files": ctx.files,
        "notes": ["Times are UTC (ISO 8601 with Z); dates of goals, homework and moods are the client's local dates.",
                  "Session ratings are shown only as `rated` on bookings: scores are kept apart from any "
                  "client or session, by design.",
                  "The layout and every field are described in Haven's docs/export-format.md."],
    }


# --- built-in sections -------------------------------------------------------------------------------

def _profile(ctx: ExportContext) -> None:
    from chalicelib.services import clients, moods

    user = ctx.client
    if user is None:
        ctx.json("profile.json", None, "Your profile (none registered)")
        return
    profile = clients.me(Caller(user.id, user.email, "client"), ctx.now, user=user)
    profile.update(created_at=user.created_at, updated_at=user.updated_at, settings=moods.settings_of(user))
    ctx.json("profile.json", profile, "Your profile as GET /clients/me shows it, with your settings")
    ctx.json("plan.json", {"plan": profile.get("plan"), "credits": profile.get("credits")},
             "Your plan and the credits left when the export was made")


def _ledger(ctx: ExportContext) -> None:
    from chalicelib.store import ledger
    from chalicelib.store.models import LedgerModel

    usage, charges = [], []
    for item in LedgerModel.query(ctx.client_id):
        if item.key.startswith(ledger.USAGE):
            usage.append({"bucket": item.key[len(ledger.USAGE):], "used": int(item.used or 0)})
        elif item.key.startswith(ledger.CHARGE):
            charges.append({"id": item.key[len(ledger.CHARGE):], "amount_cents": int(item.amount_cents or 0),
                            "reason": item.reason, "booking_id": item.ref_id, "created_at": item.created_at})
    ctx.json("ledger.json", {"usage": usage, "charges": charges},
             "Credits used per billing period and every charge on your billing ledger")


def _bookings(ctx: ExportContext) -> None:
    from chalicelib.services.bookings.queries import render
    from chalicelib.store import bookings as booking_store
    from chalicelib.store.models import BookingModel

    def rows():
        for model in BookingModel.by_client.query(ctx.client_id, page_size=200):
            row = render(booking_store.to_domain(model), ctx.now)
            # A rating is only ever "rated" (its score is kept apart from any session, by design).
            row["rated"] = bool(getattr(model, "rated", None) or getattr(model, "rated_at", None))
            yield row

    ctx.items("bookings.json", rows(), "Your live sessions, by start time, as GET /bookings/{id} shows them")


def _rooms(ctx: ExportContext) -> None:
    from chalicelib.store.models import MessageModel

    ctx.json("rooms.json", [{"id": r.id, "provider_id": r.provider_id, "provider_kind": r.provider_kind,
                             "created_at": r.created_at} for r in ctx.rooms],
             "Your rooms (one per provider kind)")
    s3 = wiring.get("media").client
    bucket = wiring.settings().bucket
    for room in ctx.rooms:
        media: list[tuple[str, str, str | None]] = []
        ctx.items(f"rooms/{room.id}/messages.json", _messages(room, MessageModel.query(room.id, page_size=100), media),
                  "Every message of this room, oldest first, decrypted")
        for name, key, content_type in media:
            try:
                response = s3.get_object(Bucket=bucket, Key=key)
            except s3.exceptions.NoSuchKey:
                ctx.files.append({"name": name, "description": "Missing: this file was no longer stored",
                                  "bytes": 0})
                continue
            body = response["Body"]
            try:
                ctx.stream(name, body, response.get("ContentLength"), "A voice or video message of this room",
                           content_type or response.get("ContentType"))
            finally:
                body.close()


def _messages(room, query, media: list):
    chunk: list = []
    for message in query:
        chunk.append(message)
        if len(chunk) >= 100:
            yield from _render_messages(room, chunk, media)
            chunk = []
    if chunk:
        yield from _render_messages(room, chunk, media)


def _render_messages(room, messages: list, media: list):
    from chalicelib.services.rooms import talkcast_words
    from chalicelib.store.models import MediaModel

    cipher = wiring.get("cipher")
    ids = [m.media_id for m in messages if m.media_id]
    known = {item.id: item for item in MediaModel.batch_get(ids)} if ids else {}
    for m in messages:
        item = {"id": m.id, "kind": m.kind, "sender_id": m.sender_id, "sender_role": m.sender_role,
                "created_at": m.created_at}
        if m.kind in ("text", "system") and m.body is not None:
            item["text"] = cipher.decrypt(room.id, m.body, room.key_blob)
        if m.media_id:
            record = known.get(m.media_id)
            content_type = record.content_type if record is not None else None
            if content_type is None and m.talkcast:  # Haven wrote it itself: no upload record
                content_type = "audio/mpeg"
            name = f"rooms/{room.id}/media/{m.media_id}{EXTENSIONS.get(content_type or '', '')}"
            item.update(media_id=m.media_id, media_file=name, content_type=content_type)
            media.append((name, final_key(room.id, m.media_id), content_type))
        if m.talkcast:
            words = talkcast_words(room.id, m, room.key_blob)
            item.update(talkcast=True, title=words.get("title"), script=words.get("script"), voice=words.get("voice"))
        yield item


def _journal(ctx: ExportContext) -> None:
    from chalicelib.services.journal import render, unseal
    from chalicelib.store import between

    ctx.items("journal.json", (render(e, unseal(ctx.client_id, e)) for e in between.all_journal(ctx.client_id)),
              "Your journal entries, oldest first, decrypted; `shared` ones your provider could read")


def _moods(ctx: ExportContext) -> None:
    from chalicelib.domain.between_sessions import weekly
    from chalicelib.services.moods import note, render
    from chalicelib.store import between

    tz = (ctx.client.timezone if ctx.client else None) or "UTC"
    moods = list(between.all_moods(ctx.client_id))
    ctx.json("moods.json", {
        "timezone": tz,
        "items": [render(m, note(ctx.client_id, m), tz) for m in moods],
        "weekly": weekly(moods, tz),
    }, "Your mood check-ins, oldest first, notes decrypted, with weekly means by local Monday")


def _room_work(ctx: ExportContext) -> None:
    from chalicelib.services import goals, homework
    from chalicelib.store import room_work

    def rows(kind, show):
        for room in ctx.rooms:
            for item in room_work.all_for_room(room.id, kind):
                yield show(room, item)

    ctx.items("goals.json", rows("goal", goals.render), "Goals set in your rooms, in the order they were set")
    ctx.items("homework.json", rows("homework", homework.render), "Homework from your providers")


def _access_log(ctx: ExportContext) -> None:
    from chalicelib.store import users as user_store
    from chalicelib.store.models import AccessLogModel

    names: dict[str, str | None] = {}

    def rows():
        for record in AccessLogModel.query(ctx.client_id, scan_index_forward=False, page_size=200):
            if record.reader_id not in names:
                reader = user_store.get(record.reader_id)
                names[record.reader_id] = reader.name if reader is not None else None
            yield {"at": record.at_id.split("#", 1)[0], "reader_id": record.reader_id,
                   "reader_role": record.reader_role, "reader_name": names[record.reader_id],
                   "what": record.resource, "room_id": record.room_id}

    ctx.items("access_log.json", rows(), "Every read of your clinical data by a provider, newest first")


BUILT_IN = [("profile", _profile), ("ledger", _ledger), ("bookings", _bookings), ("rooms", _rooms),
            ("journal", _journal), ("moods", _moods), ("goals_and_homework", _room_work),
            ("access_log", _access_log)]
