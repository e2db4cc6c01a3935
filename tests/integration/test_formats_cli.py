"""The CLI's import --format/--as/--map and export --format with a manifest; gold items stay hidden from workers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pycocotools.coco import COCO
from tests.integration._formats import FACE_SCHEMA, count_items, finish_all, make_project, payloads
from tests.integration.conftest import Center
from tests.integration.test_formats_coco import coco_doc, write_coco
from tests.integration.test_quality_gold import set_quality
from typer.testing import CliRunner

from seatflow.cli import app
from seatflow.store.engine import Database, make_engine

runner = CliRunner()


@pytest.fixture
def cli_db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    db = Database(make_engine(db_url))
    yield db
    db.dispose()


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def test_csv_with_a_column_mapping_as_gold(cli_db: Database, tmp_path: Path) -> None:
    make_project(cli_db, "faces", "image_annotation", FACE_SCHEMA)
    path = tmp_path / "photos.csv"
    path.write_text("id,url,w,h,light\np1,https://cdn.example.com/p1.jpg,640,480,day\n"
                    "p2,https://cdn.example.com/p2.jpg,320,240,night\n", encoding="utf-8")
    out = run("import", "faces", str(path), "--as", "gold", "--map", "id=external_id", "--map", "url=payload.image",
              "--map", "w=payload.width", "--map", "h=payload.height", "--map", "light=answer.class")
    assert "photos.csv: checked 2, imported 2, skipped 0" in out.stdout
    stored = payloads(cli_db, "faces")
    assert stored["p2"] == {"image": "https://cdn.example.com/p2.jpg", "width": 320, "height": 240,
                            "gold": {"class": "night"}, "meta": {}}
    # a bad cell stops it before anything is written, naming file, line and column
    path.write_text("id,url,w,h,light\np3,x.jpg,640,480,day\np4,y.jpg,640,480,dusk\n", encoding="utf-8")
    err = run("import", "faces", str(path), "--as", "gold", "--map", "id=external_id", "--map", "url=payload.image",
              "--map", "w=payload.width", "--map", "h=payload.height", "--map", "light=answer.class", code=1).stderr
    assert "photos.csv:3: payload.gold.class: 'dusk' is not a class of this project" in err
    assert "nothing was imported" in err and count_items(cli_db, "faces") == 2
    assert "--as must be items, predictions or gold" in run("import", "faces", str(path), "--as", "x", code=1).stderr
    assert "need --format" in run("import", "faces", str(tmp_path), "--as", "gold", code=1).stderr
    assert "unknown format 'tiff'" in run("import", "faces", str(path), "--format", "tiff", code=1).stderr


def test_coco_in_and_out_on_the_command_line(cli_db: Database, tmp_path: Path) -> None:
    make_project(cli_db, "street", "image_annotation", FACE_SCHEMA)
    source = write_coco(tmp_path / "in", coco_doc())
    out = run("import", "street", str(source), "--format", "coco", "--as", "predictions", "--model", "det-7")
    assert "checked 3, imported 3" in out.stdout
    assert (tmp_path / "home" / "media" / "street" / "street" / "a.jpg").is_file()
    assert payloads(cli_db, "street")["empty.jpg"]["image"] == "street/empty.jpg"
    again = run("import", "street", str(source), "--format", "coco", "--as", "predictions")
    assert "checked 3, all 3 already there: nothing imported, no batch made" in again.stdout
    finish_all(cli_db)

    target = tmp_path / "out" / "street.json"
    done = run("export", "street", "--format", "coco", "--out", str(target))
    assert "exported street as coco" in done.stderr and "images 3, annotations 4" in done.stderr
    manifest = json.loads((tmp_path / "out" / "street.json.manifest.json").read_text())
    assert manifest["project"]["slug"] == "street" and manifest["format"] == "coco" and manifest["batch"] is None
    assert manifest["files"] == [{"path": "street.json", "bytes": target.stat().st_size,
                                  "sha256": hashlib.sha256(target.read_bytes()).hexdigest()}]
    assert len(COCO(str(target)).getAnnIds()) == 4

    folder = tmp_path / "yolo-out"
    run("export", "street", "--format", "yolo", "--out", str(folder), "--with-media")
    assert (folder / "images" / "street" / "a.jpg").is_file() and (folder / "manifest.json").is_file()
    assert "give --out FOLDER or --out FILE.zip" in run("export", "street", "--format", "voc", code=1).stderr
    assert "exists and is not an empty folder" in run("export", "street", "--format", "yolo", "--out", str(folder),
                                                      code=1).stderr
    stdout = run("export", "street", "--format", "labelstudio").stdout
    assert len(json.loads(stdout)) == 3

    # the export folder imports back through its manifest (checksums verified first)
    make_project(cli_db, "street2", "image_annotation", FACE_SCHEMA)
    assert "checked 3, imported 3" in run("import", "street2", str(folder), "--format", "manifest", "--as",
                                          "gold").stdout
    assert payloads(cli_db, "street2")["street/b.jpg"]["gold"]["boxes"][0]["label"] == "dog"
    (folder / "labels" / "street" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    make_project(cli_db, "street3", "image_annotation", FACE_SCHEMA)
    err = run("import", "street3", str(folder), "--format", "manifest", "--as", "gold", code=1).stderr
    assert "labels/street/a.txt does not match its checksum" in err and count_items(cli_db, "street3") == 0


@pytest.mark.parametrize("fmt", ["coco", "labelstudio"])
def test_broken_json_is_one_line_naming_the_file(cli_db: Database, tmp_path: Path, fmt: str) -> None:
    # ijson's C backend said b'lexical error: ...\n <the text> \n (right here) ------^\n' over three lines
    make_project(cli_db, "faces", "image_annotation", FACE_SCHEMA)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"images": [{"file_name": "café.jpg"}]}'.encode("latin-1"))
    cut = tmp_path / "cut.json"
    cut.write_text('{"images": [', encoding="utf-8")
    for path, says in ((latin, "save the file as UTF-8"), (cut, "premature EOF")):
        err = run("import", "faces", str(path), "--format", fmt, code=1).stderr
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"error: {path.name}: not valid JSON (") and says in last, err
        assert last.endswith("nothing was imported") and "b'" not in last and "right here" not in err


def test_gold_answers_are_hidden_from_workers(center: Center) -> None:
    resp = center.post("manager", "/api/v1/projects/acme-faces/items", json={"items": [
        {"external_id": "face-9", "priority": 1000, "payload": {
            "image": "faces/9.jpg", "width": 640, "height": 480,
            "gold": {"boxes": [{"label": "face", "x": 10, "y": 10, "w": 50, "h": 50}]}}}]})
    assert resp.status_code == 201, resp.text
    set_quality(center, "acme-faces", gold_rate=1.0)  # gold comes at a rate: make this lease the gold one
    lease = center.lease("ann1", "acme-faces")
    assert lease["item"]["external_id"] == "face-9"
    assert "gold" not in lease["item"]["payload"] and "gold" not in json.dumps(lease)
    item_id = lease["item"]["id"]
    assert "gold" not in center.get("ann1", f"/api/v1/items/{item_id}").json()["payload"]
    assert center.get("manager", f"/api/v1/items/{item_id}").json()["payload"]["gold"]["boxes"][0]["w"] == 50
