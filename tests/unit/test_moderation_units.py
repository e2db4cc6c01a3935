"""The moderation gate's pure parts: sniffing, the breach forecast, SLA figures, keyword scores, and the
NudeNet pre-screen running offline on generated images."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from seatflow.moderation import forecast as fc
from seatflow.moderation import prescreen, stats
from seatflow.moderation.sniff import sniff
from seatflow.moderation.spool import MediaTooLarge, NotMedia, human_bytes, spool

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


# --- sniffing ---------------------------------------------------------------------------------


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
                                           ("WEBP", "image/webp"), ("BMP", "image/bmp"), ("TIFF", "image/tiff")])
def test_images_are_known_by_their_first_bytes(fmt: str, mime: str) -> None:
    found = sniff(_image(fmt)[:64])
    assert found is not None and (found.kind, found.mime) == ("image", mime)


@pytest.mark.parametrize(("head", "mime"), [
    (b"\x00\x00\x00\x18ftypmp42", "video/mp4"), (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
    (b"\x1a\x45\xdf\xa3\x01\x00webm", "video/webm"), (b"RIFF\x00\x00\x00\x00AVI LIST", "video/x-msvideo"),
])
def test_videos_are_known_by_their_first_bytes(head: bytes, mime: str) -> None:
    found = sniff(head)
    assert found is not None and (found.kind, found.mime) == ("video", mime)


@pytest.mark.parametrize("head", [b"", b"hello world", b"%PDF-1.7", b"PK\x03\x04zip", b"<html><body>"])
def test_anything_else_is_not_media(head: bytes) -> None:
    assert sniff(head) is None


def test_spool_limits_size_and_type_and_cleans_up(tmp_path: Path) -> None:
    ok = spool([_image("PNG")], field="file", max_bytes=10_000, tmp_dir=tmp_path)
    assert ok.sniffed.kind == "image" and ok.path.read_bytes() == _image("PNG") and len(ok.sha256) == 64
    ok.discard()
    with pytest.raises(MediaTooLarge, match="larger than 1 KiB"):
        spool([b"\x89PNG\r\n\x1a\n", b"\x00" * 2000], field="file", max_bytes=1024, tmp_dir=tmp_path)
    with pytest.raises(NotMedia):
        spool([b"plain text"], field="file", max_bytes=1024, tmp_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert (human_bytes(500), human_bytes(1536), human_bytes(200 * 1024 * 1024)) == ("500 bytes", "1.5 KiB",
                                                                                      "200 MiB")


# --- the breach forecast ------------------------------------------------------------------------


def q(n: int, minutes: float, priority: int = 0) -> fc.Queued:
    return fc.Queued(task_id=n, item_id=n, external_id=f"i{n}", priority=priority,
                     deadline=T0 + timedelta(minutes=minutes))


AHT = timedelta(minutes=1)


def test_one_seat_takes_the_queue_one_item_per_handling_time() -> None:
    queue = [q(1, 1), q(2, 2), q(3, 2.5), q(4, 10)]
    got = fc.outlook(queue, now=T0, seats=1, aht=AHT)
    assert [o.expected_start for o in got] == [T0 + timedelta(minutes=m) for m in (0, 1, 2, 3)]
    assert [o.breach for o in got] == [False, False, True, False]
    assert got[2].late_by_seconds == 30.0 and got[0].late_by_seconds is None


def test_no_seat_means_every_item_with_a_deadline_breaches() -> None:
    far = fc.Queued(9, 9, "far", 0, datetime(9999, 1, 1, tzinfo=UTC))
    got = fc.outlook([q(1, 30), far], now=T0, seats=0, aht=AHT)
    assert [(o.expected_start, o.breach) for o in got] == [(None, True), (None, False)]


def test_leases_in_progress_hold_their_seats() -> None:
    busy = [T0 - timedelta(seconds=30)]  # began 30 s ago: the seat is free in 30 s
    got = fc.outlook([q(1, 1)], now=T0, seats=1, aht=AHT, busy_since=busy)
    assert got[0].expected_start == T0 + timedelta(seconds=30) and got[0].breach is True


def test_seats_needed_is_the_fewest_that_save_every_savable_item() -> None:
    queue = [q(n, 1) for n in range(1, 6)]  # five items due in a minute, one minute each
    assert fc.seats_needed(queue, now=T0, aht=AHT) == 5
    assert fc.seats_needed(queue + [q(6, 0.5)], now=T0, aht=AHT) == 5  # due in 30 s: lost anyway, not counted
    assert fc.seats_needed([], now=T0, aht=AHT) == 0
    assert fc.seats_needed(queue, now=T0, aht=AHT, max_seats=3) is None
    assert not any(o.breach for o in fc.outlook(queue, now=T0, seats=5, aht=AHT))
    assert any(o.breach for o in fc.outlook(queue, now=T0, seats=4, aht=AHT))


# --- SLA figures --------------------------------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert stats.percentile(values, 50) == 10.0 and stats.percentile(values, 95) == 19.0
    assert stats.percentile([7.0], 95) == 7.0 and stats.percentile([], 50) is None


def test_figures_per_project_and_hour() -> None:
    def d(project: int, received_min: int, took_s: int, deadline_min: int) -> stats.Decided:
        rec = T0 + timedelta(minutes=received_min)
        return stats.Decided(project, rec, rec + timedelta(seconds=took_s), T0 + timedelta(minutes=deadline_min))

    rows = [d(1, 0, 60, 5), d(1, 1, 120, 5), d(1, 2, 600, 5), d(1, 70, 30, 80), d(2, 0, 10, 1)]
    total = {f.project_id: f for f in stats.figures(rows, by_hour=False)}
    assert (total[1].decided, total[1].within_deadline, total[1].p50_seconds, total[1].p95_seconds) == (
        4, 3, 60.0, 600.0)
    assert total[1].share_within_deadline == 0.75 and total[2].share_within_deadline == 1.0
    hourly = [(f.project_id, f.hour, f.decided) for f in stats.figures(rows, by_hour=True)]
    assert hourly == [(1, T0, 3), (1, T0 + timedelta(hours=1), 1), (2, T0, 1)]


# --- keyword scores -----------------------------------------------------------------------------


def test_keywords_match_whole_latin_words_and_chinese_anywhere() -> None:
    kw = {"fraud": ["free money", "转账"], "violence": ["kill"]}
    sev = {"fraud": 3, "violence": 4}
    assert prescreen.keyword_score("FREE MONEY!", kw, sev).labels == ["fraud"]
    assert prescreen.keyword_score("请马上转账给我", kw, sev).value == 0.6
    got = prescreen.keyword_score("kill the free money", kw, sev)
    assert (got.value, got.labels) == (0.8, ["fraud", "violence"])
    assert prescreen.keyword_score("skills and freemoney", kw, sev).value == 0.0
    assert prescreen.keyword_score("anything", {}, sev).value is None


# --- the NudeNet pre-screen, offline ------------------------------------------------------------


def _picture(kind: str) -> Image.Image:
    im = Image.new("RGB", (400, 300), (110, 170, 230))
    d = ImageDraw.Draw(im)
    if kind == "landscape":
        d.rectangle((0, 200, 400, 300), fill=(60, 150, 60))
        d.ellipse((320, 20, 370, 70), fill=(250, 220, 80))
    else:
        d.rectangle((0, 0, 400, 300), fill=(235, 225, 215))
        d.ellipse((100, 30, 300, 290), fill=(224, 172, 140))
        d.ellipse((140, 110, 190, 160), fill=(200, 130, 110))
        d.ellipse((210, 110, 260, 160), fill=(200, 130, 110))
    return im


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach another machine fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the pre-screen tried to use the network: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_the_model_ships_in_the_wheel() -> None:
    import nudenet

    model = Path(nudenet.__file__).parent / "320n.onnx"
    assert model.is_file() and model.stat().st_size > 1_000_000


def test_nudenet_scores_generated_images_offline_and_deterministically(no_network: None) -> None:
    scorer = prescreen.NudeNetScorer()  # a fresh one: the model is loaded inside this test, offline
    for kind in ("landscape", "skin"):
        first = scorer.score([_picture(kind)])
        again = scorer.score([_picture(kind)])
        assert first.model == "nudenet"
        assert first.value is not None and 0.0 <= first.value <= 1.0
        assert first == again  # the same picture, the same score and detections
        assert all(set(d) == {"frame", "class", "score"} for d in first.detections)


def test_the_score_is_the_worst_frame_weighted_by_class(monkeypatch: pytest.MonkeyPatch) -> None:
    class Fake:
        def __init__(self) -> None:
            self.calls = 0

        def detect(self, image: Any) -> list[dict[str, Any]]:
            self.calls += 1
            return [[{"class": "FACE_FEMALE", "score": 0.99, "box": [0, 0, 1, 1]}],
                    [{"class": "BUTTOCKS_EXPOSED", "score": 0.9, "box": [0, 0, 1, 1]},
                     {"class": "BELLY_EXPOSED", "score": 0.5, "box": [0, 0, 1, 1]}]][self.calls - 1]

    scorer = prescreen.NudeNetScorer()
    monkeypatch.setattr(scorer, "_load", lambda: fake)
    fake = Fake()
    got = scorer.score([_picture("landscape"), _picture("landscape")])
    assert got.value == 0.72 and got.labels == ["BELLY_EXPOSED", "BUTTOCKS_EXPOSED"]  # 0.8 * 0.9; faces count 0


def test_off_and_unavailable_give_no_score() -> None:
    assert prescreen.scorer_for("off").score([]).value is None
    gone = prescreen.UnavailableScorer("nudenet is not installed")
    assert gone.score([_picture("skin")]).value is None and "not installed" in gone.score([]).model
    with pytest.raises(ValueError, match="unknown pre-screen model"):
        prescreen.scorer_for("magic")
