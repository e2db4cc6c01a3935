"""Label Studio in and out: a labeling config becomes a project (with the list of what did not map), a Label
Studio export file (built here from Label Studio's documented JSON format) imports with its annotations, and the
migration is one command sequence on the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration._formats import count_items, finish_all, make_project, payloads
from typer.testing import CliRunner

from seatflow.cli import app
from seatflow.commands._common import CLI_ACTOR
from seatflow.errors import ImportFailed
from seatflow.formats.importer import import_path
from seatflow.formats.labelstudio import translate_config
from seatflow.services import exports
from seatflow.store.engine import Database

IMAGE_CONFIG = """<View>
  <Header value="Cars and people"/>
  <Image name="image" value="$image" zoom="true"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car" background="green" hotkey="c"/>
    <Label value="Person" background="blue"/>
  </RectangleLabels>
  <PolygonLabels name="poly" toName="image"><Label value="Road"/></PolygonLabels>
  <KeyPointLabels name="kp" toName="image"><Label value="left_eye"/><Label value="right_eye"/></KeyPointLabels>
  <Choices name="tod" toName="image" choice="single"><Choice value="Day"/><Choice value="Night"/></Choices>
  <TextArea name="plate" toName="image" perRegion="true"/>
  <BrushLabels name="mask" toName="image"><Label value="Sky"/></BrushLabels>
  <Rating name="quality" toName="image"/>
</View>"""

TEXT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
  <Choices name="sentiment" toName="text" choice="single"><Choice value="positive"/><Choice value="negative"/></Choices>
  <TextArea name="summary" toName="text"/>
</View>"""


def rect(rid: str, x: float, y: float, w: float, h: float, label: str, **extra: Any) -> dict[str, Any]:
    return {"original_width": 800, "original_height": 600, "image_rotation": 0, "id": rid, "from_name": "label",
            "to_name": "image", "type": "rectanglelabels", "origin": "manual",
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": extra.pop("rotation", 0),
                      "rectanglelabels": [label]}, **extra}


def image_export() -> list[dict[str, Any]]:
    """Two tasks as Label Studio's JSON export writes them (annotations with results, predictions, meta)."""
    return [
        {"id": 7, "data": {"image": "/data/upload/1/3f2a-street.jpg"}, "meta": {}, "inner_id": 1,
         "created_at": "2024-05-01T10:00:00.000000Z", "updated_at": "2024-05-01T10:05:00.000000Z",
         "total_annotations": 1, "cancelled_annotations": 0, "total_predictions": 1, "project": 3,
         "file_upload": "3f2a-street.jpg", "drafts": [],
         "annotations": [{
             "id": 31, "completed_by": 1, "was_cancelled": False, "ground_truth": False, "lead_time": 41.2,
             "created_at": "2024-05-01T10:05:00.000000Z", "task": 7, "project": 3, "result_count": 0,
             "result": [
                 rect("a1", 10, 20, 25, 30, "Car"),
                 {"id": "a1", "from_name": "plate", "to_name": "image", "type": "textarea", "origin": "manual",
                  "value": {"text": ["B-AB 123"]}},
                 rect("a2", 50, 10, 10, 40, "Person"),
                 {"original_width": 800, "original_height": 600, "image_rotation": 0, "id": "p1", "from_name": "poly",
                  "to_name": "image", "type": "polygonlabels", "origin": "manual",
                  "value": {"points": [[0, 100], [50, 60], [100, 100]], "polygonlabels": ["Road"]}},
                 {"original_width": 800, "original_height": 600, "image_rotation": 0, "id": "k1", "from_name": "kp",
                  "to_name": "image", "type": "keypointlabels", "origin": "manual",
                  "value": {"x": 52.5, "y": 15, "width": 0.5, "keypointlabels": ["left_eye"]}},
                 {"original_width": 800, "original_height": 600, "image_rotation": 0, "id": "k2", "from_name": "kp",
                  "to_name": "image", "type": "keypointlabels", "origin": "manual",
                  "value": {"x": 55, "y": 15, "width": 0.5, "keypointlabels": ["right_eye"]}},
                 {"id": "c1", "from_name": "tod", "to_name": "image", "type": "choices", "origin": "manual",
                  "value": {"choices": ["Day"]}},
                 rect("a3", 5, 5, 10, 10, "Car", rotation=30),
             ]}],
         "predictions": [{"id": 5, "model_version": "yolo-v8-cars", "score": 0.87, "created_ago": "3 days",
                          "result": [rect("m1", 11, 21, 24, 29, "Car", score=0.87)]}]},
        {"id": 8, "data": {"image": "/data/upload/1/9c1e-night.jpg", "width": 640, "height": 480},
         "annotations": [], "predictions": []},
    ]


