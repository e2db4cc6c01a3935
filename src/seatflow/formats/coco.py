"""COCO instances and keypoints JSON, in and out.

Reading: the file is parsed as a stream (ijson) and staged in a throwaway SQLite file beside no
one: images, annotations and categories arrive in any order and reference each other, so every
reference (an annotation's ``image_id`` and ``category_id``, a category's keypoint names, a
category name that must be a project label) is checked on the staged data *before* the first
record is handed to the importer. An import is therefore all or nothing: a dangling reference
stops it with the element named (``annotations[7] (id 12): image_id: ...``) and no item is written.
Memory stays flat at any file size (the stage is on disk; only categories are held).

Each image becomes one item: ``external_id`` = ``file_name``, ``payload.image`` = the file copied
into the media store when it lies beside the JSON (``<dir>/<file_name>`` or ``<dir>/images/...``),
else ``coco_url`` when given, else ``file_name`` as a media path (upload the files yourself).
Annotations become the item's gold answer or model predictions (``--as``): ``bbox`` -> a box,
``keypoints`` -> a keypoint set (in the project's point order, matched by name), polygon
``segmentation`` -> polygons. Parts the project has no tool for are dropped with a listed warning;
RLE masks too.

Writing: ``categories`` from the project's labels (id = position + 1; the keypoint label carries
the point names and skeleton), then ``images`` streamed from the database while annotations are
spilled to a temporary file, then appended: the document is never held in memory. A box and the
keypoint set paired with it (see ``pair_keypoints``) are one annotation; a polygon joins the
smallest box of its label that holds it, else it is an annotation of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson

from seatflow import __version__
from seatflow.errors import ImportFailed
from seatflow.i18n.message import Msg

from ._common import (
    Entry,
    ExportContext,
    ExportRow,
    FormatRecord,
    ImportContext,
    Mode,
    RecordSource,
    attach,
    bad,
    finite,
    json_error,
    pair_keypoints,
    points_extent,
)

NAME = "coco"
SUFFIX = ".json"
MULTI_FILE = False
WORK_TYPES = ("image_annotation",)
_ARRAYS = {"images.item": "images", "annotations.item": "annotations", "categories.item": "categories"}


# -- reading -------------------------------------------------------------------------------------


class CocoSource(RecordSource):
    def __init__(self, path: Path, ctx: ImportContext) -> None:
        if ctx.work_type != "image_annotation":
            raise ImportFailed(Msg("{file}: COCO files hold image annotations; project {project!r} is a {work_type} "
                                   "project", file=path.name, project=ctx.project_slug, work_type=ctx.work_type),
                               file=str(path), field="format")
        self.path = path
        self.ctx = ctx
        self.categories: dict[str, dict[str, Any]] = {}
        self._tmp = tempfile.mkdtemp(prefix="seatflow-coco-")
        self.db = sqlite3.connect(os.path.join(self._tmp, "stage.db"))
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE images (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, file_name TEXT NOT NULL,"
            " width INTEGER, height INTEGER, url TEXT, cls TEXT);"
            "CREATE TABLE anns (seq INTEGER PRIMARY KEY, id TEXT, image_id TEXT, category_id TEXT, data TEXT);")
        try:
            self._stage()
        except BaseException:
            self.close()
            raise

    # a place in the input, for messages
    def _where(self, array: str, index: int, obj: Any = None) -> str:
        ident = f" (id {obj.get('id')})" if isinstance(obj, dict) and obj.get("id") is not None else ""
        return f"{self.path.name} {array}[{index}]{ident}"

    def _fail(self, array: str, index: int, obj: Any, field: str | None, message: Msg) -> None:
        bad(self._where(array, index, obj), message, file=self.path, line=index + 1, field=field)

    def _stage(self) -> None:
        counts = {"images": 0, "annotations": 0, "categories": 0}
        seen_keys: set[str] = set()
        try:
            with self.path.open("rb") as fh:
                builder: Any = None
                current = ""
                for prefix, event, value in ijson.parse(fh, use_float=True):
                    if builder is not None:
                        builder.event(event, value)
                        if prefix == current and event == "end_map":
                            array = _ARRAYS[current]
                            self._add(array, counts[array], builder.value)
                            counts[array] += 1
                            builder = None
                        continue
                    if prefix == "" and event == "map_key":
                        seen_keys.add(str(value))
                    elif prefix in _ARRAYS and event == "start_map":
                        builder = ijson.ObjectBuilder()
                        builder.event(event, value)
                        current = prefix
                    elif prefix in _ARRAYS:
                        array = _ARRAYS[prefix]
                        self._fail(array, counts[array], None, None,
                                   Msg("each entry of '{array}' must be an object", array=array))
                        counts[array] += 1
                    elif prefix in ("images", "annotations", "categories") and event not in (
                            "start_array", "end_array"):
                        raise ImportFailed(Msg("{file}: '{key}' must be a list", file=self.path.name, key=prefix),
                                           file=str(self.path),
                                           field=prefix)
                    elif prefix == "" and event not in ("start_map", "end_map", "map_key"):
                        raise ImportFailed(Msg("{file}: a COCO file is a JSON object with 'images', "
                                               "'annotations' and 'categories'", file=self.path.name),
                                           file=str(self.path))
        except ijson.JSONError as exc:
            raise ImportFailed(Msg("{file}: not valid JSON ({why})", file=self.path.name, why=json_error(exc)),
                               file=str(self.path)) from None
        except ijson.IncompleteJSONError as exc:  # pragma: no cover - a subclass of JSONError in most backends
            raise ImportFailed(Msg("{file}: the JSON ends too early ({why})", file=self.path.name,
                                   why=json_error(exc)),
                               file=str(self.path)) from None
        if "images" not in seen_keys:
            raise ImportFailed(Msg("{file}: no 'images' list; is this a COCO instances or keypoints file?",
                                   file=self.path.name),
                               file=str(self.path), field="images")
        self.db.execute("CREATE INDEX ix_anns_image ON anns (image_id, seq)")
        self.db.commit()
        self._check_references()

    def _add(self, array: str, index: int, obj: dict[str, Any]) -> None:
        if array == "images":
            self._add_image(index, obj)
        elif array == "annotations":
            for key in ("image_id", "category_id"):
                if obj.get(key) is None:
                    self._fail(array, index, obj, key, Msg("is missing"))
            self.db.execute("INSERT INTO anns (seq, id, image_id, category_id, data) VALUES (?, ?, ?, ?, ?)",
                            (index, _key(obj.get("id")), _key(obj["image_id"]), _key(obj["category_id"]),
                             json.dumps(obj)))
        else:
            self._add_category(index, obj)

    def _add_image(self, index: int, obj: dict[str, Any]) -> None:
        for key in ("id", "file_name"):
            if obj.get(key) in (None, ""):
                self._fail("images", index, obj, key, Msg("is missing"))
        for key in ("width", "height"):
            v = obj.get(key)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                self._fail("images", index, obj, key,
                           Msg("must be a whole number of pixels above 0, got {got!r}", got=v))
            obj[key] = v
        cls = obj.get("class")
        self.db.execute("INSERT INTO images (seq, id, file_name, width, height, url, cls) VALUES (?,?,?,?,?,?,?)",
                        (index, _key(obj["id"]), str(obj["file_name"]), obj["width"], obj["height"],
                         obj.get("coco_url") or None, cls if isinstance(cls, str) else None))

    def _add_category(self, index: int, obj: dict[str, Any]) -> None:
        if obj.get("id") is None or not isinstance(obj.get("name"), str) or not obj["name"].strip():
            self._fail("categories", index, obj, "name" if obj.get("id") is not None else "id",
                       Msg("each category needs an id and a name"))
        key = _key(obj["id"])
        if key in self.categories:
            self._fail("categories", index, obj, "id", Msg("category id {id} appears twice", id=obj["id"]))
        entry = {"name": obj["name"], "index": index, "keypoints": obj.get("keypoints") or []}
        self.categories[key] = entry

    def _check_references(self) -> None:
        db = self.db
        row = db.execute("SELECT id, MIN(seq), COUNT(*) FROM images GROUP BY id HAVING COUNT(*) > 1 LIMIT 1").fetchone()
        if row:
            self._fail("images", row[1], {"id": row[0]}, "id",
                       Msg("image id {id} appears {count} times", id=row[0], count=row[2]))
        row = db.execute("SELECT file_name, MIN(seq), COUNT(*) FROM images GROUP BY file_name HAVING COUNT(*) > 1 "
                         "LIMIT 1").fetchone()
        if row:
            self._fail("images", row[1], None, "file_name",
                       Msg("file_name {file_name!r} appears {count} times; it is the item's external_id",
                           file_name=row[0], count=row[2]))
        row = db.execute("SELECT a.seq, a.id, a.image_id FROM anns a LEFT JOIN images i ON i.id = a.image_id "
                         "WHERE i.id IS NULL ORDER BY a.seq LIMIT 1").fetchone()
        if row:
            missing = db.execute("SELECT COUNT(*) FROM anns a LEFT JOIN images i ON i.id = a.image_id "
                                 "WHERE i.id IS NULL").fetchone()[0]
            if missing > 1:
                message = Msg("image {image} is not in 'images' ({missing} annotations point to missing images); "
                              "nothing was imported", image=row[2], missing=missing)
            else:
                message = Msg("image {image} is not in 'images'; nothing was imported", image=row[2])
            self._fail("annotations", row[0], {"id": row[1]}, "image_id", message)
        for cat_id, seq, ann_id in db.execute("SELECT category_id, MIN(seq), id FROM anns GROUP BY category_id"):
            if cat_id not in self.categories:
                self._fail("annotations", seq, {"id": ann_id}, "category_id",
                           Msg("category {category} is not in 'categories'; nothing was imported", category=cat_id))
        if self.ctx.mode is Mode.ITEMS:
            return
        used = {r[0] for r in db.execute("SELECT DISTINCT category_id FROM anns")}
        labels = self.ctx.labels
        kp_names = self.ctx.keypoint_names
        for key, cat in self.categories.items():
            if key not in used:
                continue
            if cat["name"] not in labels:
                self._fail("categories", cat["index"], {"id": key}, "name",
                           Msg("{name!r} is not a label of project {project!r}; its labels are: {labels}",
                               name=cat["name"], project=self.ctx.project_slug,
                               labels=", ".join(labels) or Msg("(none)")))
            names = [str(n) for n in cat["keypoints"]]
            if names and "keypoints" in self.ctx.tools:
                unknown = [n for n in names if n not in kp_names]
                if unknown:
                    self._fail("categories", cat["index"], {"id": key}, "keypoints",
                               Msg("keypoint(s) {unknown} are not points of the project (its points: {points})",
                                   unknown=", ".join(unknown), points=", ".join(kp_names)))

    # -- records -----------------------------------------------------------------------------
    def _image_file(self, file_name: str) -> Path | None:
        base = self.path.parent
        for cand in (base / file_name, base / "images" / file_name):
            try:
                if cand.is_file() and base.resolve() in cand.resolve().parents:
                    return cand
            except OSError:
                continue
        return None

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        images = self.db.execute("SELECT seq, id, file_name, width, height, url, cls FROM images ORDER BY seq")
        ann_cursor = self.db.cursor()
        media = self.ctx.media
        for seq, image_id, file_name, width, height, url, cls in images:
            where = self._where("images", seq, {"id": image_id})
            local = self._image_file(file_name) if media is not None else None
            if local is not None and media is not None:
                ref = f"{self.ctx.project_slug}/{file_name}"
                if write:
                    media.put_file(ref, str(local))
            elif url:
                ref = url
            else:
                ref = file_name
                self.ctx.warnings.add("coco-no-files", Msg("image files were not found beside the COCO file; items "
                                          "refer to their file_name in the media store (upload the files there)"),
                                      where if not write else None)
            payload: dict[str, Any] = {"image": ref, "width": width, "height": height,
                                       "meta": {"file_name": file_name, "coco_id": _id_value(image_id)}}
            rows = ann_cursor.execute("SELECT seq, data FROM anns WHERE image_id = ? ORDER BY seq", (image_id,))
            answer, origins, scores = self._answer(rows, cls, write)
            score = max(scores) if scores else None
            attach(payload, answer, self.ctx, where, score=score, default_model="coco",
                   annotated=True)
            yield FormatRecord(str(self.path), seq + 1, {"external_id": file_name, "payload": payload},
                               where=where, origins=origins)

    def _answer(self, rows: Iterable[tuple[int, str]], cls: str | None,
                write: bool) -> tuple[dict[str, Any], dict[str, list[str]], list[float]]:
        tools = self.ctx.tools
        warn = self.ctx.warnings.add if not write else (lambda *a, **k: None)
        boxes: list[dict[str, Any]] = []
        kpsets: list[dict[str, Any]] = []
        polygons: list[dict[str, Any]] = []
        origins: dict[str, list[str]] = {"boxes": [], "keypoints": [], "polygons": []}
        scores: list[float] = []
        kp_names = self.ctx.keypoint_names
        for seq, data in rows:
            ann = json.loads(data)
            where = self._where("annotations", seq, ann)
            cat = self.categories[_key(ann["category_id"])]
            label = cat["name"]
            score = ann.get("score")
            if score is not None:
                score = finite(score, where, "score", file=self.path, line=seq + 1)
                if not 0 <= score <= 1:
                    bad(where, Msg("must be from 0 to 1, got {got}", got=score), file=self.path, line=seq + 1,
                        field="score")
                scores.append(score)
            bbox = ann.get("bbox")
            if bbox is not None:
                if not isinstance(bbox, list) or len(bbox) != 4:
                    bad(where, Msg("must be [x, y, width, height], got {got!r}", got=bbox), file=self.path,
                        line=seq + 1, field="bbox")
                x, y, w, h = (finite(v, where, "bbox", file=self.path, line=seq + 1) for v in bbox)
                if "bbox" in tools:
                    box: dict[str, Any] = {"label": label, "x": x, "y": y, "w": w, "h": h}
                    attrs = ann.get("attributes")
                    if isinstance(attrs, dict) and attrs:
                        box["attributes"] = attrs
                    if score is not None:
                        box["score"] = score
                    boxes.append(box)
                    origins["boxes"].append(where)
                elif not ann.get("keypoints") and not isinstance(ann.get("segmentation"), list):
                    warn("coco-no-bbox-tool", Msg("boxes were not imported: the project has no bbox tool"), where)
            kps = ann.get("keypoints")
            if kps:
                if not isinstance(kps, list) or len(kps) % 3:
                    bad(where, Msg("must be a flat list [x1, y1, v1, x2, y2, v2, ...]"), file=self.path,
                        line=seq + 1, field="keypoints")
                names = [str(n) for n in cat["keypoints"]]
                if len(kps) != 3 * len(names):
                    bad(where, Msg("has {points} points but category {label!r} names {names}", points=len(kps) // 3,
                                    label=label, names=len(names)),
                        file=self.path, line=seq + 1, field="keypoints")
                if "keypoints" not in tools:
                    warn("coco-no-kp-tool", Msg("keypoints were not imported: the project has no keypoints tool"),
                         where)
                else:
                    by_name = {}
                    for j, name in enumerate(names):
                        px, py, v = (finite(kps[3 * j + k], where, "keypoints", file=self.path, line=seq + 1)
                                     for k in range(3))
                        by_name[name] = [px, py, int(v)]
                    points = [by_name.get(n, [0, 0, 0]) for n in kp_names]
                    if any(p[2] > 0 for p in points):
                        kset: dict[str, Any] = {"label": label, "points": points}
                        if score is not None:
                            kset["score"] = score
                        kpsets.append(kset)
                        origins["keypoints"].append(where)
            seg = ann.get("segmentation")
            if isinstance(seg, dict) and seg:
                warn("coco-rle", Msg("RLE masks were not imported (Seatflow keeps polygons)"), where)
            elif isinstance(seg, list) and seg:
                if "polygon" not in tools:
                    warn("coco-no-polygon-tool",
                         Msg("segmentation polygons were not imported: the project has no polygon tool"), where)
                else:
                    for ring in seg:
                        if not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2:
                            bad(where, Msg("each polygon must be a flat list [x1, y1, x2, y2, ...] of 3 points or "
                                           "more"), file=self.path, line=seq + 1, field="segmentation")
                        coords = [finite(v, where, "segmentation", file=self.path, line=seq + 1) for v in ring]
                        poly: dict[str, Any] = {"label": label,
                                                "points": [[coords[k], coords[k + 1]] for k in range(0, len(coords),
                                                                                                     2)]}
                        if score is not None:
                            poly["score"] = score
                        polygons.append(poly)
                        origins["polygons"].append(where)
        answer: dict[str, Any] = {}
        if boxes:
            answer["boxes"] = boxes
        if kpsets:
            answer["keypoints"] = kpsets
        if polygons:
            answer["polygons"] = polygons
        if cls is not None and "classify" in tools:
            answer["class"] = cls
        return answer, origins, scores

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _id_value(key: str) -> int | str:
    return int(key) if key.lstrip("-").isdigit() else key


def read(path: Path, ctx: ImportContext) -> RecordSource:
    if path.is_dir():
        found = sorted(path.glob("*.json"))
        if len(found) != 1:
            raise ImportFailed(Msg("{path}: name the COCO JSON file (the folder holds {count} .json files)",
                                   path=str(path), count=len(found)),
                               file=str(path))
        path = found[0]
    return CocoSource(path, ctx)


# -- writing -------------------------------------------------------------------------------------


def categories(ctx: ExportContext) -> list[dict[str, Any]]:
    out = []
    kp_label = ctx.keypoint_label
    kp = ctx.schema.get("keypoints") or {}
    only_kp = not ctx.labels and ctx.keypoint_names
    names = ctx.labels or (["object"] if only_kp else [])
    for i, name in enumerate(names, start=1):
        cat: dict[str, Any] = {"id": i, "name": name, "supercategory": ""}
        if ctx.keypoint_names and (name == kp_label or only_kp or (kp_label is None and len(names) == 1)):
            cat["keypoints"] = ctx.keypoint_names
            cat["skeleton"] = [[a + 1, b + 1] for a, b in (kp.get("skeleton") or [])]
        out.append(cat)
    return out


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _polygon_area(points: list[list[float]]) -> float:
    s = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def annotations_of(row: ExportRow, image_id: int, ctx: ExportContext, cat_ids: dict[str, int],
                   kp_cat: str | None) -> list[dict[str, Any]]:
    """The COCO annotations of one item's answer (ids are filled in by the writer)."""
    answer = row.answer or {}
    n_kp = len(ctx.keypoint_names)
    out: list[dict[str, Any]] = []
    pairs = pair_keypoints(answer, kp_cat)
    anns_by_box: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for box, kps in pairs:
        label = (box or {}).get("label") or (kps or {}).get("label") or kp_cat
        if label not in cat_ids:
            ctx.warnings.add("coco-unknown-label", Msg("shapes whose label is not in the project were skipped"),
                             row.external_id)
            continue
        ann: dict[str, Any] = {"image_id": image_id, "category_id": cat_ids[label], "iscrowd": 0,
                               "segmentation": []}
        if box is not None:
            bbox = [box["x"], box["y"], box["w"], box["h"]]
        else:
            ext = points_extent((kps or {}).get("points") or [])
            bbox = list(ext) if ext else [0, 0, 0, 0]
        ann["bbox"] = [_num(v) for v in bbox]
        ann["area"] = _num(bbox[2] * bbox[3])
        if n_kp and label == kp_cat:
            pts = (kps or {}).get("points") or [[0, 0, 0]] * n_kp
            ann["keypoints"] = [_num(v) for p in pts for v in (p[0], p[1], int(p[2]))]
            ann["num_keypoints"] = sum(1 for p in pts if p[2] > 0)
        if box is not None and box.get("attributes"):
            ann["attributes"] = box["attributes"]
        out.append(ann)
        if box is not None:
            anns_by_box.append((box, ann))
    for poly in answer.get("polygons") or []:
        label = poly["label"]
        if label not in cat_ids:
            continue
        points = [list(p) for p in poly["points"]]
        ring = [_num(v) for p in points for v in p]
        ext = points_extent(points)
        assert ext is not None
        holder = None
        for box, ann in anns_by_box:
            if box["label"] == label and _holds(box, ext):
                if holder is None or box["w"] * box["h"] < holder[0]["w"] * holder[0]["h"]:
                    holder = (box, ann)
        if holder is not None:
            holder[1]["segmentation"].append(ring)
            if len(holder[1]["segmentation"]) == 1:
                holder[1]["area"] = _num(_polygon_area(points))
            else:
                holder[1]["area"] = _num(holder[1]["area"] + _polygon_area(points))
            continue
        out.append({"image_id": image_id, "category_id": cat_ids[label], "iscrowd": 0, "segmentation": [ring],
                    "bbox": [_num(v) for v in ext], "area": _num(_polygon_area(points))})
    return out


