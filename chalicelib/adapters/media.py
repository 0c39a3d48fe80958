"""S3 voice and video: presigned POST uploads pinned by policy, HEAD checks, presigned playback.

S3 (and especially the emulator) may not enforce a presigned POST's conditions, so the
service checks the stored object itself before a message may carry it.
"""
from __future__ import annotations


def pending_key(room_id: str, media_id: str) -> str:
    """Where an upload waits until a message accepts it (expired by a lifecycle rule)."""
    return f"pending/{room_id}/{media_id}"


def final_key(room_id: str, media_id: str) -> str:
    return f"rooms/{room_id}/{media_id}"


class MediaStore:
    def __init__(self, client, bucket: str, kms_key_id: str):
        self.client = client
        self.bucket = bucket
        self.kms_key_id = kms_key_id

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires: int) -> dict:
        fields = {
            "Content-Type": content_type,
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": self.kms_key_id,
        }
        conditions = [
            {"Content-Type": content_type},
            ["content-length-range", 1, max_bytes],
            {"x-amz-server-side-encryption": "aws:kms"},
            {"x-amz-server-side-encryption-aws-kms-key-id": self.kms_key_id},
        ]
        form = self.client.generate_presigned_post(self.bucket, key, Fields=fields, Conditions=conditions,
                                                   ExpiresIn=expires)
        return {"url": form["url"], "fields": form["fields"]}

    def head(self, key: str) -> dict | None:
        """{"size", "content_type"} of a stored object, or None when it is not there."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {"size": int(response["ContentLength"]), "content_type": response.get("ContentType", "")}

    def promote(self, source: str, target: str) -> None:
        """Move an accepted upload out of `pending/` (where abandoned uploads expire by lifecycle)."""
        self.copy(source, target)
        self.delete(source)

    def copy(self, source: str, target: str) -> None:
        """Copy an accepted upload out of `pending/` (the same copy again is harmless)."""
        self.client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source},
                                ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_id,
                                MetadataDirective="COPY")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store bytes Haven made itself (talkcasts) under SSE-KMS with our key."""
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                               ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_id)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def playback_url(self, key: str, expires: int) -> str:
        return self.client.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                  ExpiresIn=expires)
