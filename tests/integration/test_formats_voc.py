"""Pascal VOC in and out: boxes keep their 1-based inclusive pixel corners, flags become attributes, bad
files import nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml.ElementTree import parse
from tests.integration._formats import count_items, finish_all, make_image, make_project, payloads

from seatflow.commands._common import CLI_ACTOR
from seatflow.errors import ImportFailed
from seatflow.formats.importer import import_path
from seatflow.media import LocalMediaStore
from seatflow.services import exports
from seatflow.store.engine import Database

SCHEMA = {"labels": [{"name": "dog"}, {"name": "person"}], "tools": ["bbox"],
          "attributes": [{"name": "difficult", "type": "bool"}, {"name": "truncated", "type": "bool"}]}


def voc_xml(filename: str, width: int, height: int, objects: list[tuple[str, int, int, int, int, int]]) -> str:
    objs = "".join(
        f"<object><name>{name}</name><pose>Left</pose><truncated>0</truncated><difficult>{d}</difficult>"
        f"<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, x1, y1, x2, y2, d in objects)
    return (f"<annotation><folder>VOC2012</folder><filename>{filename}</filename><size><width>{width}</width>"
            f"<height>{height}</height><depth>3</depth></size><segmented>0</segmented>{objs}</annotation>")


def write_voc(root: Path, files: dict[str, str]) -> Path:
    (root / "Annotations").mkdir(parents=True)
    for name, xml in files.items():
        (root / "Annotations" / name).write_text(xml, encoding="utf-8")
    make_image(root / "JPEGImages" / "2008_000008.jpg", 500, 442)
    return root


def test_voc_round_trip(database: Database, tmp_path: Path) -> None:
    make_project(database, "pets", "image_annotation", SCHEMA)
    src = write_voc(tmp_path / "VOC", {
        "2008_000008.xml": voc_xml("2008_000008.jpg", 500, 442, [("dog", 53, 87, 471, 420, 0),
                                                                  ("person", 158, 44, 289, 167, 1)]),
        "2008_000015.xml": voc_xml("2008_000015.jpg", 300, 200, []),
    })
    media = LocalMediaStore(tmp_path / "media", "s")
    result = import_path(database, None, "pets", src, "voc", mode="predictions", media=media)
    assert result.report.imported == 2
    assert any("<pose> was dropped" in w for w in result.warnings.lines())
    assert any("image files were not found" in w and "2008_000015" in w for w in result.warnings.lines())
    stored = payloads(database, "pets")["2008_000008.jpg"]
    assert stored["image"] == "pets/2008_000008.jpg" and (tmp_path / "media/pets/2008_000008.jpg").is_file()
    assert stored["predictions"]["boxes"] == [
        {"label": "dog", "x": 52, "y": 86, "w": 419, "h": 334, "attributes": {"difficult": False, "truncated": False}},
        {"label": "person", "x": 157, "y": 43, "w": 132, "h": 124,
         "attributes": {"difficult": True, "truncated": False}}]
    finish_all(database)
    out = tmp_path / "out.zip"
    res = exports.export_to_path(database, CLI_ACTOR, "pets", "voc", out)
    import zipfile

    with zipfile.ZipFile(out) as zf:
        xml = zf.read("Annotations/2008_000008.xml")
        assert zf.read("ImageSets/Main/default.txt") == b"2008_000008\n2008_000015\n"
        assert zf.read("labels.txt") == b"dog\nperson\n"
    (tmp_path / "x.xml").write_bytes(xml)
    root = parse(str(tmp_path / "x.xml")).getroot()
    boxes = [(o.findtext("name"), *(int(o.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax")),
              o.findtext("difficult")) for o in root.findall("object")]
    assert boxes == [("dog", 53, 87, 471, 420, "0"), ("person", 158, 44, 289, 167, "1")]
    assert root.findtext("size/width") == "500"
    assert res.manifest_data["counts"] == {"images": 2, "objects": 2}


@pytest.mark.parametrize(("xml", "message"), [
    ("<annotation><filename>b.jpg</filename><size><width>10</width><height>10</height></size><object><name>dog"
     "</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>x</xmax><ymax>5</ymax></bndbox></object></annotation>",
     "Annotations/b.xml object[0]: bndbox/xmax: must be a number, got 'x'"),
    ("<annotation><filename>b.jpg</filename><size><width>10</width></size></annotation>",
     "Annotations/b.xml: size/height: must be a whole number of pixels"),
    ("<annotation><filename>b.jpg</filename", "Annotations/b.xml:1: not valid XML"),
    ("<annotation><filename>b.jpg</filename><size><width>10</width><height>10</height></size><object><name>cat"
     "</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>5</ymax></bndbox></object></annotation>",
     "payload.gold.boxes[0].label: 'cat' is not a label of this project"),
])
def test_malformed_voc_imports_nothing(database: Database, tmp_path: Path, xml: str, message: str) -> None:
    make_project(database, "pets", "image_annotation", SCHEMA)
    src = write_voc(tmp_path / "VOC", {"a.xml": voc_xml("a.jpg", 20, 20, [("dog", 1, 1, 5, 5, 0)]), "b.xml": xml})
    with pytest.raises(ImportFailed) as err:
        import_path(database, None, "pets", src, "voc", mode="gold")
    assert message in err.value.detail
    assert count_items(database, "pets") == 0
