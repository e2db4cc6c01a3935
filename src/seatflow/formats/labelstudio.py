"""Label Studio: labeling configs, task JSON and exports with annotations, in and out.

**Configs.** :func:`translate_config` turns a labeling config (XML) into a Seatflow project: an
``<Image>`` makes an image_annotation project (RectangleLabels -> boxes, PolygonLabels -> polygons,
KeyPointLabels -> keypoints named by their labels, Choices -> whole-image classes; per-region Choices
and TextArea -> box/polygon attributes), a ``<Text>`` a text_annotation project (Labels -> span labels,
Choices -> classes, ``choice="multiple"`` -> multi-label). Everything else is listed in ``unmapped``
with the reason, e.g. ``BrushLabels "mask": brush masks are not a Seatflow shape``.

**Tasks.** A JSON list of tasks (what Label Studio imports, and its JSON export with ``annotations``
and ``predictions``) is read as a stream (ijson): one task at a time, each one item. Tasks do not
reference each other, so the checking pass before any write is all an all-or-nothing import needs.
``--as gold`` takes the task's ground-truth annotation (else its first not-cancelled one);
``--as predictions`` its first prediction (``model_version``, ``score``), else its annotation. Region
coordinates are percentages of ``original_width``/``original_height``; text offsets are UTF-16 code
units in Label Studio and code points in Seatflow, converted both ways. Results Seatflow cannot hold
(rotated rectangles, relations, brush masks, free text outside a region) are skipped and listed.

The external id is ``data.external_id`` when present, else the task's ``id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import ijson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from seatflow.errors import ImportFailed, ValidationFailed
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
    clean_number,
    json_error,
)

NAME = "labelstudio"
SUFFIX = ".json"
MULTI_FILE = False
WORK_TYPES = ("image_annotation", "text_annotation")

OBJECT_TAGS = {"Image": "image_annotation", "Text": "text_annotation"}
LAYOUT_TAGS = {"View", "Header", "Style", "Filter", "Collapse", "Panel", "Label", "Choice", "Hypertext"}
UNSUPPORTED = {
    "BrushLabels": Msg("brush masks are not a Seatflow shape"),
    "Brush": Msg("brush masks are not a Seatflow shape"),
    "BitmaskLabels": Msg("bitmasks are not a Seatflow shape"),
    "MagicWand": Msg("masks are not a Seatflow shape"),
    "EllipseLabels": Msg("ellipses are not a Seatflow shape"),
    "Ellipse": Msg("ellipses are not a Seatflow shape"),
    "Rectangle": Msg("boxes without labels: use RectangleLabels"),
    "Polygon": Msg("polygons without labels: use PolygonLabels"),
    "KeyPoint": Msg("points without labels: use KeyPointLabels"),
    "Rating": Msg("ratings have no Seatflow answer field"),
    "Number": Msg("numbers have no Seatflow answer field"),
    "DateTime": Msg("dates have no Seatflow answer field"),
    "Taxonomy": Msg("taxonomies are not mapped (use flat Choices)"),
    "Relations": Msg("relations between regions are not kept"),
    "Relation": Msg("relations between regions are not kept"),
    "Pairwise": Msg("pairwise comparison is not a work type"),
    "Ranker": Msg("ranking is not a work type"),
    "HyperTextLabels": Msg("HTML spans are not mapped"),
    "ParagraphLabels": Msg("dialogue spans are not mapped"),
    "TimeSeriesLabels": Msg("time series are not a work type"),
    "VideoRectangle": Msg("video tracking is not a work type"),
}


# -- configs -------------------------------------------------------------------------------------


@dataclass
class ConfigTranslation:
    work_type: str
    label_schema: dict[str, Any]
    data_key: str
    unmapped: list[Msg] = field(default_factory=list)


def _labels(el: Any) -> list[tuple[str, str | None]]:
    out = []
    for child in el:
        if child.tag == "Label" and child.get("value"):
            out.append((child.get("value"), child.get("hotkey") or None))
    return out


def _choices(el: Any) -> list[str]:
    return [c.get("value") for c in el if c.tag == "Choice" and c.get("value")]


def translate_config(xml: str, *, source: str = "config.xml") -> ConfigTranslation:
    """A Seatflow work type and label schema from a Label Studio labeling config; what did not map is listed."""
    try:
        root = fromstring(xml)
    except ParseError as exc:
        line = exc.position[0] if exc.position else None
        where = f"{source}:{line}" if line else source
        raise ValidationFailed(Msg("{where}: not valid XML ({why})", where=where, why=str(exc)),
                               field="config") from None
    except DefusedXmlException as exc:
        raise ValidationFailed(Msg("{file}: refused ({why})", file=source, why=str(exc)), field="config") from None
    elements = list(root.iter())
    objects = [el for el in elements if el.tag in OBJECT_TAGS]
    if not objects:
        others = sorted({el.tag for el in elements
                         if el.tag not in LAYOUT_TAGS and el.get("value", "").startswith("$")})
        if others:
            raise ValidationFailed(Msg("{file}: no <Image> or <Text> object to annotate (it has {others}, which "
                                       "Seatflow does not annotate)", file=source, others=", ".join(others)),
                                   field="config")
        raise ValidationFailed(Msg("{file}: no <Image> or <Text> object to annotate", file=source), field="config")
    main = objects[0]
    name = main.get("name") or ""
    work_type = OBJECT_TAGS[main.tag]
    data_key = (main.get("value") or "$").lstrip("$") or ("image" if work_type == "image_annotation" else "text")
    unmapped: list[Msg] = []
    for extra in objects[1:]:
        unmapped.append(Msg('{element}: only the first object ({first}) is annotated', element=_describe(extra),
                            first=_describe(main)))
    controls = [el for el in elements if el.tag not in LAYOUT_TAGS and el.tag not in OBJECT_TAGS
                and el is not root]
    if work_type == "image_annotation":
        schema = _image_schema(controls, name, unmapped)
    else:
        schema = _text_schema(controls, name, unmapped)
    return ConfigTranslation(work_type=work_type, label_schema=schema, data_key=data_key, unmapped=unmapped)


def _describe(el: Any) -> str:
    return f'{el.tag} "{el.get("name") or ""}"'


def _unmapped(el: Any, why: Msg) -> Msg:
    """A line of ``unmapped``: the element, then why it did not map."""
    return Msg("{element}: {why}", element=_describe(el), why=why)


def _joined(parts: list[Msg]) -> Msg | None:
    """Messages one after the other, each still translatable (None when there are none)."""
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = Msg("{first}; {then}", first=out, then=part)
    return out


def _skip_other_object(el: Any, name: str, unmapped: list[Msg]) -> bool:
    target = el.get("toName")
    if target and name and target.split(",")[0] != name:
        unmapped.append(Msg("{element}: it labels {target!r}, not the annotated object {name!r}",
                            element=_describe(el), target=target, name=name))
        return True
    return False


def _image_schema(controls: list[Any], name: str, unmapped: list[Msg]) -> dict[str, Any]:
    labels: list[dict[str, Any]] = []
    tools: list[str] = []
    keypoint_names: list[str] = []
    classes: list[str] | None = None
    attributes: list[dict[str, Any]] = []
    keys: set[str] = set()

    def add_labels(el: Any) -> None:
        for value, hotkey in _labels(el):
            if any(lb["name"] == value for lb in labels):
                continue
            entry: dict[str, Any] = {"name": value}
            if hotkey and hotkey not in keys:
                entry["key"] = hotkey
                keys.add(hotkey)
            labels.append(entry)

    for el in controls:
        if el.tag in UNSUPPORTED:
            unmapped.append(_unmapped(el, UNSUPPORTED[el.tag]))
            continue
        if _skip_other_object(el, name, unmapped):
            continue
        per_region = el.get("perRegion", "").lower() == "true"
        if el.tag == "RectangleLabels":
            add_labels(el)
            if "bbox" not in tools:
                tools.append("bbox")
        elif el.tag == "PolygonLabels":
            add_labels(el)
            if "polygon" not in tools:
                tools.append("polygon")
        elif el.tag == "KeyPointLabels":
            for value, _hotkey in _labels(el):
                if value not in keypoint_names:
                    keypoint_names.append(value)
            if "keypoints" not in tools:
                tools.append("keypoints")
        elif el.tag == "Choices" and per_region:
            attributes.append({"name": el.get("name") or f"choice{len(attributes) + 1}", "type": "choice",
                               "choices": _choices(el)})
        elif el.tag == "Choices":
            if el.get("choice", "single") == "multiple":
                unmapped.append(_unmapped(el, Msg("several whole-image classes at once; Seatflow images have one "
                                                  "class")))
            elif classes is not None:
                unmapped.append(_unmapped(el, Msg("a second set of whole-image classes; Seatflow images have one")))
            else:
                classes = _choices(el)
                tools.append("classify")
        elif el.tag == "TextArea" and per_region:
            attributes.append({"name": el.get("name") or f"text{len(attributes) + 1}", "type": "text"})
        elif el.tag == "TextArea":
            unmapped.append(_unmapped(el, Msg("free text about the whole image has no Seatflow answer field "
                                              "(perRegion=\"true\" TextAreas become box attributes)")))
        elif el.tag == "Labels":
            unmapped.append(_unmapped(el, Msg("Labels on an image; use RectangleLabels or PolygonLabels")))
        else:
            unmapped.append(_unmapped(el, Msg("not supported")))
    if not tools:
        raise ValidationFailed(Msg("the config labels nothing Seatflow can hold on the image: {why}",
                                   why=_joined(unmapped) or Msg("no control tags")), field="config")
    schema: dict[str, Any] = {"labels": labels, "tools": tools}
    if keypoint_names:
        schema["keypoints"] = {"names": keypoint_names}
    if classes is not None:
        schema["classes"] = classes
    if attributes:
        schema["attributes"] = attributes
    return schema


def _text_schema(controls: list[Any], name: str, unmapped: list[Msg]) -> dict[str, Any]:
    span_labels: list[str] = []
    classes: list[str] | None = None
    multi = False
    for el in controls:
        if el.tag in UNSUPPORTED:
            unmapped.append(_unmapped(el, UNSUPPORTED[el.tag]))
            continue
        if _skip_other_object(el, name, unmapped):
            continue
        if el.tag == "Labels":
            span_labels += [v for v, _k in _labels(el) if v not in span_labels]
        elif el.tag == "Choices" and el.get("perRegion", "").lower() == "true":
            unmapped.append(_unmapped(el, Msg("choices per span are not kept (spans carry a label only)")))
        elif el.tag == "Choices":
            if classes is not None:
                unmapped.append(_unmapped(el, Msg("a second set of classes; Seatflow texts have one")))
            else:
                classes = _choices(el)
                multi = el.get("choice", "single") == "multiple"
        elif el.tag == "TextArea":
            unmapped.append(_unmapped(el, Msg("free-text answers have no Seatflow text-annotation field")))
        else:
            unmapped.append(_unmapped(el, Msg("not supported on text")))
    if not span_labels and not classes:
        raise ValidationFailed(Msg("the config labels nothing Seatflow can hold on the text: {why}",
                                   why=_joined(unmapped) or Msg("no control tags")), field="config")
    schema: dict[str, Any] = {"multi_label": multi}
    if classes:
        schema["classes"] = classes
    if span_labels:
        schema["span_labels"] = span_labels
    return schema


# -- UTF-16 offsets (Label Studio, the browser) <-> code points (Seatflow) --------------------------


def utf16_to_index(text: str, offset: int) -> int:
    units = 0
    for i, ch in enumerate(text):
        if units >= offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def index_to_utf16(text: str, index: int) -> int:
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


# -- reading tasks -------------------------------------------------------------------------------


class TaskSource(RecordSource):
    def __init__(self, path: Path, ctx: ImportContext) -> None:
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if len(found) != 1:
                raise ImportFailed(Msg("{path}: name the Label Studio JSON file (the folder holds {count})",
                                       path=str(path), count=len(found)),
                                   file=str(path))
            path = found[0]
        self.path, self.ctx = path, ctx
        self.image = ctx.work_type == "image_annotation"

    def _tasks(self) -> Iterator[tuple[int, Any]]:
        with self.path.open("rb") as fh:
            first = b""
            while not first.strip():
                chunk = fh.read(1)
                if not chunk:
                    return
                first += chunk
            fh.seek(0)
            prefix = "item" if first.strip() == b"[" else ""
            try:
                yield from enumerate(ijson.items(fh, prefix, use_float=True))
            except ijson.JSONError as exc:
                raise ImportFailed(Msg("{file}: not valid JSON ({why})", file=self.path.name, why=json_error(exc)),
                                   file=str(self.path)) from None

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        for n, task in self._tasks():
            where = f"{self.path.name} [{n}]"
            if not isinstance(task, dict):
                bad(where, Msg("each task must be an object with 'data'"), file=self.path, line=n + 1)
            if task.get("id") is not None:
                where += f" (task {task['id']})"
            data = task.get("data")
            if not isinstance(data, dict):
                bad(where, Msg("is missing or not an object"), file=self.path, line=n + 1, field="data")
            ext = data.get("external_id", task.get("id"))
            if ext is None or str(ext).strip() == "":
                bad(where, Msg("a task needs an 'id' or data.external_id"), file=self.path, line=n + 1, field="id")
            payload = self._payload(task, data, where, n)
            annotation, model, score = self._chosen(task)
            if annotation is not None:
                warn = not write
                answer = self._answer(annotation.get("result") or [], payload, where, n, warn)
                attach(payload, answer, self.ctx, where, model=model, score=score, default_model="labelstudio",
                       annotated=True)
            yield FormatRecord(str(self.path), n + 1, {"external_id": str(ext), "payload": payload}, where=where)

    def _chosen(self, task: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, float | None]:
        anns = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        preds = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
        if self.ctx.mode.value == "predictions" and preds:
            p = preds[0]
            score = p.get("score")
            return p, str(p.get("model_version") or "") or None, float(score) if isinstance(score, int | float) \
                else None
        if not anns:
            return None, None, None
        gt = [a for a in anns if a.get("ground_truth")]
        chosen = (gt or anns)[0]
        return chosen, None, None

    def _payload(self, task: dict[str, Any], data: dict[str, Any], where: str, n: int) -> dict[str, Any]:
        meta = {"labelstudio_id": task.get("id")} if task.get("id") is not None else {}
        key = self._data_key(data)
        if key is None:
            if self.image:
                bad(where, Msg("no field holds an image URL or path (looked for data.image)"), file=self.path,
                    line=n + 1, field="data")
            bad(where, Msg("no field holds the text (looked for data.text)"), file=self.path, line=n + 1, field="data")
        value = data[key]
        if not self.image:
            return {"text": str(value), "meta": meta}
        width, height = self._size(task, data, str(value))
        if width is None or height is None:
            bad(where, Msg("the image size is unknown: no result has original_width/original_height and data has "
                           "no width/height"), file=self.path, line=n + 1, field="data")
        meta["file_name"] = str(value).rsplit("/", 1)[-1].split("?")[0]
        return {"image": str(value), "width": width, "height": height, "meta": meta}

    def _data_key(self, data: dict[str, Any]) -> str | None:
        wanted = "image" if self.image else "text"
        for source, target in self.ctx.mapping.items():
            if target in (wanted, f"payload.{wanted}") and source in data:
                return source
        if isinstance(data.get(wanted), str):
            return wanted
        for k, v in data.items():
            if not isinstance(v, str) or k == "external_id":
                continue
            if not self.image:
                return k
            low = v.lower().split("?")[0]
            if low.startswith(("http://", "https://", "/data/", "s3://", "gs://")) or \
                    any(low.endswith(s) for s in IMAGE_SUFFIXES):
                return k
        return None

    @staticmethod
    def _size(task: dict[str, Any], data: dict[str, Any], image: str) -> tuple[int | None, int | None]:
        for group in ("annotations", "predictions"):
            for ann in task.get(group) or []:
                for r in (ann.get("result") or []) if isinstance(ann, dict) else []:
                    if isinstance(r, dict) and r.get("original_width") and r.get("original_height"):
                        return int(r["original_width"]), int(r["original_height"])
        w, h = data.get("width"), data.get("height")
        if isinstance(w, int | float) and isinstance(h, int | float):
            return int(w), int(h)
        return None, None

    def _answer(self, results: list[Any], payload: dict[str, Any], where: str, n: int,
                warn: bool) -> dict[str, Any]:
        if self.image:
            return self._image_answer(results, payload, where, n, warn)
        return self._text_answer(results, payload, where, n, warn)

    def _warn(self, warn: bool, kind: str, message: Msg, where: str) -> None:
        if warn:
            self.ctx.warnings.add(kind, message, where)

    def _image_answer(self, results: list[Any], payload: dict[str, Any], where: str, n: int,
                      warn: bool) -> dict[str, Any]:
        W, H = payload["width"], payload["height"]  # noqa: N806
        tools = self.ctx.tools
        kp_names = self.ctx.keypoint_names
        shapes: dict[str, dict[str, Any]] = {}
        boxes: list[dict[str, Any]] = []
        polygons: list[dict[str, Any]] = []
        kpsets: list[dict[str, Any]] = []
        current: list[list[float]] | None = None
        answer: dict[str, Any] = {}
        attrs_later: list[dict[str, Any]] = []
        regions = {str(x.get("id")) for x in results
                   if isinstance(x, dict) and x.get("id") and x.get("type") in ("rectanglelabels", "polygonlabels")}
        for k, r in enumerate(results):
            if not isinstance(r, dict):
                bad(where, Msg("each result must be an object"), file=self.path, line=n + 1, field=f"result[{k}]")
            kind = r.get("type")
            value = r.get("value") or {}
            rw = f"{where} result[{k}]"
            score = r.get("score")
            if kind == "rectanglelabels":
                if abs(float(value.get("rotation") or 0)) > 1e-9:
                    self._warn(warn, "ls-rotated", Msg("rotated rectangles were skipped (Seatflow boxes are upright)"),
                               rw)
                    continue
                if "bbox" not in tools:
                    self._warn(warn, "ls-no-bbox", Msg("rectangles were skipped: the project has no bbox tool"), rw)
                    continue
                box = {"label": _one(value, "rectanglelabels", rw, self.path),
                       "x": _pct(value, "x", W, rw, self.path), "y": _pct(value, "y", H, rw, self.path),
                       "w": _pct(value, "width", W, rw, self.path), "h": _pct(value, "height", H, rw, self.path)}
                if isinstance(score, int | float):
                    box["score"] = float(score)
                boxes.append(box)
                if r.get("id"):
                    shapes[str(r["id"])] = box
            elif kind == "polygonlabels":
                if "polygon" not in tools:
                    self._warn(warn, "ls-no-polygon", Msg("polygons were skipped: the project has no polygon tool"), rw)
                    continue
                pts = value.get("points")
                if not isinstance(pts, list):
                    bad(rw, Msg("must be a list of [x, y] percentages"), file=self.path, line=n + 1,
                        field="value.points")
                poly = {"label": _one(value, "polygonlabels", rw, self.path),
                        "points": [[clean_number(float(p[0]) * W / 100), clean_number(float(p[1]) * H / 100)]
                                   for p in pts]}
                polygons.append(poly)
                if r.get("id"):
                    shapes[str(r["id"])] = poly
            elif kind == "keypointlabels":
                if "keypoints" not in tools:
                    self._warn(warn, "ls-no-kp", Msg("key points were skipped: the project has no keypoints tool"),
                               rw)
                    continue
                name = _one(value, "keypointlabels", rw, self.path)
                if name not in kp_names:
                    bad(rw, Msg("{name!r} is not a keypoint of the project (its points: {points})", name=name,
                                points=", ".join(kp_names)),
                        file=self.path, line=n + 1, field="value.keypointlabels")
                j = kp_names.index(name)
                if current is None or current[j][2] > 0:
                    current = [[0, 0, 0] for _ in kp_names]
                    entry: dict[str, Any] = {"points": current}
                    if self.ctx.keypoint_label:
                        entry["label"] = self.ctx.keypoint_label
                    kpsets.append(entry)
                current[j] = [_pct(value, "x", W, rw, self.path), _pct(value, "y", H, rw, self.path), 2]
            elif kind in ("choices", "textarea") and str(r.get("id")) in regions:
                attrs_later.append(r)  # a per-region choice or text: an attribute of that box or polygon
            elif kind == "choices":
                if "classify" not in tools:
                    self._warn(warn, "ls-no-classify", Msg("choices were skipped: the project has no classify tool"),
                               rw)
                    continue
                choices = value.get("choices") or []
                if len(choices) != 1:
                    bad(rw, Msg("a Seatflow image has one class, got {count}", count=len(choices)), file=self.path,
                        line=n + 1, field="value.choices")
                answer["class"] = choices[0]
            elif kind == "relation":
                self._warn(warn, "ls-relation", Msg("relations between regions were skipped"), rw)
            else:
                self._warn(warn, f"ls-{kind}",
                           Msg("{kind} results were skipped: Seatflow does not hold them", kind=kind), rw)
        for r in attrs_later:
            shape = shapes.get(str(r["id"]))
            if shape is None:
                continue
            name = str(r.get("from_name") or "")
            value = r.get("value") or {}
            if r["type"] == "choices":
                got = value.get("choices") or []
                if got:
                    shape.setdefault("attributes", {})[name] = got[0]
            else:
                texts = value.get("text") or []
                if texts:
                    shape.setdefault("attributes", {})[name] = "\n".join(str(t) for t in texts)
        if boxes:
            answer["boxes"] = boxes
        if polygons:
            answer["polygons"] = polygons
        if kpsets:
            answer["keypoints"] = kpsets
        return answer

    def _text_answer(self, results: list[Any], payload: dict[str, Any], where: str, n: int,
                     warn: bool) -> dict[str, Any]:
        text = payload["text"]
        classes: list[str] = []
        spans: list[dict[str, Any]] = []
        for k, r in enumerate(results):
            rw = f"{where} result[{k}]"
            if not isinstance(r, dict):
                bad(where, Msg("each result must be an object"), file=self.path, line=n + 1, field=f"result[{k}]")
            kind = r.get("type")
            value = r.get("value") or {}
            if kind == "labels":
                start, end = value.get("start"), value.get("end")
                if not isinstance(start, int) or not isinstance(end, int):
                    bad(rw, Msg("a text span needs whole-number start and end offsets"), file=self.path, line=n + 1,
                        field="value.start")
                spans.append({"start": utf16_to_index(text, start), "end": utf16_to_index(text, end),
                              "label": _one(value, "labels", rw, self.path)})
            elif kind == "choices":
                classes += [c for c in value.get("choices") or [] if c not in classes]
            else:
                self._warn(warn, f"ls-{kind}", Msg("{kind} results were skipped: Seatflow text answers hold classes "
                                                   "and spans", kind=kind), rw)
        answer: dict[str, Any] = {}
        if classes:
            answer["classes"] = classes
        if spans:
            answer["spans"] = spans
        return answer


def _one(value: dict[str, Any], key: str, where: str, path: Path) -> str:
    got = value.get(key)
    if not isinstance(got, list) or len(got) != 1 or not isinstance(got[0], str):
        bad(where, Msg("expected one label in value.{key}, got {got!r}", key=key, got=got), file=path,
            field=f"value.{key}")
    return str(got[0])


def _pct(value: dict[str, Any], key: str, size: int, where: str, path: Path) -> float:
    v = value.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float):
        bad(where, Msg("must be a number (percent of the image), got {got!r}", got=v), file=path, field=f"value.{key}")
    return clean_number(float(v) * size / 100)


def read(path: Path, ctx: ImportContext) -> RecordSource:
    return TaskSource(path, ctx)


# -- writing -------------------------------------------------------------------------------------


def _p(v: float, size: float) -> float:
    return round(v * 100 / size, 10)


def image_results(answer: dict[str, Any], width: int, height: int, rid: str,
                  kp_names: list[str]) -> list[dict[str, Any]]:
    base = {"to_name": "image", "original_width": width, "original_height": height, "image_rotation": 0}
    out: list[dict[str, Any]] = []
    for i, box in enumerate(answer.get("boxes") or []):
        region = f"{rid}b{i}"
        r = {**base, "id": region, "from_name": "label", "type": "rectanglelabels",
             "value": {"x": _p(box["x"], width), "y": _p(box["y"], height), "width": _p(box["w"], width),
                       "height": _p(box["h"], height), "rotation": 0, "rectanglelabels": [box["label"]]}}
        if box.get("score") is not None:
            r["score"] = box["score"]
        out.append(r)
        for name, val in (box.get("attributes") or {}).items():
            if isinstance(val, bool):
                continue
            kind = "choices" if not isinstance(val, str) or "\n" not in val else "textarea"
            out.append({**base, "id": region, "from_name": name, "type": kind,
                        "value": {"choices": [val]} if kind == "choices" else {"text": [val]}})
    for i, poly in enumerate(answer.get("polygons") or []):
        out.append({**base, "id": f"{rid}p{i}", "from_name": "polygon", "type": "polygonlabels",
                    "value": {"points": [[_p(x, width), _p(y, height)] for x, y in poly["points"]],
                              "polygonlabels": [poly["label"]]}})
    for i, kps in enumerate(answer.get("keypoints") or []):
        for j, (x, y, v) in enumerate(kps["points"]):
            if v and j < len(kp_names):
                out.append({**base, "id": f"{rid}k{i}_{j}", "from_name": "keypoint", "type": "keypointlabels",
                            "value": {"x": _p(x, width), "y": _p(y, height), "width": 0.5,
                                      "keypointlabels": [kp_names[j]]}})
    if answer.get("class") is not None:
        out.append({"id": f"{rid}c", "from_name": "choice", "to_name": "image", "type": "choices",
                    "value": {"choices": [answer["class"]]}})
    return out


def text_results(answer: dict[str, Any], text: str, rid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, span in enumerate(answer.get("spans") or []):
        out.append({"id": f"{rid}s{i}", "from_name": "label", "to_name": "text", "type": "labels",
                    "value": {"start": index_to_utf16(text, span["start"]), "end": index_to_utf16(text, span["end"]),
                              "text": text[span["start"]:span["end"]], "labels": [span["label"]]}})
    if answer.get("classes"):
        out.append({"id": f"{rid}c", "from_name": "choice", "to_name": "text", "type": "choices",
                    "value": {"choices": list(answer["classes"])}})
    return out


def task_of(row: ExportRow, ctx: ExportContext) -> dict[str, Any]:
    payload = row.payload
    image = ctx.work_type == "image_annotation"

    def results(answer: dict[str, Any], rid: str) -> list[dict[str, Any]]:
        if image:
            return image_results(answer, int(payload["width"]), int(payload["height"]), rid, ctx.keypoint_names)
        return text_results(answer, str(payload["text"]), rid)

    data: dict[str, Any] = {"external_id": row.external_id}
    if image:
        data.update({"image": payload["image"], "width": payload["width"], "height": payload["height"]})
    else:
        data["text"] = payload["text"]
    annotations = []
    for k, a in enumerate(row.answers):
        ann: dict[str, Any] = {"id": row.item_id * 100 + k,
                               "result": results(a.get("answer") or {}, f"{row.item_id}a{k}"),
                               "was_cancelled": False, "ground_truth": False, "created_at": row.done_at}
        if a.get("worker_id") is not None:
            ann["completed_by"] = a["worker_id"]
        annotations.append(ann)
        ctx.count("annotations")
    task: dict[str, Any] = {"id": row.item_id, "data": data, "annotations": annotations, "predictions": []}
    pred = payload.get("predictions")
    if pred:
        entry: dict[str, Any] = {"model_version": pred.get("model") or "", "result": results(pred, f"{row.item_id}p")}
        if pred.get("score") is not None:
            entry["score"] = pred["score"]
        task["predictions"].append(entry)
    return task


def write(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[Entry]:
    yield Entry(f"{ctx.project_slug}.labelstudio.json", _tasks(rows, ctx))


def _tasks(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[bytes]:
    yield b"["
    buf: list[str] = []
    first = True
    for row in rows:
        buf.append(("\n" if first else ",\n") + json.dumps(task_of(row, ctx), ensure_ascii=False))
        first = False
        ctx.count("tasks")
        if len(buf) >= 200:
            yield "".join(buf).encode()
            buf.clear()
    buf.append("\n]\n")
    yield "".join(buf).encode()
