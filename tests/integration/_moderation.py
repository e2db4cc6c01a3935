"""Helpers of the moderation tests: a moderation project on the test center, media made by the test,
and a loopback HTTP server that serves it (the only server the URL-ingest tests ever reach)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw

from seatflow.services import accounts, projects

from .conftest import AppFactory, Center

GATE = "acme-gate"
POLICY: dict[str, Any] = {
    "reasons": [
        {"code": "minors", "title": "Endangers or sexualises minors", "severity": 5},
        {"code": "violence", "title": "Graphic violence or gore", "severity": 4},
        {"code": "sexual", "title": "Sexual content or nudity", "severity": 4},
        {"code": "fraud", "title": "Scam, fraud or illegal sale", "severity": 3},
    ],
    "escalation": True,
    "keywords": {"fraud": ["free money", "转账"], "violence": ["kill"]},
    "prescreen": {"boost_above": 0.5, "boost": 100},
}


def make_gate(center: Center, *, slug: str = GATE, policy: dict[str, Any] | None = None,
              workflow: str = "annotate(overlap=1)", sla_minutes: int | None = 10) -> int:
    """A moderation project of client acme: ann1..ann3 moderate, rev1 is its senior."""
    with center.db.write() as conn:
        pid = projects.create_project(conn, None, {
            "slug": slug, "name": slug, "client": "acme", "work_type": "moderation",
            "label_schema": policy or POLICY, "workflow": workflow, "sla_minutes": sla_minutes})
        for user in ("ann1", "ann2", "ann3"):
            accounts.grant(conn, None, username=user, project_slug=slug, skill="annotate")
        accounts.grant(conn, None, username="rev1", project_slug=slug, skill="review")
    center.seed.projects[slug] = pid
    return pid


def gate_center(app_factory: AppFactory, **overrides: Any) -> Center:
    settings: dict[str, Any] = {"media_fetch_private": True, "media_max_bytes": 400_000}
    settings.update(overrides)
    center = app_factory(**settings)
    make_gate(center)
    return center


def png(draw: str = "landscape", size: tuple[int, int] = (320, 240)) -> bytes:
    """A generated picture: ``landscape`` (sky, grass, sun) or ``skin`` (skin-coloured shapes)."""
    im = Image.new("RGB", size, (110, 170, 230))
    d = ImageDraw.Draw(im)
    w, h = size
    if draw == "landscape":
        d.rectangle((0, h * 2 // 3, w, h), fill=(60, 150, 60))
        d.ellipse((w - 80, 20, w - 30, 70), fill=(250, 220, 80))
    else:
        d.rectangle((0, 0, w, h), fill=(235, 225, 215))
        d.ellipse((w // 4, h // 8, w * 3 // 4, h * 7 // 8), fill=(224, 172, 140))
        d.ellipse((w // 3, h // 3, w // 3 + 40, h // 3 + 40), fill=(200, 130, 110))
        d.ellipse((w * 2 // 3 - 40, h // 3, w * 2 // 3, h // 3 + 40), fill=(200, 130, 110))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def mp4(path: Path, *, frames: int = 30, fps: int = 10, gop: int = 5, size: tuple[int, int] = (160, 120)) -> bytes:
    """A real video made with PyAV (MPEG-4 part 2 in MP4): ``frames / fps`` seconds, a keyframe every ``gop``."""
    w, h = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.gop_size = gop
        for i in range(frames):
            a = np.zeros((h, w, 3), dtype=np.uint8)
            a[:, :, 0] = (i * 8) % 256
            a[:, (i * 5) % w:, 1] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def corrupt_mp4() -> bytes:
    """Starts like an MP4 (so it is taken in as a video) but no decoder can read it."""
    return b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00\x13garbage" * 400


@dataclass
class Served:
    body: bytes
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class Loopback:
    """Files served on 127.0.0.1 for the URL-ingest tests; ``hits`` counts requests per path."""

    def __init__(self, base: str, files: dict[str, Served]) -> None:
        self.base = base
        self.files = files
        self.hits: dict[str, int] = {}

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def put(self, path: str, body: bytes, content_type: str = "application/octet-stream", **kw: Any) -> str:
        self.files[path] = Served(body, content_type, **kw)
        return self.url(path)


@contextmanager
def loopback_server() -> Iterator[Loopback]:
    files: dict[str, Served] = {}
    box: dict[str, Loopback] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            box["lb"].hits[self.path] = box["lb"].hits.get(self.path, 0) + 1
            served = files.get(self.path)
            if served is None:
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"not here")
                return
            self.send_response(served.status)
            self.send_header("Content-Type", served.content_type)
            self.send_header("Content-Length", str(len(served.body)))
            for k, v in served.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    box["lb"] = Loopback(f"http://127.0.0.1:{server.server_address[1]}", files)
    try:
        yield box["lb"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