def test_label_studio_config_translates_with_a_list_of_what_did_not_map() -> None:
    tr = translate_config(IMAGE_CONFIG)
    assert tr.work_type == "image_annotation" and tr.data_key == "image"
    assert tr.label_schema == {
        "labels": [{"name": "Car", "key": "c"}, {"name": "Person"}, {"name": "Road"}],
        "tools": ["bbox", "polygon", "keypoints", "classify"],
        "keypoints": {"names": ["left_eye", "right_eye"]},
        "classes": ["Day", "Night"],
        "attributes": [{"name": "plate", "type": "text"}],
    }
    assert tr.unmapped == ['BrushLabels "mask": brush masks are not a Seatflow shape',
                           'Rating "quality": ratings have no Seatflow answer field']
    text = translate_config(TEXT_CONFIG)
    assert text.work_type == "text_annotation"
    assert text.label_schema == {"multi_label": False, "classes": ["positive", "negative"],
                                 "span_labels": ["PER", "ORG"]}
    assert text.unmapped == ['TextArea "summary": free-text answers have no Seatflow text-annotation field']


def test_label_studio_migration_is_one_command_sequence(db_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, f"{result.stdout}\n{result.stderr}"
        return result

    (tmp_path / "config.xml").write_text(IMAGE_CONFIG, encoding="utf-8")
    (tmp_path / "export.json").write_text(json.dumps(image_export()), encoding="utf-8")
    run("client", "add", "acme", "--name", "ACME")
    created = run("project", "from-labelstudio", str(tmp_path / "config.xml"), "--client", "acme", "--slug", "cars")
    assert "created project cars" in created.stdout
    assert 'BrushLabels "mask": brush masks are not a Seatflow shape' in created.stdout
    imported = run("import", "cars", str(tmp_path / "export.json"), "--format", "labelstudio", "--as", "gold")
    assert "checked 2, imported 2" in imported.stdout
    assert "rotated rectangles were skipped" in imported.stderr

    from seatflow.store.engine import Database, make_engine

    db = Database(make_engine(db_url))
    try:
        stored = payloads(db, "cars")
    finally:
        db.dispose()
    gold = stored["7"]["gold"]
    assert gold["boxes"] == [{"label": "Car", "x": 80, "y": 120, "w": 200, "h": 180,
                              "attributes": {"plate": "B-AB 123"}},
                             {"label": "Person", "x": 400, "y": 60, "w": 80, "h": 240}]
    assert gold["polygons"] == [{"label": "Road", "points": [[0, 600], [400, 360], [800, 600]]}]
    assert gold["keypoints"] == [{"points": [[420, 90, 2], [440, 90, 2]]}]
    assert gold["class"] == "Day"
    assert stored["7"]["image"] == "/data/upload/1/3f2a-street.jpg"
    assert (stored["8"]["width"], stored["8"]["height"]) == (640, 480) and "gold" not in stored["8"]


def test_label_studio_predictions_and_export(database: Database, tmp_path: Path) -> None:
    make_project(database, "cars", "image_annotation", translate_config(IMAGE_CONFIG).label_schema)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(image_export()), encoding="utf-8")
    import_path(database, None, "cars", path, "labelstudio", mode="predictions")
    pred = payloads(database, "cars")["7"]["predictions"]
    assert pred["model"] == "yolo-v8-cars" and pred["score"] == 0.87
    assert pred["boxes"] == [{"label": "Car", "x": 88, "y": 126, "w": 192, "h": 174, "score": 0.87}]
    finish_all(database)
    with database.read() as conn:
        from seatflow.store import catalog

        project = catalog.project_by_slug(conn, "cars")
    tasks = json.loads(b"".join(exports.stream(database, CLI_ACTOR, project, "labelstudio")))
    by_ext = {t["data"]["external_id"]: t for t in tasks}
    task = by_ext["7"]
    assert task["predictions"][0]["model_version"] == "yolo-v8-cars"
    result = task["annotations"][0]["result"]
    assert result[0]["type"] == "rectanglelabels" and result[0]["value"]["rectanglelabels"] == ["Car"]
    assert result[0]["value"]["x"] == pytest.approx(11) and result[0]["value"]["width"] == pytest.approx(24)
    # our export imports again (Label Studio -> Seatflow -> Label Studio -> Seatflow)
    again = tmp_path / "again.json"
    again.write_text(json.dumps(tasks), encoding="utf-8")
    make_project(database, "cars2", "image_annotation", translate_config(IMAGE_CONFIG).label_schema)
    import_path(database, None, "cars2", again, "labelstudio", mode="gold")
    assert payloads(database, "cars2")["7"]["gold"]["boxes"] == [{"label": "Car", "x": 88, "y": 126, "w": 192,
                                                                  "h": 174}]