def _holds(box: dict[str, Any], ext: tuple[float, float, float, float], tol: float = 1.0) -> bool:
    x, y, w, h = ext
    return (box["x"] - tol <= x and box["y"] - tol <= y and x + w <= box["x"] + box["w"] + tol
            and y + h <= box["y"] + box["h"] + tol)


def write(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[Entry]:
    yield Entry(f"{ctx.project_slug}.coco.json", _document(rows, ctx))


def _document(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[bytes]:
    cats = categories(ctx)
    cat_ids = {c["name"]: c["id"] for c in cats}
    kp_cat = next((c["name"] for c in cats if "keypoints" in c), None)
    info = {"description": f"Seatflow export of project {ctx.project_slug}", "version": __version__,
            "date_created": datetime.now(UTC).isoformat(timespec="seconds"), "contributor": "seatflow"}
    head = (f'{{"info":{json.dumps(info, ensure_ascii=False)},"licenses":[],'
            f'"categories":{json.dumps(cats, ensure_ascii=False)},"images":[')
    yield head.encode()
    spill = tempfile.TemporaryFile(mode="w+b")
    try:
        first = True
        ann_id = 0
        buf: list[str] = []
        for row in rows:
            payload = row.payload
            meta = payload.get("meta") or {}
            image: dict[str, Any] = {"id": row.item_id, "file_name": meta.get("file_name") or payload.get("image"),
                                     "width": payload.get("width"), "height": payload.get("height"),
                                     "seatflow_external_id": row.external_id}
            if str(payload.get("image", "")).startswith(("http://", "https://")):
                image["coco_url"] = payload["image"]
            answer = row.answer or {}
            if answer.get("class") is not None:
                image["class"] = answer["class"]
            buf.append(("" if first else ",") + json.dumps(image, ensure_ascii=False))
            first = False
            ctx.count("images")
            for ann in annotations_of(row, row.item_id, ctx, cat_ids, kp_cat):
                ann_id += 1
                ann["id"] = ann_id
                spill.write((b"," if ann_id > 1 else b"") + json.dumps(ann, ensure_ascii=False).encode())
            if len(buf) >= 500:
                yield "".join(buf).encode()
                buf.clear()
        if buf:
            yield "".join(buf).encode()
        ctx.count("annotations", ann_id)
        yield b'],"annotations":['
        spill.seek(0)
        while chunk := spill.read(1 << 16):
            yield chunk
        yield b"]}\n"
    finally:
        spill.close()
