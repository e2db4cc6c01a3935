"""YOLO detection and pose datasets (the Ultralytics layout), in and out.

Layout: ``data.yaml`` (``names``; ``kpt_shape: [K, 2|3]`` for pose), ``images/**`` and, mirroring it,
``labels/**.txt``: one object per line, ``class cx cy w h`` normalised to 0..1, followed for pose by K
points ``x y [v]``. A ``classes.txt`` (one name per line) may stand in for ``data.yaml``; images with
their ``.txt`` side by side (Darknet) are read too. Segmentation lines (``class x1 y1 x2 y2 ...``)
import as polygons when the project has the polygon tool.

Reading: an image's label file is read with the image (only that image's size is needed), so the
records stream; the names, the point count and every number are checked on the checking pass
before anything is written (a line with 4 numbers stops the import with ``labels/a.txt:3``).
Image files are copied into the media store under ``<project>/<path>`` on the writing pass only;
the path below ``images/`` is the item's external id.

Writing: ``data.yaml``, ``labels/<path>.txt`` for every done item (empty when it has no objects)
and, with media, ``images/<path>``. Numbers are written with 6 decimals, as Ultralytics does, so a
YOLO dataset imported and exported again gives the same label files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from seatflow.errors import ImportFailed
from seatflow.i18n.message import Msg
from seatflow.services.imports import IMAGE_SUFFIXES

from ._common import (
    Entry,
    ExportContext,
    ExportRow,
    FormatRecord,
    ImportContext,
    RecordSource,
    attach,
    bad,
    media_entry,
    media_file_name,
    pair_keypoints,
    points_extent,
)

NAME = "yolo"
SUFFIX = ".zip"
MULTI_FILE = True
WORK_TYPES = ("image_annotation",)
TOLERANCE = 1e-3  # normalised coordinates may stick out of 0..1 by this much (rounding in tools)
_NO_TOOL = {  # shapes in the input that the project has no tool for
    "bbox": Msg("boxes were not imported: the project has no bbox tool"),
    "keypoints": Msg("keypoints were not imported: the project has no keypoints tool"),
    "polygon": Msg("polygons were not imported: the project has no polygon tool"),
}


# -- reading -------------------------------------------------------------------------------------


class YoloSource(RecordSource):
    def __init__(self, path: Path, ctx: ImportContext) -> None:
        yaml_file: Path | None
        if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
            self.root, yaml_file = path.parent, path
        elif path.is_dir():
            self.root = path
            yaml_file = next((p for p in (path / "data.yaml", path / "dataset.yaml") if p.is_file()), None)
        else:
            raise ImportFailed(Msg("{path}: name a YOLO dataset folder (with data.yaml, images/ and labels/)",
                                   path=str(path)),
                               file=str(path))
        self.ctx = ctx
        self.names, self.kpt_shape = self._names(yaml_file)
        if yaml_file is not None:
            base = yaml.safe_load(yaml_file.read_text(encoding="utf-8")) or {}
            if isinstance(base, dict) and isinstance(base.get("path"), str) and (self.root / base["path"]).is_dir():
                self.root = (self.root / base["path"]).resolve()
        self.images_dir = self.root / "images" if (self.root / "images").is_dir() else self.root
        self.labels_dir = self.root / "labels" if (self.root / "labels").is_dir() else None
        if ctx.mode.value != "items":
            unknown = [n for n in self.names if n not in ctx.labels]
            if unknown:
                raise ImportFailed(Msg("{file}: names: {names} are not labels of project {project!r} (its labels: "
                                       "{labels})", file=self._yaml_name, names=", ".join(map(repr, unknown)),
                                       project=ctx.project_slug, labels=", ".join(ctx.labels) or Msg("(none)")),
                                   file=str(yaml_file or self.root), field="names")
            if self.kpt_shape and len(ctx.keypoint_names) != self.kpt_shape[0]:
                raise ImportFailed(Msg("{file}: kpt_shape: {points} points per object, the project has {count} "
                                       "({names})", file=self._yaml_name, points=self.kpt_shape[0],
                                       count=len(ctx.keypoint_names), names=", ".join(ctx.keypoint_names)),
                                   file=str(yaml_file), field="kpt_shape")

    def _names(self, yaml_file: Path | None) -> tuple[list[str], tuple[int, int] | None]:
        self._yaml_name = yaml_file.name if yaml_file else "classes.txt"
        if yaml_file is None:
            classes = self.root / "classes.txt"
            if not classes.is_file():
                raise ImportFailed(Msg("{path}: no data.yaml or classes.txt naming the classes", path=str(self.root)),
                                   file=str(self.root))
            return [ln.strip() for ln in classes.read_text(encoding="utf-8").splitlines() if ln.strip()], None
        try:
            data = yaml.safe_load(yaml_file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ImportFailed(Msg("{file}: not valid YAML ({why})", file=yaml_file.name, why=str(exc)),
                               file=str(yaml_file)) from None
        if not isinstance(data, dict) or "names" not in data:
            raise ImportFailed(Msg("{file}: no 'names' (the class names)", file=yaml_file.name), file=str(yaml_file),
                               field="names")
        raw = data["names"]
        if isinstance(raw, dict):
            try:
                order = sorted(int(k) for k in raw)
            except (TypeError, ValueError):
                raise ImportFailed(Msg("{file}: names: keys must be class numbers", file=yaml_file.name),
                                   file=str(yaml_file),
                                   field="names") from None
            if order != list(range(len(order))):
                raise ImportFailed(Msg("{file}: names: class numbers must run 0..{last}", file=yaml_file.name,
                                       last=len(order) - 1),
                                   file=str(yaml_file), field="names")
            names = [str(raw[k] if k in raw else raw[str(k)]) for k in order]
        elif isinstance(raw, list):
            names = [str(n) for n in raw]
        else:
            raise ImportFailed(Msg("{file}: names must be a list or a mapping", file=yaml_file.name),
                               file=str(yaml_file),
                               field="names")
        kpt = data.get("kpt_shape")
        shape = None
        if kpt is not None:
            if (not isinstance(kpt, list) or len(kpt) != 2 or not all(isinstance(v, int) for v in kpt)
                    or kpt[1] not in (2, 3) or kpt[0] < 1):
                raise ImportFailed(Msg("{file}: kpt_shape must be [points, 2 or 3], got {got!r}", file=yaml_file.name,
                                       got=kpt),
                                   file=str(yaml_file), field="kpt_shape")
            shape = (kpt[0], kpt[1])
        return names, shape

    def _label_file(self, image: Path) -> Path:
        rel = image.relative_to(self.images_dir)
        if self.labels_dir is not None:
            return (self.labels_dir / rel).with_suffix(".txt")
        return image.with_suffix(".txt")

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        from PIL import Image, UnidentifiedImageError

        images = sorted(p for p in self.images_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                        and (self.labels_dir is None or self.labels_dir not in p.parents))
        for n, image in enumerate(images, start=1):
            rel = image.relative_to(self.images_dir).as_posix()
            try:
                with Image.open(image) as im:
                    width, height = im.size
            except (UnidentifiedImageError, OSError) as exc:
                raise ImportFailed(Msg("{file}: not a readable image ({why})", file="images/" + rel, why=str(exc)),
                                   file=str(image), line=n) from None
            media = self.ctx.media  # no store (a caller that only checks): the item names the file as it is
            ref = f"{self.ctx.project_slug}/{rel}" if media is not None else rel
            if write and media is not None:
                media.put_file(ref, str(image))
            payload: dict[str, Any] = {"image": ref, "width": width, "height": height, "meta": {"file_name": rel}}
            label_file = self._label_file(image)
            if label_file.is_file():
                answer = self._parse(label_file, width, height, write)
                attach(payload, answer, self.ctx, f"labels/{rel}", default_model="yolo", annotated=True)
            yield FormatRecord(str(image), n, {"external_id": rel, "payload": payload}, where=f"images/{rel}")

    def _parse(self, path: Path, width: int, height: int, write: bool) -> dict[str, Any]:
        try:
            shown = path.relative_to(self.root).as_posix()
        except ValueError:
            shown = path.name
        boxes: list[dict[str, Any]] = []
        kpsets: list[dict[str, Any]] = []
        polygons: list[dict[str, Any]] = []
        kp_label = self.ctx.keypoint_label
        with path.open("r", encoding="utf-8") as fh:
            for ln, raw in enumerate(fh, start=1):
                parts = raw.split()
                if not parts:
                    continue
                where = f"{shown}:{ln}"
                values = self._numbers(parts, where, path, ln)
                cls = values[0]
                if not float(cls).is_integer() or not 0 <= cls < len(self.names):
                    bad(where, Msg("class {cls} is not a class number 0..{last}", cls=parts[0],
                                   last=len(self.names) - 1), file=path,
                        line=ln, field="class")
                label = self.names[int(cls)]
                nums = values[1:]
                if self.kpt_shape:
                    k, dims = self.kpt_shape
                    if len(nums) != 4 + k * dims:
                        bad(where, Msg("expected {expected} numbers (class cx cy w h and {points} points of {dims}), "
                                       "got {got}", expected=5 + k * dims, points=k, dims=dims, got=len(values)),
                            file=path, line=ln)
                elif len(nums) != 4 and (len(nums) < 6 or len(nums) % 2):
                    bad(where, Msg("expected 5 numbers (class cx cy w h), or a class and 3 or more x y pairs for a "
                                   "polygon, got {got}", got=len(values)), file=path, line=ln)
                for i, v in enumerate(nums[:4] if self.kpt_shape or len(nums) == 4 else nums):
                    if not -TOLERANCE <= v <= 1 + TOLERANCE:
                        bad(where, Msg("number {index} ({value}) is not normalised to 0..1", index=i + 2, value=v),
                            file=path, line=ln)
                if len(nums) == 4 or self.kpt_shape:
                    cx, cy, w, h = nums[:4]
                    if w <= 0 or h <= 0:
                        bad(where, Msg("width and height must be above 0, got {w} x {h}", w=w, h=h), file=path, line=ln)
                    boxes.append({"label": label, "x": (cx - w / 2) * width, "y": (cy - h / 2) * height,
                                  "w": w * width, "h": h * height})
                    if self.kpt_shape:
                        k, dims = self.kpt_shape
                        pts = []
                        for j in range(k):
                            px, py = nums[4 + j * dims], nums[5 + j * dims]
                            v = int(nums[6 + j * dims]) if dims == 3 else (2 if (px or py) else 0)
                            if v not in (0, 1, 2):
                                bad(where, Msg("point {point}: visibility must be 0, 1 or 2, got {got}", point=j + 1,
                                               got=v), file=path,
                                    line=ln)
                            pts.append([px * width, py * height, v] if v else [0, 0, 0])
                        if any(p[2] for p in pts):
                            kpsets.append({"label": kp_label or label, "points": pts})
                else:
                    polygons.append({"label": label, "points": [[nums[i] * width, nums[i + 1] * height]
                                                                for i in range(0, len(nums), 2)]})
        answer: dict[str, Any] = {}
        tools = self.ctx.tools
        for part, tool, items in (("boxes", "bbox", boxes), ("keypoints", "keypoints", kpsets),
                                  ("polygons", "polygon", polygons)):
            if not items:
                continue
            if tool in tools:
                answer[part] = items
            elif not write:
                self.ctx.warnings.add(f"yolo-no-{tool}", _NO_TOOL[tool], shown)
        return answer

    @staticmethod
    def _numbers(parts: list[str], where: str, path: Path, ln: int) -> list[float]:
        out = []
        for i, p in enumerate(parts):
            try:
                v = float(p)
            except ValueError:
                bad(where, Msg("value {index} ({value!r}) is not a number", index=i + 1, value=p), file=path, line=ln)
            if not math.isfinite(v):
                bad(where, Msg("value {index} ({value!r}) is not a finite number", index=i + 1, value=p), file=path,
                    line=ln)
            out.append(v)
        return out


def read(path: Path, ctx: ImportContext) -> RecordSource:
    return YoloSource(path, ctx)


# -- writing -------------------------------------------------------------------------------------


def _f(v: float) -> str:
    return f"{min(max(v, 0.0), 1.0):.6f}"


def label_lines(row: ExportRow, ctx: ExportContext, names: dict[str, int]) -> list[str]:
    answer = row.answer or {}
    width, height = float(row.payload["width"]), float(row.payload["height"])
    k = len(ctx.keypoint_names)
    pose = bool(k)
    lines = []
    for box, kps in pair_keypoints(answer, ctx.keypoint_label):
        label = (box or {}).get("label") or (kps or {}).get("label") or ctx.keypoint_label
        if label not in names:
            if label is None and len(names) == 1:
                label = next(iter(names))
            else:
                ctx.warnings.add("yolo-no-class", Msg("objects without a class were skipped"), row.external_id)
                continue
        if box is not None:
            x, y, w, h = box["x"], box["y"], box["w"], box["h"]
        else:
            ext = points_extent((kps or {}).get("points") or [])
            if ext is None:
                continue
            x, y, w, h = ext
        fields = [str(names[label]), _f((x + w / 2) / width), _f((y + h / 2) / height), _f(w / width),
                  _f(h / height)]
        if pose:
            pts = (kps or {}).get("points") or [[0, 0, 0]] * k
            for px, py, v in pts:
                fields += [_f(px / width) if v else _f(0), _f(py / height) if v else _f(0), str(int(v))]
        lines.append(" ".join(fields))
        ctx.count("objects")
    if answer.get("polygons"):
        ctx.warnings.add("yolo-polygons", Msg("polygons are not part of YOLO detection or pose exports; use COCO"),
                         row.external_id)
    if answer.get("class") is not None:
        ctx.warnings.add("yolo-class", Msg("whole-image classes are not part of YOLO detection or pose exports"),
                         row.external_id)
    return lines


def data_yaml(ctx: ExportContext, names: list[str]) -> bytes:
    doc: dict[str, Any] = {"path": ".", "train": "images", "val": "images", "nc": len(names),
                           "names": dict(enumerate(names))}
    if ctx.keypoint_names:
        doc["kpt_shape"] = [len(ctx.keypoint_names), 3]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


def class_names(ctx: ExportContext) -> list[str]:
    return ctx.labels or ([ctx.keypoint_label or "object"] if ctx.keypoint_names else [])


def write(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[Entry]:
    names = class_names(ctx)
    index = {n: i for i, n in enumerate(names)}
    yield Entry("data.yaml", [data_yaml(ctx, names)])
    for row in rows:
        name = PurePosixPath(media_file_name(row))
        stem = name.with_suffix("").as_posix() if name.suffix else name.as_posix()
        lines = label_lines(row, ctx, index)
        yield Entry(f"labels/{stem}.txt", ["".join(f"{ln}\n" for ln in lines).encode()])
        ctx.count("images")
        image = media_entry(row, ctx, "images/")
        if image is not None:
            yield image