def test_label_studio_text_spans_use_utf16_offsets(database: Database, tmp_path: Path) -> None:
    make_project(database, "reviews", "text_annotation", translate_config(TEXT_CONFIG).label_schema)
    text = "😀 Alice works at ACME"  # the emoji is 2 UTF-16 units, 1 code point
    tasks = [{"id": 1, "data": {"text": text}, "annotations": [{"id": 1, "result": [
        {"id": "s1", "from_name": "ner", "to_name": "text", "type": "labels",
         "value": {"start": 3, "end": 8, "text": "Alice", "labels": ["PER"]}},
        {"id": "s2", "from_name": "ner", "to_name": "text", "type": "labels",
         "value": {"start": 18, "end": 22, "text": "ACME", "labels": ["ORG"]}},
        {"id": "c", "from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": ["positive"]}},
        {"id": "t", "from_name": "summary", "to_name": "text", "type": "textarea", "value": {"text": ["ok"]}}]}]}]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    result = import_path(database, None, "reviews", path, "labelstudio", mode="predictions")
    assert any("textarea results were skipped" in w for w in result.warnings.lines())
    pred = payloads(database, "reviews")["1"]["predictions"]
    assert [text[s["start"]:s["end"]] for s in pred["spans"]] == ["Alice", "ACME"]
    assert pred["classes"] == ["positive"] and pred["model"] == "labelstudio"
    finish_all(database)
    with database.read() as conn:
        from seatflow.store import catalog

        project = catalog.project_by_slug(conn, "reviews")
    out = json.loads(b"".join(exports.stream(database, CLI_ACTOR, project, "labelstudio")))
    spans = [r["value"] for r in out[0]["annotations"][0]["result"] if r["type"] == "labels"]
    assert [(s["start"], s["end"], s["text"]) for s in spans] == [(3, 8, "Alice"), (18, 22, "ACME")]


def test_unsupported_config_and_bad_tasks(database: Database, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no <Image> or <Text> object to annotate"):
        translate_config('<View><Audio name="a" value="$audio"/><Labels name="l" toName="a"/></View>')
    with pytest.raises(Exception, match="labels nothing Seatflow can hold"):
        translate_config('<View><Image name="i" value="$img"/><BrushLabels name="b" toName="i"/></View>')
    make_project(database, "cars", "image_annotation", translate_config(IMAGE_CONFIG).label_schema)
    tasks = image_export()
    tasks[1]["data"] = {"image": "x.jpg"}  # no size anywhere
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"export.json \[1\] \(task 8\): data: the image size is unknown"):
        import_path(database, None, "cars", path, "labelstudio", mode="gold")
    tasks = image_export()
    tasks[0]["annotations"][0]["result"][0]["value"]["rectanglelabels"] = ["Truck"]
    path.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"export.json \[0\] \(task 7\): payload.gold.boxes\[0\].label: 'Truck'"):
        import_path(database, None, "cars", path, "labelstudio", mode="gold")
    assert count_items(database, "cars") == 0
