"""The export archive streams into an S3 multipart upload: bounded memory, a valid ZIP64, SSE-KMS,
and nothing left behind when building it fails (SPEC §2 "Data rights").

Small cases run against the test session's emulator (`stack`: the provisioned bucket and KMS
key). The memory case cannot: that emulator is a thread of this process, and `tracemalloc`
traces every Python allocation of the process, moto's copies of 400 MiB of uploaded parts
included. So it starts its own moto server in a child process and measures only the exporter.

Measured on 2 cores (moto 5.2.5, boto3 1.44.5): peak traced memory 9.2 MiB while streaming a
200 MiB object into a 200 MiB archive (8 MiB parts, 1 MiB copy chunks: one part buffered, one
chunk in flight). The case takes 10–14 s (the export itself 4–7 s), most of it moto storing
and serving 600 MiB of parts and downloads.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
import zipfile
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.export_zip import DEFAULT_PART_SIZE, MIB, ExportZip
from infra import provision

MEDIA_MIB = 200
PEAK_LIMIT = 64 * MIB
CREATED = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


# --- helpers --------------------------------------------------------------------------------

class RecordingS3:
    """The real boto3 client, with the sizes of the parts it was asked to upload written down."""

    def __init__(self, client):
        self._client = client
        self.part_sizes: list[int] = []
        self.calls: list[str] = []

    def upload_part(self, **kwargs):
        self.part_sizes.append(len(kwargs["Body"]))
        self.calls.append("upload_part")
        return self._client.upload_part(**kwargs)

    def __getattr__(self, name):
        method = getattr(self._client, name)
        if callable(method):
            def recorded(*args, **kwargs):
                self.calls.append(name)
                return method(*args, **kwargs)
            return recorded
        return method


def download(s3, bucket: str, key: str, into) -> None:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(MIB), b""):
        into.write(chunk)
    into.seek(0)


def read_member(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    """Bytes and SHA-256 of a member read to its end (zipfile checks its CRC-32 at the end)."""
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as member:
        for chunk in iter(lambda: member.read(MIB), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def open_uploads(s3, bucket: str, key: str) -> list[dict]:
    return [u for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) if u["Key"] == key]


def object_exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        assert error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound")
        return False
    return True


@pytest.fixture
def s3(stack):
    return boto3.client("s3", region_name=stack["region"], endpoint_url=stack["aws_endpoint_url"])


# --- against the session's emulator -----------------------------------------------------------

def test_the_archive_holds_json_and_media_and_is_encrypted_with_the_kms_key(stack, s3):
    bucket = stack["bucket"]
    s3.put_object(Bucket=bucket, Key="media/room-1/m1", Body=b"voice" * 1000, ContentType="audio/mp4")
    recording = RecordingS3(s3)

    with ExportZip(recording, bucket, "exports/c1/e1.zip", stack["kms_key_id"], created_at=CREATED) as z:
        z.write_json("profile.json", {"name": "Zoë", "at": CREATED})
        z.write_json_items("messages.json", ({"id": str(i), "text": "héllo"} for i in range(3)))
        z.write_json_items("goals.json", iter(()))
        z.write_s3_object("media/room-1/m1.m4a", bucket, "media/room-1/m1")

    head = s3.head_object(Bucket=bucket, Key="exports/c1/e1.zip")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(stack["kms_key_id"].rsplit("/", 1)[-1])
    assert head["ContentType"] == "application/zip"
    assert head["ContentLength"] == z.size
    with tempfile.TemporaryFile() as local:
        download(s3, bucket, "exports/c1/e1.zip", local)
        with zipfile.ZipFile(local) as archive:
            assert archive.testzip() is None
            assert archive.namelist() == ["profile.json", "messages.json", "goals.json", "media/room-1/m1.m4a"]
            assert json.loads(archive.read("profile.json")) == {"name": "Zoë", "at": "2026-11-23T09:30:00Z"}
            assert [m["id"] for m in json.loads(archive.read("messages.json"))] == ["0", "1", "2"]
            assert json.loads(archive.read("goals.json")) == []
            assert archive.read("media/room-1/m1.m4a") == b"voice" * 1000
            media = archive.getinfo("media/room-1/m1.m4a")
            assert media.compress_type == zipfile.ZIP_STORED  # media is compressed already
            assert media.date_time == (2026, 11, 23, 9, 30, 0)
    assert recording.calls[0] == "create_multipart_upload" and recording.calls[-1] == "complete_multipart_upload"
    assert open_uploads(s3, bucket, "exports/c1/e1.zip") == []


def test_every_part_but_the_last_is_a_full_part(stack, s3):
    bucket = stack["bucket"]
    recording = RecordingS3(s3)
    payload = os.urandom(12 * MIB)  # random: stored and deflated alike stay ~12 MiB

    with ExportZip(recording, bucket, "exports/c1/parts.zip", stack["kms_key_id"], part_size=5 * MIB) as z:
        z.write_stream("media/big.bin", io.BytesIO(payload), size=len(payload))

    assert recording.part_sizes[:-1] == [5 * MIB, 5 * MIB]
    assert 0 < recording.part_sizes[-1] <= 5 * MIB
    assert sum(recording.part_sizes) == z.size
    assert z.parts == 3


def test_an_error_while_building_aborts_the_upload_and_leaves_no_object(stack, s3):
    bucket = stack["bucket"]
    with pytest.raises(RuntimeError, match="decrypt failed"):
        with ExportZip(s3, bucket, "exports/c1/broken.zip", stack["kms_key_id"], part_size=5 * MIB) as z:
            z.write_stream("media/a.bin", io.BytesIO(os.urandom(6 * MIB)))  # one part already sent
            raise RuntimeError("decrypt failed")

    assert not object_exists(s3, bucket, "exports/c1/broken.zip")
    assert open_uploads(s3, bucket, "exports/c1/broken.zip") == []


def test_a_stream_shorter_than_announced_aborts_the_export(stack, s3):
    bucket = stack["bucket"]
    with pytest.raises(ValueError, match="expected 100 bytes"):
        with ExportZip(s3, bucket, "exports/c1/short.zip", stack["kms_key_id"]) as z:
            z.write_stream("media/a.bin", io.BytesIO(b"x" * 60), size=100)

    assert not object_exists(s3, bucket, "exports/c1/short.zip")
    assert open_uploads(s3, bucket, "exports/c1/short.zip") == []


def test_s3_refusing_a_part_aborts_the_export_and_raises_the_s3_error(stack, s3):
    bucket = stack["bucket"]
    with pytest.raises(ClientError):
        with ExportZip(s3, bucket, "exports/c1/gone.zip", stack["kms_key_id"], part_size=5 * MIB) as z:
            z.write_json("profile.json", {})
            # The upload disappears under the exporter (as after a lifecycle abort): the next part fails.
            s3.abort_multipart_upload(Bucket=bucket, Key="exports/c1/gone.zip", UploadId=z.upload_id)
            z.write_stream("media/a.bin", io.BytesIO(os.urandom(6 * MIB)))

    # S3 answers NoSuchUpload; moto 5.2.5 answers 500 (a KeyError inside it). Either way it is raised.
    assert not object_exists(s3, bucket, "exports/c1/gone.zip")


@pytest.mark.parametrize("name", ["/etc/passwd", "../up.json", "a/../../b", "a\\b.json", ""])
def test_member_names_cannot_escape_the_archive(stack, s3, name):
    with pytest.raises(ValueError, match="not a safe member name"):
        with ExportZip(s3, stack["bucket"], "exports/c1/names.zip", stack["kms_key_id"]) as z:
            z.write_json(name, {})
    assert open_uploads(s3, stack["bucket"], "exports/c1/names.zip") == []


def test_a_member_name_is_written_once(stack, s3):
    with pytest.raises(ValueError, match="already in the archive"):
        with ExportZip(s3, stack["bucket"], "exports/c1/twice.zip", stack["kms_key_id"]) as z:
            z.write_json("profile.json", {})
            z.write_json("profile.json", {})
    assert open_uploads(s3, stack["bucket"], "exports/c1/twice.zip") == []


# --- 200 MiB in bounded memory (own emulator process) -------------------------------------

@pytest.fixture(scope="module")
def emulator_process():
    """A moto server in a child process, so this process's traced memory is the exporter's alone."""
    port = provision.free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def put_large_object(s3, bucket: str, key: str, mib: int) -> str:
    """A `mib` MiB object uploaded in 8 MiB parts of a repeated random MiB, each MiB stamped with
    its number (so misordered or repeated chunks change the digest). Returns its SHA-256."""
    block, digest = os.urandom(MIB), hashlib.sha256()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts, per_part = [], DEFAULT_PART_SIZE // MIB
    for number, first in enumerate(range(0, mib, per_part), start=1):
        body = b"".join(index.to_bytes(8, "big") + block[8:] for index in range(first, min(first + per_part, mib)))
        digest.update(body)
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    return digest.hexdigest()


def test_a_200_mib_media_file_streams_into_the_archive_in_bounded_memory(emulator_process, stack):
    options = dict(region_name=stack["region"], endpoint_url=emulator_process)
    s3, kms = boto3.client("s3", **options), boto3.client("kms", **options)
    key_arn = kms.create_key(Description="exports")["KeyMetadata"]["Arn"]
    bucket = "haven-export-memory-test"
    s3.create_bucket(Bucket=bucket)
    media_sha256 = put_large_object(s3, bucket, "media/room-1/video", MEDIA_MIB)
    ledger = [{"id": f"l{i}", "amount_cents": 9000, "at": CREATED} for i in range(2000)]

    tracemalloc.start()
    try:
        started = time.monotonic()
        with ExportZip(s3, bucket, "exports/c1/e1.zip", key_arn, created_at=CREATED) as z:
            z.write_json("profile.json", {"id": "c1", "name": "Ana"})
            z.write_json("ledger.json", ledger)
            source = s3.get_object(Bucket=bucket, Key="media/room-1/video")
            z.write_stream("media/room-1/video.mp4", source["Body"])  # size unknown: ZIP64 all the same
            z.write_json("bookings.json", [])
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nexport of {z.size / MIB:.1f} MiB in {z.parts} parts: peak traced memory "
          f"{peak / MIB:.1f} MiB, {elapsed:.1f} s")
    assert peak < PEAK_LIMIT

    head = s3.head_object(Bucket=bucket, Key="exports/c1/e1.zip")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ContentLength"] == z.size > MEDIA_MIB * MIB
    with tempfile.TemporaryFile() as local:
        download(s3, bucket, "exports/c1/e1.zip", local)
        with zipfile.ZipFile(local) as archive:
            assert archive.namelist() == ["profile.json", "ledger.json", "media/room-1/video.mp4", "bookings.json"]
            media = archive.getinfo("media/room-1/video.mp4")
            assert media.file_size == media.compress_size == MEDIA_MIB * MIB
            assert media.extract_version >= zipfile.ZIP64_VERSION  # its local header carries ZIP64 sizes
            assert media.flag_bits & 0x08  # sizes and CRC follow the data (the sink cannot seek back)
            assert read_member(archive, "media/room-1/video.mp4") == (MEDIA_MIB * MIB, media_sha256)
            assert len(json.loads(archive.read("ledger.json"))) == 2000
            assert json.loads(archive.read("profile.json")) == {"id": "c1", "name": "Ana"}
            assert json.loads(archive.read("bookings.json")) == []
