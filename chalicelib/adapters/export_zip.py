"""Data exports as a ZIP streamed straight into an S3 multipart upload (SPEC §2 "Data rights").

An export can hold every video of a client's rooms, so it is never held whole in memory or
in /tmp: the stdlib `zipfile.ZipFile` writes into `MultipartSink`, a write-only, non-seekable
file object that fills one part at a time (8 MiB by default; S3 wants ≥ 5 MiB for every part
but the last) and sends each full part with `upload_part`. Memory stays at about one part
plus one copy chunk (1 MiB) whatever the archive's size.

Because the sink cannot seek back, `zipfile` writes each member's CRC and sizes in a data
descriptor after its data, and members copied from a stream are written with
`force_zip64=True` (their size is not known up front and may pass 4 GiB). Checked to open
and test clean with Python's zipfile and Info-ZIP `unzip -t` 6.0; other readers not tried.

    with ExportZip(s3, bucket, key, kms_key_id) as z:
        z.write_json("profile.json", profile)
        z.write_json_items("messages.json", iter_messages())     # a JSON array, item by item
        z.write_stream("media/m1.mp4", s3.get_object(...)["Body"], size=...)
        z.write_s3_object("media/m2.m4a", bucket, "media/room/m2")

Leaving the block normally writes the central directory, sends the last part and completes
the upload; an exception (or any failure of S3) aborts the multipart upload, so no partial
export is ever visible, and is raised again. The object is stored with SSE-KMS under the
given key. Member timestamps are the export's time in UTC (ZIP times carry no zone).
"""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, BinaryIO, Iterable

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's floor for every part but the last
DEFAULT_PART_SIZE = 8 * MIB
DEFAULT_CHUNK_SIZE = 1 * MIB
# Every part carries a CRC32 that S3 checks, as boto3's own transfer manager does for uploads.
CHECKSUM_ALGORITHM = "CRC32"
MAX_PARTS = 10_000  # S3's ceiling: 8 MiB parts allow archives up to ~78 GiB


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default).encode("utf-8")


class MultipartSink(io.RawIOBase):
    """A write-only, non-seekable file whose bytes become the parts of one S3 multipart upload.

    `tell()` answers the bytes written so far (zipfile records member offsets with it);
    `seek()` is unsupported, which makes zipfile stream. `flush()` sends nothing: only a full
    part is sent before `finish()`, so every part but the last has exactly `part_size` bytes.
    """

    def __init__(self, client, bucket: str, key: str, upload_id: str, part_size: int = DEFAULT_PART_SIZE):
        super().__init__()
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts must be at least {MIN_PART_SIZE} bytes")
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._part_size = part_size
        self._buffer = bytearray()
        self._position = 0
        self._discarded = False
        self.parts: list[dict] = []

    # io.RawIOBase ------------------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, *args, **kwargs):
        raise io.UnsupportedOperation("an S3 multipart sink cannot seek")

    def write(self, data) -> int:
        if self._discarded:
            # zipfile writes its end record again when the abandoned ZipFile is collected.
            return len(data)
        if self.closed:
            raise ValueError("write to a closed export sink")
        view = memoryview(data).cast("B")
        written = len(view)
        while view:
            room = self._part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= self._part_size:
                self._send()
        self._position += written
        return written

    # ---------------------------------------------------------------------------------------
    def _send(self) -> None:
        # Hand the filled buffer itself to botocore and start a new one: no copy of the part.
        body, self._buffer = self._buffer, bytearray()
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise ValueError(f"an export may have at most {MAX_PARTS} parts")
        response = self._client.upload_part(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                            PartNumber=number, Body=body, ChecksumAlgorithm=CHECKSUM_ALGORITHM)
        part = {"PartNumber": number, "ETag": response["ETag"]}
        if response.get(f"Checksum{CHECKSUM_ALGORITHM}"):
            # Required by CompleteMultipartUpload for an upload created with a checksum algorithm.
            part[f"Checksum{CHECKSUM_ALGORITHM}"] = response[f"Checksum{CHECKSUM_ALGORITHM}"]
        self.parts.append(part)

    def finish(self) -> list[dict]:
        """Send what is left as the last part (an archive always has at least its end record)."""
        if self._buffer or not self.parts:
            self._send()
        self.close()
        return self.parts

    def discard(self) -> None:
        """Drop what is buffered and everything written from now on (the upload is being aborted)."""
        self._discarded = True
        self._buffer = bytearray()  # left open: zipfile may still tell() and flush() on it


