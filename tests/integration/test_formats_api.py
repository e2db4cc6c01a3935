"""The formats over HTTP: import an upload in a format, export streamed in any format (zip for YOLO/VOC),
background export jobs with status and download, and the exports page."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from tests.integration._formats import FACE_SCHEMA, finish_all, make_image, make_project
from tests.integration.conftest import Center
from tests.integration.test_formats_coco import coco_doc


def _street(center: Center) -> None:
    make_project(center.db, "acme-street", "image_annotation", FACE_SCHEMA, client="acme", worker="street-w")


def _token(center: Center, username: str) -> str:
    from seatflow.services import accounts

    with center.db.write() as conn:
        return accounts.create_token(conn, None, username=username, name="tests")


def _upload(center: Center, user: str, url: str, name: str, body: bytes) -> Any:
    return center.post(user, url, files={"file": (name, body, "application/octet-stream")})


def test_import_in_a_format_over_http(center: Center) -> None:
    _street(center)
    doc = coco_doc()
    resp = _upload(center, "manager", "/api/v1/projects/acme-street/imports/coco?as=predictions&model=det-2",
                   "instances.json", json.dumps(doc).encode())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["checked"], body["imported"], body["error"]) == (3, 3, None)
    assert body["warnings"][0]["message"].startswith("image files were not found")
    item = center.row("items", external_id="street/a.jpg")
    assert item.payload["predictions"]["model"] == "det-2"

    before = center.counts()
    doc["annotations"][3]["image_id"] = 404
    bad = _upload(center, "manager", "/api/v1/projects/acme-street/imports/coco?as=gold", "broken.json",
                  json.dumps(doc).encode())
    center.problem(bad, 422, field="image_id", says="broken.json annotations[3] (id 104): image_id: image 404")
    assert center.counts() == before, "a refused import writes nothing"
    center.seed.tokens["street-w"] = _token(center, "street-w")
    center.problem(_upload(center, "street-w", "/api/v1/projects/acme-street/imports/coco", "x.json", b"{}"), 403)
    center.problem(_upload(center, "ann1", "/api/v1/projects/acme-street/imports/coco", "x.json", b"{}"), 404)
    center.problem(_upload(center, "globex-ops", "/api/v1/projects/acme-street/imports/coco", "x.json", b"{}"), 404)
    center.problem(center.post("manager", "/api/v1/projects/acme-street/imports/tiff",
                               files={"file": ("x", b"", "text/plain")}), 422)


def test_yolo_zip_upload(center: Center, tmp_path: Path) -> None:
    _street(center)
    buf = io.BytesIO()
    make_image(tmp_path / "a.jpg", 100, 50)
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("dataset/data.yaml", "names: [person, car, dog]\n")
        zf.write(tmp_path / "a.jpg", "dataset/images/a.jpg")
        zf.writestr("dataset/labels/a.txt", "1 0.5 0.5 0.2 0.2\n")
    resp = _upload(center, "manager", "/api/v1/projects/acme-street/imports/yolo?as=gold", "set.zip", buf.getvalue())
    assert resp.status_code == 201, resp.text
    item = center.row("items", external_id="a.jpg")
    assert item.payload["gold"] == {"boxes": [{"label": "car", "x": 40.0, "y": 20.0, "w": 20.0, "h": 10.0}]}
    assert (Path(center.app.state.settings.resolved_media_dir()) / "acme-street" / "a.jpg").is_file()


def test_streamed_exports_and_access(center: Center) -> None:
    _street(center)
    _upload(center, "manager", "/api/v1/projects/acme-street/imports/coco?as=predictions", "instances.json",
            json.dumps(coco_doc()).encode())
    assert finish_all(center.db, "street-w") == 3
    coco = center.get("acme-ops", "/api/v1/projects/acme-street/export?format=coco")
    assert coco.status_code == 200, coco.text
    assert coco.headers["content-disposition"] == 'attachment; filename="acme-street.coco.json"'
    assert len(coco.json()["annotations"]) == 4
    yolo = center.get("manager", "/api/v1/projects/acme-street/export?format=yolo")
    assert yolo.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(yolo.content)) as zf:
        assert zf.testzip() is None
        assert {"data.yaml", "labels/street/a.txt", "labels/street/b.txt", "labels/empty.txt"} <= set(zf.namelist())
    csv = center.get("manager", "/api/v1/projects/acme-street/export?format=csv")
    assert csv.text.splitlines()[0] == "external_id,item_id,batch_id,done_at,answer.boxes,answer.keypoints," \
                                       "answer.polygons,answer.class,payload"
    center.problem(center.get("manager", "/api/v1/projects/acme-text/export?format=yolo"), 422, field="format")
    center.problem(center.get("manager", "/api/v1/projects/acme-street/export?format=tiff"), 422)
    center.seed.tokens["street-w"] = _token(center, "street-w")
    center.problem(center.get("street-w", "/api/v1/projects/acme-street/export?format=coco"), 403)
    center.problem(center.get("globex-ops", "/api/v1/projects/acme-street/export?format=coco"), 404)


def test_background_export_job_status_download_and_page(center: Center) -> None:
    _street(center)
    _upload(center, "manager", "/api/v1/projects/acme-street/imports/coco?as=predictions", "instances.json",
            json.dumps(coco_doc()).encode())
    finish_all(center.db, "street-w")
    started = center.post("acme-ops", "/api/v1/projects/acme-street/exports", json={"format": "labelstudio"})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    center.app.state.export_jobs.wait(job_id, timeout=60)
    status = center.get("acme-ops", f"/api/v1/exports/{job_id}").json()
    assert status["state"] == "done" and status["rows"] == 3 and status["total"] == 3, status
    assert status["counts"] == {"annotations": 3, "tasks": 3}
    download = center.get("acme-ops", status["links"]["download"])
    assert download.status_code == 200
    assert len(json.loads(download.content)) == 3
    manifest = center.get("acme-ops", f"/api/v1/exports/{job_id}/manifest").json()
    import hashlib

    assert manifest["files"][0]["sha256"] == hashlib.sha256(download.content).hexdigest()
    assert manifest["project"]["slug"] == "acme-street" and manifest["format"] == "labelstudio"
    listed = center.get("manager", "/api/v1/exports").json()
    assert [j["id"] for j in listed["items"]] == [job_id] and listed["total"] == 1
    assert center.get("globex-ops", "/api/v1/exports").json()["items"] == []
    center.problem(center.get("globex-ops", f"/api/v1/exports/{job_id}"), 404)
    center.problem(center.get("ann1", f"/api/v1/exports/{job_id}"), 404)
    center.problem(center.post("manager", "/api/v1/projects/acme-text/exports", json={"format": "coco"}), 422,
                   field="format")

    page = center.get("manager", "/exports")
    assert page.status_code == 200
    assert f'data-export="{job_id}"' in page.text and f"/api/v1/exports/{job_id}/download" in page.text
    assert center.get("ann1", "/exports").status_code == 403
    form = center.client.post("/exports", data={"project": "acme-street", "format": "jsonl"},
                              headers=center.as_("manager"), follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"].startswith("/exports?started=")
    new_id = form.headers["location"].split("=", 1)[1]
    center.app.state.export_jobs.wait(new_id, timeout=60)
    assert center.get("manager", f"/api/v1/exports/{new_id}").json()["state"] == "done"
