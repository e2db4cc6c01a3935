"""YOLO in and out: a dataset -> Seatflow -> YOLO gives identical label files; our output is read by a second,
independent reader written here; bad lines import nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration._formats import count_items, finish_all, make_image, make_project, payloads

from seatflow.commands._common import CLI_ACTOR
from seatflow.errors import ImportFailed
from seatflow.formats.importer import import_path
from seatflow.media import LocalMediaStore
from seatflow.services import exports
from seatflow.store.engine import Database

DETECT_SCHEMA = {"labels": [{"name": "car"}, {"name": "person"}, {"name": "bike"}], "tools": ["bbox"]}
POSE_SCHEMA = {"labels": [{"name": "person"}], "tools": ["bbox", "keypoints"],
               "keypoints": {"names": ["head", "left_hand", "right_hand"], "label": "person"}}

LABELS = {
    "train/0001.jpg": "0 0.500000 0.500000 0.250000 0.400000\n1 0.125000 0.731250 0.062500 0.287500\n",
    "train/0002.jpg": "2 0.333333 0.412037 0.104167 0.092593\n0 0.901042 0.050926 0.197917 0.101852\n"
                      "0 0.901042 0.950000 0.197917 0.100000\n",
    "val/0003.png": "",  # labelled, nothing in it
}
SIZES = {"train/0001.jpg": (640, 480), "train/0002.jpg": (960, 540), "val/0003.png": (200, 100)}


def write_dataset(root: Path, labels: dict[str, str], sizes: dict[str, tuple[int, int]],
                  data: dict[str, Any]) -> Path:
    for rel, (w, h) in sizes.items():
        make_image(root / "images" / rel, w, h)
    for rel, text in labels.items():
        target = (root / "labels" / rel).with_suffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (root / "data.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return root


class IndependentYoloReader:
    """A second reader of the YOLO format, written from its description (not from our writer): data.yaml
    names the classes; each labels/*.txt line is `class cx cy w h [x y v]*` with coordinates in 0..1."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        meta = yaml.safe_load(files["data.yaml"])
        names = meta["names"]
        self.names = [names[i] for i in range(len(names))] if isinstance(names, dict) else list(names)
        self.kpt = meta.get("kpt_shape")

    def objects(self) -> dict[str, list[tuple[str, tuple[float, ...], tuple[float, ...]]]]:
        out = {}
        for name, raw in self.files.items():
            if not name.startswith("labels/"):
                continue
            rows = []
            for line in raw.decode().splitlines():
                cols = line.split()
                cls, box = int(cols[0]), tuple(float(c) for c in cols[1:5])
                assert all(0.0 <= v <= 1.0 for v in box), line
                kps = tuple(float(c) for c in cols[5:])
                if self.kpt:
                    assert len(kps) == self.kpt[0] * self.kpt[1], line
                else:
                    assert not kps, line
                rows.append((self.names[cls], box, kps))
            out[name[len("labels/"):-len(".txt")]] = rows
        return out


def _folder_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_yolo_round_trip_gives_identical_label_files(database: Database, tmp_path: Path) -> None:
    make_project(database, "traffic", "image_annotation", DETECT_SCHEMA)
    src = write_dataset(tmp_path / "in", LABELS, SIZES, {"names": {0: "car", 1: "person", 2: "bike"}})
    media = LocalMediaStore(tmp_path / "media", "secret")
    result = import_path(database, None, "traffic", src, "yolo", mode="predictions", media=media)
    assert result.report.imported == 3
    stored = payloads(database, "traffic")
    assert stored["train/0001.jpg"]["predictions"]["boxes"][0] == {
        "label": "car", "x": 240.0, "y": 144.0, "w": 160.0, "h": 192.0}
    assert stored["train/0002.jpg"]["predictions"]["model"] == "yolo"
    assert (tmp_path / "media" / "traffic" / "val" / "0003.png").is_file()
    assert finish_all(database) == 3

    out = tmp_path / "out"
    res = exports.export_to_path(database, CLI_ACTOR, "traffic", "yolo", out, media=media)
    for rel, text in LABELS.items():
        assert (out / "labels" / rel).with_suffix(".txt").read_text(encoding="utf-8") == text, rel
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "car", 1: "person", 2: "bike"}
    assert (out / "images" / "train" / "0001.jpg").read_bytes() == (src / "images/train/0001.jpg").read_bytes()
    listed = {f["path"] for f in res.manifest_data["files"]}
    assert listed == set(_folder_files(out)) - {"manifest.json"}
    assert res.manifest_data["counts"] == {"images": 3, "objects": 5, "media_files": 3}

    # the same export as a zip, read by the independent reader
    zpath = tmp_path / "traffic.zip"
    exports.export_to_path(database, CLI_ACTOR, "traffic", "yolo", zpath)
    with zipfile.ZipFile(zpath) as zf:
        assert zf.testzip() is None
        files = {n: zf.read(n) for n in zf.namelist()}
    objs = IndependentYoloReader(files).objects()
    assert objs["train/0001"] == [("car", (0.5, 0.5, 0.25, 0.4), ()), ("person", (0.125, 0.73125, 0.0625, 0.2875), ())]
    assert len(objs["train/0002"]) == 3 and objs["val/0003"] == []
    assert (zpath.parent / "traffic.zip.manifest.json").is_file()


def test_yolo_pose_round_trip(database: Database, tmp_path: Path) -> None:
    make_project(database, "poses", "image_annotation", POSE_SCHEMA)
    labels = {"a.jpg": "0 0.500000 0.500000 0.400000 0.800000 0.500000 0.200000 2 0.350000 0.500000 1 "
                       "0.000000 0.000000 0\n"}
    src = write_dataset(tmp_path / "in", labels, {"a.jpg": (100, 200)},
                        {"names": ["person"], "kpt_shape": [3, 3]})
    import_path(database, None, "poses", src, "yolo", mode="predictions", media=LocalMediaStore(tmp_path / "m", "s"))
    kps = payloads(database, "poses")["a.jpg"]["predictions"]["keypoints"][0]
    assert kps == {"label": "person", "points": [[50.0, 40.0, 2], [35.0, 100.0, 1], [0, 0, 0]]}
    finish_all(database)
    body = b"".join(exports.stream(database, CLI_ACTOR, _project(database, "poses"), "yolo"))
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    assert files["labels/a.txt"].decode() == labels["a.jpg"]
    reader = IndependentYoloReader(files)
    assert reader.kpt == [3, 3]
    assert reader.objects()["a"][0][2] == (0.5, 0.2, 2.0, 0.35, 0.5, 1.0, 0.0, 0.0, 0.0)


def _project(db: Database, slug: str) -> Any:
    from seatflow.store import catalog

    with db.read() as conn:
        return catalog.project_by_slug(conn, slug)


@pytest.mark.parametrize(("labels", "data", "message"), [
    ({"train/0002.jpg": "0 0.5 0.5 0.1 0.1\n2 0.3 0.4 0.1\n"}, None,
     "labels/train/0002.txt:2: expected 5 numbers (class cx cy w h), or a class and 3 or more x y pairs for a "
     "polygon, got 4"),
    ({"train/0002.jpg": "7 0.5 0.5 0.1 0.1\n"}, None, "labels/train/0002.txt:1: class: class 7 is not a class number"),
    ({"train/0002.jpg": "0 0.5 0.5 1.7 0.1\n"}, None, "labels/train/0002.txt:1: number 4 (1.7) is not normalised"),
    ({"train/0002.jpg": "0 0.5 abc 0.1 0.1\n"}, None, "labels/train/0002.txt:1: value 3 ('abc') is not a number"),
    ({}, {"names": ["car", "truck"]}, "data.yaml: names: 'truck' are not labels of project 'traffic'"),
])
def test_malformed_yolo_imports_nothing(database: Database, tmp_path: Path, labels: dict[str, str],
                                        data: dict[str, Any] | None, message: str) -> None:
    make_project(database, "traffic", "image_annotation", DETECT_SCHEMA)
    src = write_dataset(tmp_path / "in", {**LABELS, **labels}, SIZES, data or {"names": ["car", "person", "bike"]})
    media = LocalMediaStore(tmp_path / "media", "secret")
    with pytest.raises(ImportFailed) as err:
        import_path(database, None, "traffic", src, "yolo", mode="gold", media=media)
    assert message in err.value.detail
    assert count_items(database, "traffic") == 0
    assert not (tmp_path / "media").exists(), "the checking pass copies no media"
