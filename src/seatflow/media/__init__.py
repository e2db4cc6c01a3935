"""Where media files live: the local folder (default) or an S3-compatible bucket, behind one small interface.

A media reference is a path such as ``faces/2024/a.jpg`` relative to the store, or a full URL
(``https://...``), which stays remote: the store never copies it, and the browser gets the URL as
it is. The browser fetches stored media through a short-lived link: a signed ``/media/...`` URL of
this app for the local folder, a presigned GET URL for S3.

Pick the backend with ``SEATFLOW_MEDIA_BACKEND`` (``local`` | ``s3``); S3 needs the optional extra
``pip install 'seatflow[s3]'`` (boto3).
"""

from __future__ import annotations

from .base import MediaStore, is_remote
from .local import LocalMediaStore

__all__ = ["LocalMediaStore", "MediaStore", "is_remote", "media_store"]


def media_store(settings: object) -> MediaStore:
    """The store the settings ask for."""
    from seatflow.config import Settings

    assert isinstance(settings, Settings)
    if settings.media_backend == "s3":
        from .s3 import S3MediaStore

        return S3MediaStore.from_settings(settings)
    return LocalMediaStore(settings.resolved_media_dir(), settings.resolved_secret_key(),
                           ttl=settings.media_url_seconds)
