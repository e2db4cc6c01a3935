"""S3-compatible object storage (AWS S3, MinIO, Ceph RGW, ...) through boto3 (optional extra ``[s3]``).

Objects are kept under ``SEATFLOW_S3_PREFIX`` in ``SEATFLOW_S3_BUCKET``; the browser gets presigned
GET URLs valid for ``SEATFLOW_MEDIA_URL_SECONDS``. Credentials come from boto3's usual chain
(environment, shared config, instance role); ``SEATFLOW_S3_ENDPOINT_URL`` points at a
non-AWS server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from seatflow.errors import NotFound, ValidationFailed
from seatflow.i18n.message import Msg

from .base import CHUNK, MediaStore, check_ref


class S3MediaStore(MediaStore):
    name = "s3"

    def __init__(self, client: Any, bucket: str, *, prefix: str = "", ttl: int = 900) -> None:
        if not bucket:
            raise ValidationFailed(Msg("SEATFLOW_S3_BUCKET is empty; name the bucket media is kept in"),
                                   field="SEATFLOW_S3_BUCKET")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.ttl = ttl

    @classmethod
    def from_settings(cls, settings: Any) -> S3MediaStore:
        try:
            import boto3
        except ImportError:  # pragma: no cover - depends on the installation
            raise ValidationFailed(Msg("SEATFLOW_MEDIA_BACKEND=s3 needs boto3: pip install {package}",
                                       package="'seatflow[s3]'"), field="SEATFLOW_MEDIA_BACKEND") from None
        from botocore.config import Config

        # SigV4 presigned URLs (X-Amz-Expires): what every region and S3-compatible server accepts
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url or None,
                              region_name=settings.s3_region or None, config=Config(signature_version="s3v4"))
        return cls(client, settings.s3_bucket, prefix=settings.s3_prefix, ttl=settings.media_url_seconds)

    def key(self, ref: str) -> str:
        return self.prefix + check_ref(ref)

    def put(self, ref: str, data: BinaryIO) -> None:
        self.client.upload_fileobj(data, self.bucket, self.key(ref))

    def exists(self, ref: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(ref))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def open_chunks(self, ref: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.key(ref))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(Msg("media {ref!r} is missing from bucket {bucket!r}", ref=ref,
                                   bucket=self.bucket)) from None
            raise
        body = obj["Body"]
        try:
            while chunk := body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    def url(self, ref: str, user_id: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(ref)}, ExpiresIn=self.ttl)
        return url
