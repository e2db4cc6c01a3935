"""COCO in and out: COCO -> Seatflow -> COCO keeps every box, keypoint and category (read back with
pycocotools), gold imports, and malformed files that import nothing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO
from sqlalchemy import func, select
from tests.integration._formats import FACE_SCHEMA, count_items, finish_all, make_image, make_project, payloads

from seatflow.commands._common import CLI_ACTOR
from seatflow.errors import ImportFailed
from seatflow.formats.importer import import_path
from seatflow.media import LocalMediaStore
from seatflow.services import exports
from seatflow.store import tables
from seatflow.store.engine import Database

KP_NAMES = FACE_SCHEMA["keypoints"]["names"]


def coco_doc() -> dict[str, Any]:
    """A small COCO instances + keypoints file: 3 images (one without objects), 3 categories."""
    return {
        "info": {"description": "test"},
        "images": [
            {"id": 11, "file_name": "street/a.jpg", "width": 640, "height": 480},
            {"id": 12, "file_name": "street/b.jpg", "width": 320, "height": 240},
            {"id": 13, "file_name": "empty.jpg", "width": 100, "height": 80},
        ],
        "categories": [
            {"id": 1, "name": "person", "supercategory": "person", "keypoints": KP_NAMES,
             "skeleton": [[1, 2], [1, 3], [2, 4], [3, 5]]},
            {"id": 3, "name": "car", "supercategory": "vehicle"},
            {"id": 18, "name": "dog", "supercategory": "animal"},
        ],
        "annotations": [
            {"id": 101, "image_id": 11, "category_id": 1, "bbox": [100.5, 50.25, 80, 200], "area": 16000,
             "iscrowd": 0, "num_keypoints": 4, "segmentation": [],
             "keypoints": [140, 70, 2, 135, 65, 2, 145, 65, 1, 0, 0, 0, 150, 68, 2]},
            {"id": 102, "image_id": 11, "category_id": 3, "bbox": [300, 200, 120, 60], "area": 7200,
             "iscrowd": 0, "segmentation": [[300, 200, 420, 200, 420, 260, 300, 260]]},
            {"id": 103, "image_id": 12, "category_id": 18, "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0,
             "segmentation": []},
            {"id": 104, "image_id": 12, "category_id": 1, "bbox": [200, 30, 50, 150], "area": 7500, "iscrowd": 0,
             "num_keypoints": 5, "segmentation": [],
             "keypoints": [220, 40, 2, 215, 35, 2, 225, 35, 2, 210, 38, 2, 230, 38, 2]},
        ],
    }


def write_coco(folder: Path, doc: dict[str, Any], *, images: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if images:
        for im in doc["images"]:
            make_image(folder / "images" / im["file_name"], im["width"], im["height"])
    path = folder / "instances.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def objects(coco: COCO) -> dict[str, set[tuple[Any, ...]]]:
    """file_name -> {(category name, bbox, keypoints)} as pycocotools loaded them."""
    out: dict[str, set[tuple[Any, ...]]] = {}
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    for img in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        out[img["file_name"]] = {
            (names[a["category_id"]], tuple(round(v, 6) for v in a["bbox"]),
             tuple(a["keypoints"]) if a.get("keypoints") and any(a["keypoints"][2::3]) else None)
            for a in anns}
    return out


def test_coco_round_trip_keeps_every_box_keypoint_and_category(database: Database, tmp_path: Path) -> None:
    make_project(database, "street", "image_annotation", FACE_SCHEMA)
    source = write_coco(tmp_path / "in", coco_doc())
    media = LocalMediaStore(tmp_path / "media", "secret")
    result = import_path(database, None, "street", source, "coco", mode="predictions", model="detector-v1",
                         media=media)
    assert (result.checked, result.report.imported) == (3, 3)
    assert (tmp_path / "media" / "street" / "street" / "a.jpg").is_file(), "images beside the file are copied"
    stored = payloads(database, "street")
    assert stored["street/a.jpg"]["image"] == "street/street/a.jpg"
    assert stored["street/a.jpg"]["predictions"]["model"] == "detector-v1"
    assert "predictions" not in stored["empty.jpg"]
    assert finish_all(database) == 3

    out = tmp_path / "out" / "street.coco.json"
    res = exports.export_to_path(database, CLI_ACTOR, "street", "coco", out)
    assert res.manifest_data["counts"] == {"images": 3, "annotations": 4}

    original = COCO(str(source))
    ours = COCO(str(out))
    assert objects(ours) == objects(original)
    assert len(ours.getAnnIds()) == len(original.getAnnIds())
    cats = {c["name"]: c for c in ours.loadCats(ours.getCatIds())}
    assert set(cats) == {"person", "car", "dog"}
    assert cats["person"]["keypoints"] == KP_NAMES
    assert cats["person"]["skeleton"] == [[1, 2], [1, 3], [2, 4], [3, 5]]
    car = ours.loadAnns(ours.getAnnIds(catIds=[cats["car"]["id"]]))[0]
    assert car["segmentation"] == [[300, 200, 420, 200, 420, 260, 300, 260]], "the polygon joins its box"
    with warnings.catch_warnings():  # pycocotools' C decoder and numpy 2: a DeprecationWarning, not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        assert ours.annToMask(car).sum() == 120 * 60  # pycocotools rasterises what we wrote
    person = ours.loadAnns(ours.getAnnIds(catIds=[cats["person"]["id"]]))
    assert sorted(a["num_keypoints"] for a in person) == [4, 5]


def test_coco_as_gold_keeps_the_known_answers_and_leaves_items_open(database: Database, tmp_path: Path) -> None:
    make_project(database, "street", "image_annotation", FACE_SCHEMA)
    doc = coco_doc()
    doc["annotations"][0]["score"] = 0.9  # a score in a gold file is ignored
    source = write_coco(tmp_path / "in", doc, images=False)
    result = import_path(database, None, "street", source, "coco", mode="gold")
    assert result.report.imported == 3
    assert any("file_name in the media store" in w for w in result.warnings.lines())
    gold = payloads(database, "street")
    assert gold["street/a.jpg"]["image"] == "street/a.jpg"
    assert gold["street/a.jpg"]["gold"]["boxes"][0] == {"label": "person", "x": 100.5, "y": 50.25, "w": 80.0,
                                                         "h": 200.0}
    assert gold["street/a.jpg"]["gold"]["keypoints"][0]["points"][3] == [0, 0, 0]
    assert gold["empty.jpg"]["gold"] == {}, "an image without objects is a gold 'nothing here'"
    with database.read() as conn:
        states = set(conn.execute(select(tables.items.c.state)).scalars())
    assert states == {"active"}


def _batches(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.batches)).scalar_one())


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["annotations"][2].update(image_id=99),
     "instances.json annotations[2] (id 103): image_id: image 99 is not in 'images'"),
    (lambda d: d["annotations"][1].update(category_id=7),
     "annotations[1] (id 102): category_id: category 7 is not in 'categories'"),
    (lambda d: d["categories"][2].update(name="cat"),
     "categories[2] (id 18): name: 'cat' is not a label of project 'street'"),
    (lambda d: d["annotations"][3].update(bbox=[200, 30, 50]),
     "annotations[3] (id 104): bbox: must be [x, y, width, height]"),
    (lambda d: d["annotations"][3].update(bbox=[300, 30, 50, 150]),  # sticks out of the 320 px image
     "images[1] (id 12): payload.predictions.boxes[1]: box (300,30)-(350,180) lies outside the 320x240 image "
     "(from instances.json annotations[3] (id 104))"),
    (lambda d: d["images"][1].update(width=0), "images[1] (id 12): width: must be a whole number of pixels"),
    (lambda d: d["images"].append({"id": 11, "file_name": "c.jpg", "width": 5, "height": 5}),
     "image id 11 appears 2 times"),
])
def test_malformed_coco_imports_nothing(database: Database, tmp_path: Path, change: Any, message: str) -> None:
    make_project(database, "street", "image_annotation", FACE_SCHEMA)
    doc = coco_doc()
    change(doc)
    # the broken part is at the end: everything before it is valid and would have been written
    source = write_coco(tmp_path / "in", doc, images=False)
    with pytest.raises(ImportFailed) as err:
        import_path(database, None, "street", source, "coco", mode="predictions")
    assert message in err.value.detail
    assert count_items(database, "street") == 0 and _batches(database) == 0


def test_not_json_and_not_coco(database: Database, tmp_path: Path) -> None:
    make_project(database, "street", "image_annotation", FACE_SCHEMA)
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [{"id": 1,', encoding="utf-8")
    with pytest.raises(ImportFailed, match="bad.json: not valid JSON"):
        import_path(database, None, "street", bad, "coco", mode="gold")
    other = tmp_path / "other.json"
    other.write_text('{"tasks": []}', encoding="utf-8")
    with pytest.raises(ImportFailed, match="no 'images' list"):
        import_path(database, None, "street", other, "coco", mode="gold")
    make_project(database, "notes", "text_annotation", {"classes": ["a", "b"]})
    with pytest.raises(ImportFailed, match="the coco format is for image_annotation projects"):
        import_path(database, None, "notes", other, "coco")
