"""Media at ingest: a real video made by the test (PyAV) gets its duration and a strip of keyframe
thumbnails, served through signed media links; the moderator's lease carries them; a corrupt or
missing file becomes the client's error; the job recovers claims of a job that died."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update

from seatflow.domain.clock import utcnow
from seatflow.store import tables

from ._moderation import GATE, gate_center, mp4, png
from .conftest import AppFactory, Center

ITEMS = "/api/v1/moderation/items"


@pytest.fixture
def gate(app_factory: AppFactory) -> Center:
    return gate_center(app_factory, video_keyframes=4)


def push_file(center: Center, ext: str, body: bytes, name: str, ctype: str) -> dict[str, Any]:
    resp = center.post("acme-ops", ITEMS, data={"project": GATE, "external_id": ext},
                       files={"file": (name, body, ctype)})
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def test_a_video_gets_its_duration_and_a_keyframe_strip(gate: Center, tmp_path: Path) -> None:
    video = mp4(tmp_path / "clip.mp4", frames=30, fps=10, gop=5)  # 3 s, a keyframe every 0.5 s
    pushed = push_file(gate, "clip-1", video, "clip.mp4", "video/mp4")
    assert pushed["kind"] == "video" and pushed["state"] == "processing_media"
    [outcome] = gate.app.state.media_job.run_once()
    assert outcome.status == "ready", outcome
    got = gate.get("acme-ops", f"{ITEMS}/clip-1").json()
    assert got["state"] == "queued"
    assert got["media"]["duration_seconds"] == pytest.approx(3.0, abs=0.2)
    assert len(got["media"]["thumbnails"]) == 4  # SEATFLOW_VIDEO_KEYFRAMES
    frames = []
    for url in got["media"]["thumbnails"]:
        assert url.startswith("/media/") and "&s=" in url
        resp = gate.client.get(url)
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
        frames.append(resp.content)
    assert len(set(frames)) == 4  # four different keyframes, not one repeated
    strip = gate.client.get(got["media"]["strip"])
    assert strip.status_code == 200
    with Image.open(io.BytesIO(strip.content)) as im:
        assert im.height == 120 and im.width > 3 * 120  # four 160x120 frames side by side
    assert gate.client.get(got["media"]["strip"].replace("&s=", "&s=0")).status_code == 403  # the signature counts
    assert 0.0 <= got["prescreen"]["score"] <= 1.0
    # the moderator's lease carries the same media, signed for them
    lease = gate.lease("ann1", GATE)
    payload = lease["item"]["payload"]
    assert payload["duration_seconds"] == got["media"]["duration_seconds"] and len(payload["thumbnails"]) == 4
    assert set(lease["item"]["media"]) == {payload["media"], *payload["thumbnails"], payload["strip"]}
    for signed in lease["item"]["media"].values():
        assert gate.client.get(signed).status_code == 200


def test_an_image_gets_a_thumbnail_and_a_score(gate: Center) -> None:
    push_file(gate, "img-1", png(size=(1200, 800)), "a.png", "image/png")
    gate.app.state.media_job.run_once()
    got = gate.get("acme-ops", f"{ITEMS}/img-1").json()
    [thumb] = got["media"]["thumbnails"]
    with Image.open(io.BytesIO(gate.client.get(thumb).content)) as im:
        assert max(im.size) == 320
    assert got["media"]["duration_seconds"] is None and got["media"]["strip"] is None


def test_a_file_that_goes_missing_is_a_media_error_not_a_stuck_item(gate: Center) -> None:
    pushed = push_file(gate, "gone", png(), "a.png", "image/png")
    ref = gate.row("items", id=pushed["id"]).payload["media"]
    (gate.app.state.media_root / ref).unlink()
    [outcome] = gate.app.state.media_job.run_once()
    assert outcome.status == "failed" and "missing" in outcome.detail
    assert gate.get("acme-ops", f"{ITEMS}/gone").json()["state"] == "rejected_media"


def test_a_claim_left_by_a_dead_job_is_taken_again_after_a_while(gate: Center) -> None:
    pushed = push_file(gate, "stale", png(), "a.png", "image/png")
    with gate.db.write() as conn:  # a job claimed it and died
        conn.execute(update(tables.items).where(tables.items.c.id == pushed["id"])
                     .values(media_status="processing", media_claimed_at=utcnow() - timedelta(minutes=1)))
    assert gate.app.state.media_job.run_once() == []  # still someone else's
    with gate.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == pushed["id"])
                     .values(media_claimed_at=utcnow() - timedelta(minutes=11)))
    [outcome] = gate.app.state.media_job.run_once()
    assert outcome.status == "ready"
    assert gate.count("tasks", item_id=pushed["id"]) == 1


def test_the_job_thread_processes_media_in_the_background(app_factory: AppFactory) -> None:
    center = gate_center(app_factory, media_job_interval_seconds=0.05)
    job = center.app.state.media_job
    job.start()
    try:
        pushed = push_file(center, "bg", png(), "a.png", "image/png")
        deadline = utcnow() + timedelta(seconds=20)
        while utcnow() < deadline and center.row("items", id=pushed["id"]).media_status != "ready":
            time.sleep(0.05)
        assert center.row("items", id=pushed["id"]).media_status == "ready"
    finally:
        job.stop()


def test_the_worker_command_processes_what_waits(gate: Center, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from seatflow.cli import app

    push_file(gate, "cli-1", png(), "a.png", "image/png")
    settings = gate.app.state.settings
    monkeypatch.setenv("SEATFLOW_HOME", str(settings.resolved_home()))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("SEATFLOW_SECRET_KEY", "test")
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    result = CliRunner().invoke(app, ["worker", "media", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 item(s) processed: 1 ready, 0 refused" in result.stdout
    assert gate.get("acme-ops", f"{ITEMS}/cli-1").json()["state"] == "queued"