class ExportZip:
    """A ZIP archive written member by member into `s3://bucket/key` under SSE-KMS.

    Use it as a context manager (see the module docstring). `size` is the archive's length in
    bytes once the block has completed; `parts` the number of parts sent.
    """

    def __init__(self, client, bucket: str, key: str, kms_key_id: str, *, part_size: int = DEFAULT_PART_SIZE,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, content_type: str = "application/zip",
                 created_at: datetime | None = None):
        self._client = client
        self.bucket = bucket
        self.key = key
        self._kms_key_id = kms_key_id
        self._part_size = part_size
        self._chunk_size = chunk_size
        self._content_type = content_type
        stamp = (created_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        # ZIP times cannot go before 1980; exports are always later, but keep zipfile from failing.
        self._date_time = max(stamp.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
        self._upload_id: str | None = None
        self._sink: MultipartSink | None = None
        self._zip: zipfile.ZipFile | None = None
        self._names: set[str] = set()
        self.size: int | None = None
        self.parts: int | None = None

    @property
    def upload_id(self) -> str | None:
        """The multipart upload being written (None outside the block or once aborted)."""
        return self._upload_id

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> "ExportZip":
        response = self._client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, ContentType=self._content_type,
            ServerSideEncryption="aws:kms", SSEKMSKeyId=self._kms_key_id, ChecksumAlgorithm=CHECKSUM_ALGORITHM)
        self._upload_id = response["UploadId"]
        try:
            self._sink = MultipartSink(self._client, self.bucket, self.key, self._upload_id, self._part_size)
            self._zip = zipfile.ZipFile(self._sink, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        except BaseException:
            self._abort()
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        if exc_type is not None:
            self._abort()
            return False
        try:
            self._zip.close()  # writes the central directory (and the ZIP64 end records if needed)
            size = self._sink.tell()
            parts = self._sink.finish()
            self._client.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                                   MultipartUpload={"Parts": parts})
        except BaseException:
            self._abort()
            raise
        self.size, self.parts = size, len(parts)
        return False

    def _abort(self) -> None:
        if self._sink is not None:
            self._sink.discard()
        if self._upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
        except Exception:  # the original error matters more; a lifecycle rule reaps what is left
            from chalicelib.observability import logger

            logger.warning("could not abort the export's multipart upload", extra={"export_key": self.key},
                           exc_info=True)
        self._upload_id = None

    # members ---------------------------------------------------------------------------------
    def _info(self, name: str, compress: bool) -> zipfile.ZipInfo:
        if self._zip is None or self._upload_id is None:
            raise RuntimeError("write members inside `with ExportZip(...) as z:`")
        if not name or name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise ValueError(f"not a safe member name: {name!r}")
        if name in self._names:
            raise ValueError(f"member {name!r} is already in the archive")
        self._names.add(name)
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16  # a regular file, readable once unpacked
        return info

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        """A member from bytes already in memory (small files)."""
        self._zip.writestr(self._info(name, compress), data)

    def write_json(self, name: str, value: Any) -> None:
        """A member holding `value` as pretty-printed UTF-8 JSON (datetimes as UTC ISO with `Z`)."""
        self.write_bytes(name, _dumps(value))

    def write_json_items(self, name: str, items: Iterable[Any]) -> int:
        """A member holding a JSON array written one item at a time (for long lists such as
        messages, which should not be built whole in memory). Answers the number of items."""
        count = 0
        with self._zip.open(self._info(name, True), mode="w", force_zip64=True) as member:
            member.write(b"[")
            for item in items:
                member.write((b",\n" if count else b"\n") + _dumps(item))
                count += 1
            member.write(b"\n]\n" if count else b"]\n")
        return count

    def write_stream(self, name: str, stream: BinaryIO, size: int | None = None, *, compress: bool = False) -> int:
        """A member copied from a readable stream (e.g. `get_object(...)["Body"]`) in chunks.

        Media is stored, not deflated, by default (it is compressed already). When `size` is
        given, a stream that ends early or runs long raises ValueError (and the export aborts).
        Answers the number of bytes copied.
        """
        info = self._info(name, compress)
        if size is not None:
            info.file_size = size
        copied = 0
        with self._zip.open(info, mode="w", force_zip64=True) as member:
            while True:
                chunk = stream.read(self._chunk_size)
                if not chunk:
                    break
                member.write(chunk)
                copied += len(chunk)
                del chunk  # drop the reference before the next read: one chunk alive at a time
        if size is not None and copied != size:
            raise ValueError(f"{name}: expected {size} bytes from the stream, got {copied}")
        return copied

    def write_s3_object(self, name: str, bucket: str, key: str, *, compress: bool = False) -> int:
        """A member copied from an S3 object, streamed (never downloaded whole)."""
        response = self._client.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            return self.write_stream(name, body, size=response.get("ContentLength"), compress=compress)
        finally:
            body.close()
