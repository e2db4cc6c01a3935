"""S3-compatible media storage against a real S3 endpoint run here: moto's server (``moto_server``, from PyPI)
listens on a loopback port and speaks the S3 REST protocol, so boto3, signatures and presigned URLs are the real
ones; only the far end is not AWS. The test starts and stops it itself.

What moto does not do: enforce signatures or expiry of presigned URLs (without its IAM emulation; with it, presigned
GETs fail inside moto). So these tests check that links are SigV4 presigned with the configured lifetime and fetch
the object, not that a forged or expired link is refused: that part is S3's own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from tests.integration._formats import make_image, make_project

from seatflow.config import Settings
from seatflow.errors import NotFound, ValidationFailed
from seatflow.formats.importer import import_path
from seatflow.media import media_store
from seatflow.media.s3 import S3MediaStore
from seatflow.store.engine import Database

boto3 = pytest.importorskip("boto3")
BUCKET = "seatflow-media"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    exe = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.fail("moto_server is not installed: pip install 'moto[server]' (in the test extras)")
    port = _free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return s3_endpoint


def _store(endpoint: str, ttl: int = 900, prefix: str = "media") -> S3MediaStore:
    settings = Settings(media_backend="s3", s3_bucket=BUCKET, s3_endpoint_url=endpoint, s3_prefix=prefix,
                        s3_region="us-east-1", media_url_seconds=ttl, secret_key="x")
    store = media_store(settings)
    assert isinstance(store, S3MediaStore)
    return store


def test_put_read_and_presigned_urls(s3_env: str) -> None:
    store = _store(s3_env)
    store.put("faces/a.jpg", BytesIO(b"jpeg bytes"))
    assert store.exists("faces/a.jpg") and not store.exists("faces/missing.jpg")
    assert b"".join(store.open_chunks("faces/a.jpg")) == b"jpeg bytes"
    with pytest.raises(NotFound, match="missing from bucket"):
        list(store.open_chunks("faces/missing.jpg"))
    url = store.url_for("faces/a.jpg", user_id=7)
    assert url.startswith(f"{s3_env}/{BUCKET}/media/faces/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&"), url
    assert "X-Amz-Expires=900&" in url and "X-Amz-Signature=" in url
    assert httpx.get(url).content == b"jpeg bytes"
    assert store.url_for("https://cdn.example.com/b.jpg", 7) == "https://cdn.example.com/b.jpg", "URLs stay remote"
    with pytest.raises(ValidationFailed):
        store.put("../etc/passwd", BytesIO(b""))


def test_the_app_hands_workers_presigned_links(s3_env: str, settings: Settings, database: Database) -> None:
    from fastapi.testclient import TestClient

    from seatflow.app import create_app
    from seatflow.services import accounts, imports
    from seatflow.services.imports import Record

    make_project(database, "bucket", "image_annotation", {"labels": [{"name": "car"}], "tools": ["bbox"]},
                 worker="w-s3")
    imports.import_records(database, None, "bucket", [Record("t", 1, {
        "external_id": "a", "payload": {"image": "bucket/a.jpg", "width": 10, "height": 10}})], source="t")
    with database.write() as conn:
        token = accounts.create_token(conn, None, username="w-s3")
    conf = settings.model_copy(update={"media_backend": "s3", "s3_bucket": BUCKET, "s3_endpoint_url": s3_env,
                                       "s3_region": "us-east-1", "media_url_seconds": 120})
    with TestClient(create_app(conf, db=database, background=False)) as client:
        lease = client.post("/api/v1/leases", headers={"Authorization": f"Bearer {token}"})
    assert lease.status_code == 201, lease.text
    link = lease.json()["item"]["media"]["bucket/a.jpg"]
    assert link.startswith(f"{s3_env}/{BUCKET}/bucket/a.jpg?") and "X-Amz-Expires=120&" in link


def test_yolo_import_puts_images_in_the_bucket(s3_env: str, database: Database, tmp_path: Path) -> None:
    make_project(database, "bucket", "image_annotation", {"labels": [{"name": "car"}], "tools": ["bbox"]})
    root = tmp_path / "set"
    make_image(root / "images" / "x.jpg", 40, 20)
    (root / "labels").mkdir()
    (root / "labels" / "x.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text("names: [car]\n")
    store = _store(s3_env, prefix="imports")
    import_path(database, None, "bucket", root, "yolo", mode="gold", media=store)
    assert b"".join(store.open_chunks("bucket/x.jpg")) == (root / "images" / "x.jpg").read_bytes()
