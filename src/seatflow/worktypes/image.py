"""Image annotation: whole-image classes, bounding boxes, keypoints (landmarks) and polygons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError

from seatflow.i18n.message import Msg

from . import _geometry as geo
from ._common import Strict, check_unique, fail, mean_or_one, names, not_in, num
from .base import WorkType, first_error, register

Tool = Literal["bbox", "keypoints", "polygon", "classify"]
TOLERANCE = 0.5  # pixels a shape may stick out of the image (rounding in the browser)
BOX_IOU_THRESHOLD = 0.5  # boxes overlapping less than this do not count as the same object
KEYPOINT_BOX_MARGIN = 0.1  # landmarks may stick out of their box by this share of its size


class LabelDef(Strict):
    name: str
    key: str | None = None  # keyboard shortcut in the annotation UI


class KeypointDef(Strict):
    names: list[str] = Field(min_length=1)  # fixed order, e.g. left_eye, right_eye, nose, ...
    label: str | None = None  # the label the point set belongs to, e.g. "face"
    skeleton: list[tuple[int, int]] | None = None  # pairs of point indexes (0-based) drawn as bones


class AttributeDef(Strict):
    name: str
    type: Literal["bool", "choice", "text"]
    choices: list[str] | None = None


class ImageSchema(Strict):
    labels: list[LabelDef] = Field(default_factory=list)
    tools: list[Tool] = Field(min_length=1)
    keypoints: KeypointDef | None = None
    classes: list[str] | None = None
    attributes: list[AttributeDef] = Field(default_factory=list)


class ImagePayload(Strict):
    image: str = Field(min_length=1)  # path relative to the media folder, or a URL
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    # a model's pre-annotation, shaped like an answer, plus optional "model", "score" and per-shape "score"
    predictions: dict[str, Any] | None = None
    # the known answer of a gold (honeypot) item; never shown to workers (see services/items.py)
    gold: dict[str, Any] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


class Box(Strict):
    label: str
    x: FiniteFloat
    y: FiniteFloat
    w: FiniteFloat
    h: FiniteFloat
    attributes: dict[str, Any] = Field(default_factory=dict)

    def xywh(self) -> geo.Box:
        return (self.x, self.y, self.w, self.h)


class KeypointSet(Strict):
    label: str | None = None
    points: list[tuple[FiniteFloat, FiniteFloat, int]]  # [x, y, visibility 0|1|2] per schema name


class Polygon(Strict):
    label: str
    points: list[tuple[FiniteFloat, FiniteFloat]]


class ImageAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    boxes: list[Box] = Field(default_factory=list)
    keypoints: list[KeypointSet] = Field(default_factory=list)
    polygons: list[Polygon] = Field(default_factory=list)
    class_: str | None = Field(default=None, alias="class")


Score = Field(default=None, ge=0, le=1)


class PredictedBox(Box):
    score: float | None = Score


class PredictedKeypointSet(KeypointSet):
    score: float | None = Score


class PredictedPolygon(Polygon):
    score: float | None = Score


class ImagePredictions(ImageAnswer):
    """A model's pre-annotation: an answer with the model's name, an overall score and per-shape scores."""

    model: str | None = Field(default=None, max_length=200)
    score: float | None = Score
    boxes: list[PredictedBox] = Field(default_factory=list)  # type: ignore[assignment]
    keypoints: list[PredictedKeypointSet] = Field(default_factory=list)  # type: ignore[assignment]
    polygons: list[PredictedPolygon] = Field(default_factory=list)  # type: ignore[assignment]


_TOOL_OF = {"boxes": "bbox", "keypoints": "keypoints", "polygons": "polygon", "class": "classify"}


def _unused_tool(part: str, tools: Iterable[str]) -> Msg:
    """An answer uses a part (boxes, keypoints, ...) whose tool the project does not use."""
    if part == "boxes":
        return Msg("this project does not use bounding boxes; its tools are: {tools}", tools=names(tools))
    if part == "keypoints":
        return Msg("this project does not use keypoints; its tools are: {tools}", tools=names(tools))
    if part == "polygons":
        return Msg("this project does not use polygons; its tools are: {tools}", tools=names(tools))
    return Msg("this project does not use whole-image classes; its tools are: {tools}", tools=names(tools))


class ImageAnnotation(WorkType):
    name = "image_annotation"
    title = "Image annotation"
    schema_model = ImageSchema
    payload_model = ImagePayload
    answer_model = ImageAnswer

    # -- checks ------------------------------------------------------------------------------
    def check_schema(self, schema: BaseModel) -> None:
        assert isinstance(schema, ImageSchema)
        s, f = schema, "label_schema"
        check_unique(s.tools, f"{f}.tools", "tool")
        check_unique([lb.name for lb in s.labels], f"{f}.labels", "label name")
        keys: dict[str, str] = {}
        for i, lb in enumerate(s.labels):
            if lb.key is not None and lb.key in keys:
                fail(f"{f}.labels[{i}].key", Msg("the shortcut key {key!r} is already used by {label!r}",
                                                 key=lb.key, label=keys[lb.key]))
            if lb.key is not None:
                keys[lb.key] = lb.name
        if ("bbox" in s.tools or "polygon" in s.tools) and not s.labels:
            fail(f"{f}.labels", Msg("boxes and polygons need at least one label"))
        if "keypoints" in s.tools:
            if s.keypoints is None:
                fail(f"{f}.keypoints", Msg("the keypoints tool needs the list of keypoint names"))
            check_unique(s.keypoints.names, f"{f}.keypoints.names", "keypoint name")
            for i, (a, b) in enumerate(s.keypoints.skeleton or []):
                if not (0 <= a < len(s.keypoints.names) and 0 <= b < len(s.keypoints.names)) or a == b:
                    fail(f"{f}.keypoints.skeleton[{i}]",
                         Msg("a bone joins two different points among 0..{last}, got [{a}, {b}]",
                             last=len(s.keypoints.names) - 1, a=a, b=b))
            if s.keypoints.label is not None and s.keypoints.label not in self._labels(s):
                fail(f"{f}.keypoints.label", not_in(s.keypoints.label, self._labels(s), "label"))
        if "classify" in s.tools:
            if not s.classes:
                fail(f"{f}.classes", Msg("the classify tool needs at least one class"))
            check_unique(s.classes, f"{f}.classes", "class")
        check_unique([a.name for a in s.attributes], f"{f}.attributes", "attribute name")
        for i, attr in enumerate(s.attributes):
            if attr.type == "choice" and not attr.choices:
                fail(f"{f}.attributes[{i}].choices",
                     Msg("the choice attribute {name!r} needs choices", name=attr.name))
            if attr.type != "choice" and attr.choices:
                fail(f"{f}.attributes[{i}].choices",
                     Msg("only choice attributes have choices, not {type}", type=attr.type))

    def check_payload(self, payload: BaseModel, schema: BaseModel) -> None:
        assert isinstance(payload, ImagePayload)
        if not payload.image.strip():
            fail("payload.image", Msg("the image path or URL is empty"))
        for prefix, data, model in (("payload.predictions", payload.predictions, ImagePredictions),
                                    ("payload.gold", payload.gold, ImageAnswer)):
            if data is None:
                continue
            try:
                parsed = model.model_validate(data)
            except ValidationError as exc:
                raise first_error(exc, prefix) from None
            self._check(parsed, schema, payload, prefix)

    def check_answer(self, answer: BaseModel, schema: BaseModel, payload: BaseModel) -> None:
        self._check(answer, schema, payload, "answer")

    def _check(self, answer: BaseModel, schema: BaseModel, payload: BaseModel, f: str) -> None:
        assert isinstance(answer, ImageAnswer) and isinstance(schema, ImageSchema)
        assert isinstance(payload, ImagePayload)
        present = {"boxes": answer.boxes, "keypoints": answer.keypoints, "polygons": answer.polygons,
                   "class": answer.class_ is not None}
        for part, used in present.items():
            if used and _TOOL_OF[part] not in schema.tools:
                fail(f"{f}.{part}", _unused_tool(part, schema.tools))
        labels = self._labels(schema)
        size = f"{payload.width}x{payload.height}"
        for i, box in enumerate(answer.boxes):
            bf = f"{f}.boxes[{i}]"
            self._check_label(box.label, labels, f"{bf}.label")
            if box.w <= 0 or box.h <= 0:
                part = "w" if box.w <= 0 else "h"
                fail(f"{bf}.{part}", Msg("box width and height must be greater than 0, got {w}x{h}",
                                         w=num(box.w), h=num(box.h)))
            x2, y2 = box.x + box.w, box.y + box.h
            if not self._inside(box.x, box.y, payload) or not self._inside(x2, y2, payload):
                corners = f"({num(box.x)},{num(box.y)})-({num(box.x + box.w)},{num(box.y + box.h)})"
                fail(bf, Msg("box {corners} lies outside the {size} image", corners=corners, size=size))
            self._check_attributes(box.attributes, schema, f"{bf}.attributes")
        for i, kps in enumerate(answer.keypoints):
            kf = f"{f}.keypoints[{i}]"
            if kps.label is not None:
                self._check_label(kps.label, labels, f"{kf}.label")
                owner = schema.keypoints.label if schema.keypoints else None
                if owner is not None and kps.label != owner:
                    fail(f"{kf}.label", Msg("keypoints in this project belong to {owner!r}, not {label!r}",
                                            owner=owner, label=kps.label))
            point_names = schema.keypoints.names if schema.keypoints else []
            if len(kps.points) != len(point_names):
                fail(f"{kf}.points", Msg("expected {n} points ({names}), got {got}", n=len(point_names),
                                         names=names(point_names), got=len(kps.points)))
            for j, (x, y, v) in enumerate(kps.points):
                if v not in (0, 1, 2):
                    fail(f"{kf}.points[{j}]", Msg("visibility of {name!r} must be 0 (not placed), "
                                                  "1 (occluded) or 2 (visible), got {v}", name=point_names[j], v=v))
                if v > 0 and not self._inside(x, y, payload):
                    fail(f"{kf}.points[{j}]", Msg("point {name!r} ({x},{y}) lies outside the {size} image",
                                                  name=point_names[j], x=num(x), y=num(y), size=size))
        for i, poly in enumerate(answer.polygons):
            pf = f"{f}.polygons[{i}]"
            self._check_label(poly.label, labels, f"{pf}.label")
            if len(poly.points) < 3:
                fail(f"{pf}.points", Msg("a polygon needs at least 3 points, got {got}", got=len(poly.points)))
            for j, (x, y) in enumerate(poly.points):
                if not self._inside(x, y, payload):
                    fail(f"{pf}.points[{j}]", Msg("point ({x},{y}) lies outside the {size} image",
                                                  x=num(x), y=num(y), size=size))
        if answer.class_ is not None and answer.class_ not in (schema.classes or []):
            fail(f"{f}.class", not_in(answer.class_, schema.classes or [], "class"))

    @staticmethod
    def _labels(schema: ImageSchema) -> list[str]:
        return [lb.name for lb in schema.labels]

    @staticmethod
    def _check_label(label: str, labels: list[str], field: str) -> None:
        if label not in labels:
            fail(field, not_in(label, labels, "label"))

    @staticmethod
    def _inside(x: float, y: float, payload: ImagePayload) -> bool:
        return -TOLERANCE <= x <= payload.width + TOLERANCE and -TOLERANCE <= y <= payload.height + TOLERANCE

    @staticmethod
    def _check_attributes(values: dict[str, Any], schema: ImageSchema, f: str) -> None:
        defs = {a.name: a for a in schema.attributes}
        for key, value in values.items():
            attr = defs.get(key)
            if attr is None:
                fail(f"{f}.{key}", not_in(key, defs, "attribute"))
            if attr.type == "bool" and not isinstance(value, bool):
                fail(f"{f}.{key}", Msg("{key!r} is a yes/no attribute; use true or false, not {value!r}",
                                       key=key, value=value))
            if attr.type == "text" and not isinstance(value, str):
                fail(f"{f}.{key}", Msg("{key!r} is a text attribute; got {value!r}", key=key, value=value))
            if attr.type == "choice" and value not in (attr.choices or []):
                fail(f"{f}.{key}", Msg("{value!r} is not a choice of {key!r}; choices are: {choices}",
                                       value=value, key=key, choices=names(attr.choices or [])))

    # -- agreement ---------------------------------------------------------------------------
    def compare(self, a: BaseModel, b: BaseModel, schema: BaseModel) -> float:
        """Mean of the components either answer uses: boxes, keypoints, polygons, class."""
        assert isinstance(a, ImageAnswer) and isinstance(b, ImageAnswer) and isinstance(schema, ImageSchema)
        scores: list[float] = []
        if a.boxes or b.boxes:
            scores.append(self._compare_boxes(a.boxes, b.boxes))
        if a.keypoints or b.keypoints:
            scores.append(self._compare_keypoints(a, b, schema))
        if a.polygons or b.polygons:
            pairs = geo.greedy_match(
                len(a.polygons), len(b.polygons),
                lambda i, j: (geo.polygon_iou(a.polygons[i].points, b.polygons[j].points)
                              if a.polygons[i].label == b.polygons[j].label else 0.0),
                BOX_IOU_THRESHOLD)
            scores.append(geo.matched_f1(pairs, len(a.polygons), len(b.polygons)))
        if a.class_ is not None or b.class_ is not None:
            scores.append(1.0 if a.class_ == b.class_ else 0.0)
        return mean_or_one(scores)

    @staticmethod
    def _compare_boxes(a: list[Box], b: list[Box]) -> float:
        def iou(i: int, j: int) -> float:
            return geo.box_iou(a[i].xywh(), b[j].xywh()) if a[i].label == b[j].label else 0.0

        return geo.matched_f1(geo.greedy_match(len(a), len(b), iou, BOX_IOU_THRESHOLD), len(a), len(b))

    @staticmethod
    def _compare_keypoints(a: ImageAnswer, b: ImageAnswer, schema: ImageSchema) -> float:
        default = schema.keypoints.label if schema.keypoints else None
        boxes = [box.xywh() for box in [*a.boxes, *b.boxes] if box.w > 0 and box.h > 0]

        def scale(pa: list[geo.Point], pb: list[geo.Point]) -> float:
            # the smallest box (from either answer) holding the points, else the points' own extent
            pts = pa + pb
            holders = [bx for bx in boxes
                       if geo.box_contains(bx, pts, KEYPOINT_BOX_MARGIN * max(bx[2], bx[3]))]
            if holders:
                box = min(holders, key=lambda bx: bx[2] * bx[3])
                return geo.diagonal(box[2], box[3])
            ext = geo.extent(pts)
            return max(geo.diagonal(ext[2], ext[3]) if ext else 0.0, 1.0)

        def sim(i: int, j: int) -> float:
            ka, kb = a.keypoints[i], b.keypoints[j]
            if (ka.label or default) != (kb.label or default) or len(ka.points) != len(kb.points):
                return 0.0
            return geo.oks(ka.points, kb.points, scale(geo.placed(ka.points), geo.placed(kb.points)))

        pairs = geo.greedy_match(len(a.keypoints), len(b.keypoints), sim, 1e-12)
        return geo.matched_f1(pairs, len(a.keypoints), len(b.keypoints))

    def media_of(self, payload: BaseModel) -> list[str]:
        assert isinstance(payload, ImagePayload)
        return [payload.image]

    def demo_schema(self) -> dict[str, Any]:
        """Portrait photos: a face box with five landmarks, person boxes, a quality class."""
        return {
            "labels": [{"name": "face", "key": "f"}, {"name": "person", "key": "p"}],
            "tools": ["bbox", "keypoints", "classify"],
            "keypoints": {"names": ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"],
                          "label": "face"},
            "classes": ["usable", "blurry", "no_face"],
            "attributes": [
                {"name": "occluded", "type": "bool"},
                {"name": "pose", "type": "choice", "choices": ["frontal", "profile", "other"]},
            ],
        }


IMAGE_ANNOTATION = register(ImageAnnotation())
