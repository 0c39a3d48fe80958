"""The export benchmark's child process (see tests/bench/export.py).

moto runs in a process of its own, so `tracemalloc` here traces the exporter alone (the
emulator keeps every uploaded byte in memory). Generated data goes straight into the tables
and the bucket (through the app's own store and cipher, not the API): a client and provider,
one room, N text messages (encrypted as the API would), media files making up M MiB (each
uploaded in 8 MiB parts, attached to an audio or video message), a few journal entries and
moods. Then one export is built exactly as the `exports` function builds it, and the result is
printed as one JSON line: seconds, peak traced MiB, archive MiB, parts, inputs.

    python -m tests.bench._export_child --messages 10000 --media-mib 1024
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def start_moto() -> tuple[subprocess.Popen, str]:
    from infra.provision import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the moto server did not start")
            time.sleep(0.1)


def generate(messages: int, media_mib: int, media_files: int) -> tuple[str, dict]:
    from chalicelib import wiring
    from chalicelib.adapters.export_zip import DEFAULT_PART_SIZE
    from chalicelib.adapters.media import final_key
    from chalicelib.clock import iso
    from chalicelib.store import rooms as room_store
    from chalicelib.store.models import MediaModel, MessageModel, UserModel

    s = wiring.settings()
    cipher = wiring.get("cipher")
    client_id, provider_id = "bench-client", "bench-provider"
    UserModel(client_id, role="client", email="bench-client@example.com", name="Bench Client",
              timezone="America/New_York", created_at=iso(NOW), status="active", region="US-NY",
              languages=["en"], date_of_birth="1990-04-21").save()
    UserModel(provider_id, role="provider", email="bench-dr@example.com", name="Dr. Bench", timezone="UTC",
              created_at=iso(NOW), kind="therapist").save()
    from chalicelib.store.unit_of_work import UnitOfWork

    uow = UnitOfWork()  # the room as matching opens one (services/matching.py)
    room_id = room_store.room_id_for(client_id, "therapist")
    room_store.stage_new_room(uow, client_id, provider_id, "therapist", iso(NOW),
                              {"provider_id": provider_id, "at": iso(NOW), "by": "ops", "reason": "bench"},
                              plan_kind="subscription",
                              key_blob=cipher.new_room_key(room_id))
    uow.commit()
    room = room_store.get(room_id, consistent=True)
    s3 = wiring.get("media").client
    block = os.urandom(MIB)
    per_file = max(1, media_mib // max(1, media_files)) if media_mib else 0
    media_every = max(1, messages // max(1, media_files)) if media_files else 0
    media_ids, media_bytes = [], 0
    started = time.monotonic()
    with MessageModel.batch_write() as batch:
        for seq in range(1, messages + 1):
            at = iso(NOW - timedelta(seconds=(messages - seq) * 60))
            sender = (client_id, "client") if seq % 2 else (provider_id, "provider")
            if media_every and seq % media_every == 0 and len(media_ids) < media_files:
                media_id = f"med_bench{len(media_ids):06d}"
                key = final_key(room.id, media_id)
                upload = s3.create_multipart_upload(Bucket=s.bucket, Key=key, ContentType="video/mp4",
                                                    ServerSideEncryption="aws:kms", SSEKMSKeyId=s.kms_key_id)
                parts, per_part = [], DEFAULT_PART_SIZE // MIB
                for number, first in enumerate(range(0, per_file, per_part), start=1):
                    body = b"".join(i.to_bytes(8, "big") + block[8:] for i in range(first, min(first + per_part, per_file)))
                    etag = s3.upload_part(Bucket=s.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                                          Body=body)["ETag"]
                    parts.append({"PartNumber": number, "ETag": etag})
                s3.complete_multipart_upload(Bucket=s.bucket, Key=key, UploadId=upload["UploadId"],
                                             MultipartUpload={"Parts": parts})
                MediaModel(media_id, room_id=room.id, uploader_id=sender[0], kind="video", content_type="video/mp4",
                           size_bytes=per_file * MIB, key=key, created_at=at, used_by=f"msg_{seq}").save()
                media_ids.append(media_id)
                media_bytes += per_file * MIB
                batch.save(MessageModel(room.id, seq, id=room_store.message_id(seq), kind="video", sender_id=sender[0],
                                        sender_role=sender[1], created_at=at, media_id=media_id))
            else:
                text = f"message {seq}: " + "how the week went, in a few honest sentences. " * 4
                batch.save(MessageModel(room.id, seq, id=room_store.message_id(seq), kind="text", sender_id=sender[0],
                                        sender_role=sender[1], created_at=at,
                                        body=cipher.encrypt(room.id, text, room.key_blob)))
    room_store.RoomModel(room.id).update(actions=[room_store.RoomModel.seq.set(messages)])
    return client_id, {"messages": messages, "media_files": len(media_ids), "media_mib": media_bytes / MIB,
                       "generate_seconds": round(time.monotonic() - started, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--media-mib", type=int, default=1024)
    parser.add_argument("--media-files", type=int, default=8)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from infra import provision

    moto, url = start_moto()
    try:
        stack = provision.provision(url, stage="bench")
        provision.apply_env(provision.env_for(stack))
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        from chalicelib import bootstrap, wiring
        from chalicelib.clock import FixedClock
        from chalicelib.identity import Caller
        from chalicelib.services import export_builder, exports

        bootstrap.start()
        wiring.override("clock", FixedClock(NOW))
        client_id, inputs = generate(args.messages, args.media_mib, args.media_files)
        export_id = exports.request(Caller(client_id, "bench-client@example.com", "client"), NOW)["id"]
        wiring.reset()  # a cold container, as Lambda would start the function
        wiring.override("clock", FixedClock(NOW))
        tracemalloc.start()
        started = time.monotonic()
        outcome = export_builder.build(client_id, export_id, NOW)
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        from chalicelib.store import exports as export_store

        export = export_store.get(client_id, export_id)
        print(json.dumps({"outcome": outcome, "seconds": round(seconds, 1), "peak_mib": round(peak / MIB, 1),
                          "archive_mib": round(int(export.size_bytes or 0) / MIB, 1), **inputs}))
        return 0 if outcome == "ready" else 1
    finally:
        moto.terminate()
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            moto.kill()


if __name__ == "__main__":
    sys.exit(main())
