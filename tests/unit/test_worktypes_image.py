"""The image_annotation work type: schema, payload and answer checks, agreement, geometry."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.errors import ValidationFailed
from seatflow.worktypes import REGISTRY, get_work_type
from seatflow.worktypes import _geometry as geo
from seatflow.worktypes.image import ImageAnswer

WT = get_work_type("image_annotation")
NAMES = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
ALL_TOOLS: dict[str, Any] = {
    "labels": [{"name": "face"}, {"name": "person"}, {"name": "car"}],
    "tools": ["bbox", "keypoints", "polygon", "classify"],
    "keypoints": {"names": NAMES},
    "classes": ["usable", "blurry"],
    "attributes": [
        {"name": "occluded", "type": "bool"},
        {"name": "pose", "type": "choice", "choices": ["frontal", "profile"]},
        {"name": "note", "type": "text"},
    ],
}


def demo() -> Any:
    return WT.parse_schema(WT.demo_schema())


def full() -> Any:
    return WT.parse_schema(ALL_TOOLS)


def payload(schema: Any = None, **over: Any) -> Any:
    data = {"image": "faces/0001.jpg", "width": 640, "height": 480, **over}
    return WT.parse_payload(data, schema or demo())


def face(dx: float = 0.0, v: int = 2) -> dict[str, Any]:
    pts = [[240, 200, v], [300, 200, v], [270, 240, v], [250, 270, v], [290, 270, v]]
    return {"label": "face", "points": [[x + dx, y, vis] for x, y, vis in pts]}


def good() -> dict[str, Any]:
    return {
        "boxes": [{"label": "face", "x": 200, "y": 150, "w": 140, "h": 160,
                   "attributes": {"occluded": False, "pose": "frontal"}}],
        "keypoints": [face()],
        "class": "usable",
    }


def parse(answer: dict[str, Any], schema: Any = None, pl: Any = None) -> Any:
    schema = schema or demo()
    return WT.parse_answer(answer, schema, pl or payload(schema))


def fails(answer: dict[str, Any], schema: Any = None, pl: Any = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        parse(answer, schema, pl)
    return info.value


# -- registration, schema, payload -----------------------------------------------------------
def test_registered_with_fixed_name() -> None:
    assert REGISTRY["image_annotation"] is WT
    assert WT.name == "image_annotation"


def test_demo_schema_is_faces_with_five_landmarks() -> None:
    schema = demo()
    assert [lb.name for lb in schema.labels] == ["face", "person"]
    assert schema.keypoints.names == NAMES
    assert {"bbox", "keypoints"} <= set(schema.tools)


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"tools": ["brush"]}, "label_schema.tools[0]", "must be one of"),
        ({"tools": []}, "label_schema.tools", "at least 1"),
        ({"tools": ["bbox", "bbox"]}, "label_schema.tools[1]", "appears twice"),
        ({"keypoints": None}, "label_schema.keypoints", "keypoint names"),
        ({"classes": None}, "label_schema.classes", "at least one class"),
        ({"labels": []}, "label_schema.labels", "at least one label"),
        ({"labels": [{"name": "face"}, {"name": "face"}]}, "label_schema.labels[1]", "'face' appears twice"),
        ({"labels": [{"name": "a", "key": "f"}, {"name": "c"}, {"name": "b", "key": "f"}]},
         "label_schema.labels[2].key", "shortcut key 'f' is already used by 'a'"),
        ({"keypoints": {"names": NAMES, "label": "dog"}}, "label_schema.keypoints.label",
         "'dog' is not a label"),
        ({"keypoints": {"names": ["eye", "eye"]}}, "label_schema.keypoints.names[1]", "twice"),
        ({"attributes": [{"name": "pose", "type": "choice"}]}, "label_schema.attributes[0].choices",
         "needs choices"),
        ({"attributes": [{"name": "ok", "type": "bool", "choices": ["y"]}]},
         "label_schema.attributes[0].choices", "only choice attributes"),
        ({"colour": "red"}, "label_schema.colour", "unknown field"),
    ],
)
def test_bad_schema(change: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_schema({**ALL_TOOLS, **change})
    assert info.value.field == field
    assert text in info.value.detail
    assert info.value.detail.startswith(field)


def test_classify_only_schema_needs_no_labels() -> None:
    schema = WT.parse_schema({"tools": ["classify"], "classes": ["cat", "dog"]})
    assert parse({"class": "dog"}, schema).class_ == "dog"


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"width": 0}, "payload.width", "must be more than 0"),
        ({"height": -1}, "payload.height", "must be more than 0"),
        ({"image": ""}, "payload.image", "at least 1"),
        ({"image": "   "}, "payload.image", "empty"),
        ({"exif": {}}, "payload.exif", "unknown field"),
        ({"predictions": {"boxes": [{"label": "cat", "x": 1, "y": 1, "w": 2, "h": 2}]}},
         "payload.predictions.boxes[0].label", "'cat' is not a label"),
        ({"predictions": {"boxes": [{"label": "face"}]}}, "payload.predictions.boxes[0].x", "required"),
    ],
)
def test_bad_payload(change: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        payload(**change)
    assert info.value.field == field
    assert text in info.value.detail


def test_missing_image_is_named() -> None:
    with pytest.raises(ValidationFailed) as info:
        WT.parse_payload({"width": 10, "height": 10}, demo())
    assert info.value.field == "payload.image"
    assert "required" in info.value.detail


def test_payload_with_predictions_and_media() -> None:
    pl = payload(predictions=good(), meta={"camera": "A7"})
    assert pl.predictions["class"] == "usable"
    assert WT.media_of(pl) == ["faces/0001.jpg"]


# -- answers ---------------------------------------------------------------------------------
def test_valid_answer_round_trips_with_class_alias() -> None:
    answer = parse(good())
    dumped = answer.model_dump(mode="json")
    assert dumped["class"] == "usable" and "class_" not in dumped
    assert parse(dumped) == answer


def test_empty_answer_is_valid() -> None:
    answer = parse({})
    assert answer.boxes == [] and answer.class_ is None


def test_box_on_the_edge_within_tolerance() -> None:
    parse({"boxes": [{"label": "face", "x": -0.5, "y": 0, "w": 641, "h": 480.5}]})


@pytest.mark.parametrize(
    ("answer", "field", "text"),
    [
        ({"boxes": [{"label": "cat", "x": 1, "y": 1, "w": 5, "h": 5}]}, "answer.boxes[0].label",
         "'cat' is not a label of this project; labels are: face, person"),
        ({"boxes": [{"label": "face", "x": 1, "y": 1, "w": 0, "h": 5}]}, "answer.boxes[0].w",
         "greater than 0, got 0x5"),
        ({"boxes": [{"label": "face", "x": 1, "y": 1, "w": 3, "h": -2}]}, "answer.boxes[0].h",
         "greater than 0, got 3x-2"),
        ({"boxes": [{"label": "face", "x": 1, "y": 1, "w": 5, "h": 5},
                    {"label": "face", "x": 10, "y": 10, "w": 890, "h": 30}]}, "answer.boxes[1]",
         "box (10,10)-(900,40) lies outside the 640x480 image"),
        ({"boxes": [{"label": "face", "x": -0.6, "y": 0, "w": 10, "h": 10}]}, "answer.boxes[0]",
         "lies outside the 640x480 image"),
        ({"boxes": [{"label": "face", "x": 0, "y": 0, "w": 10, "h": 480.6}]}, "answer.boxes[0]",
         "(0,0)-(10,480.6)"),
        ({"boxes": [{"label": "face", "x": "left", "y": 0, "w": 1, "h": 1}]}, "answer.boxes[0].x",
         "must be a number"),
        ({"boxes": [{"label": "face", "x": math.nan, "y": 0, "w": 1, "h": 1}]}, "answer.boxes[0].x",
         "finite"),
        ({"boxes": [{"label": "face", "x": 0, "y": 0, "w": 1, "h": 1, "colour": "red"}]},
         "answer.boxes[0].colour", "unknown field"),
        ({"boxes": [{"label": "face", "x": 0, "y": 0, "w": 1, "h": 1, "attributes": {"age": 3}}]},
         "answer.boxes[0].attributes.age", "'age' is not an attribute of this project; attributes are: "),
        ({"boxes": [{"label": "face", "x": 0, "y": 0, "w": 1, "h": 1, "attributes": {"occluded": "yes"}}]},
         "answer.boxes[0].attributes.occluded", "use true or false"),
        ({"boxes": [{"label": "face", "x": 0, "y": 0, "w": 1, "h": 1, "attributes": {"pose": "back"}}]},
         "answer.boxes[0].attributes.pose", "choices are: frontal, profile, other"),
        ({"keypoints": [{"label": "face", "points": face()["points"][:4]}]}, "answer.keypoints[0].points",
         "expected 5 points (left_eye, right_eye, nose, mouth_left, mouth_right), got 4"),
        ({"keypoints": [{"points": [*face()["points"][:2], [700, 20, 2], *face()["points"][3:]]}]},
         "answer.keypoints[0].points[2]", "point 'nose' (700,20) lies outside the 640x480 image"),
        ({"keypoints": [{"points": [[1, 1, 3]] * 5}]}, "answer.keypoints[0].points[0]",
         "0 (not placed), 1 (occluded) or 2 (visible), got 3"),
        ({"keypoints": [{"points": [[1, 1]] * 5}]}, "answer.keypoints[0].points[0][2]", "required"),
        ({"keypoints": [{"label": "person", "points": face()["points"]}]}, "answer.keypoints[0].label",
         "belong to 'face', not 'person'"),
        ({"keypoints": [{"label": "dog", "points": face()["points"]}]}, "answer.keypoints[0].label",
         "'dog' is not a label"),
        ({"polygons": [{"label": "face", "points": [[1, 1], [5, 5], [1, 5]]}]}, "answer.polygons",
         "does not use polygons; its tools are: bbox, keypoints, classify"),
        ({"class": "cat"}, "answer.class",
         "'cat' is not a class of this project; classes are: usable, blurry"),
        ({"boxes": [], "shapes": []}, "answer.shapes", "unknown field"),
    ],
)
def test_bad_answer_demo_schema(answer: dict[str, Any], field: str, text: str) -> None:
    err = fails(answer)
    assert err.field == field
    assert text in err.detail
    assert err.detail.startswith(field + ":")


@pytest.mark.parametrize(
    ("answer", "field", "text"),
    [
        ({"polygons": [{"label": "car", "points": [[1, 1], [5, 5]]}]}, "answer.polygons[0].points",
         "at least 3 points, got 2"),
        ({"polygons": [{"label": "bus", "points": [[1, 1], [5, 5], [1, 5]]}]}, "answer.polygons[0].label",
         "'bus' is not a label of this project; labels are: face, person, car"),
        ({"polygons": [{"label": "car", "points": [[1, 1], [5, 5], [1, 500]]}]},
         "answer.polygons[0].points[2]", "point (1,500) lies outside the 640x480 image"),
    ],
)
def test_bad_polygons(answer: dict[str, Any], field: str, text: str) -> None:
    err = fails(answer, full())
    assert err.field == field
    assert text in err.detail


@pytest.mark.parametrize(
    ("tools", "answer", "field", "what"),
    [
        (["keypoints"], {"boxes": [{"label": "face", "x": 0, "y": 0, "w": 1, "h": 1}]}, "answer.boxes",
         "bounding boxes"),
        (["bbox"], {"keypoints": [face()]}, "answer.keypoints", "keypoints"),
        (["bbox"], {"class": "usable"}, "answer.class", "whole-image classes"),
    ],
)
def test_tool_not_enabled(tools: list[str], answer: dict[str, Any], field: str, what: str) -> None:
    schema = WT.parse_schema({**ALL_TOOLS, "tools": tools})
    err = fails(answer, schema)
    assert err.field == field
    assert f"does not use {what}; its tools are: {', '.join(tools)}" in err.detail


def test_unplaced_keypoint_coordinates_are_ignored() -> None:
    pts = face()["points"]
    pts[2] = [-50, 9999, 0]
    parse({"keypoints": [{"label": "face", "points": pts}]})


def test_attribute_values_of_all_types() -> None:
    box = {"label": "car", "x": 0, "y": 0, "w": 4, "h": 4,
           "attributes": {"occluded": True, "pose": "profile", "note": "red"}}
    parse({"boxes": [box]}, full())
    box["attributes"] = {"note": 5}
    assert fails({"boxes": [box]}, full()).field == "answer.boxes[0].attributes.note"


# -- agreement -------------------------------------------------------------------------------
def box(x: float, y: float = 100, w: float = 100, h: float = 100, label: str = "face") -> dict[str, Any]:
    return {"label": label, "x": x, "y": y, "w": w, "h": h}


def cmp(a: dict[str, Any], b: dict[str, Any], schema: Any = None) -> float:
    schema = schema or full()
    return WT.compare(parse(a, schema), parse(b, schema), schema)


def test_compare_identical_and_empty() -> None:
    assert cmp(good(), good(), demo()) == 1.0
    assert cmp({}, {}) == 1.0


def test_compare_boxes_iou_weighted_f1() -> None:
    # shifted 10 px: intersection 90x100, union 11000
    assert cmp({"boxes": [box(100)]}, {"boxes": [box(110)]}) == pytest.approx(9000 / 11000)
    # one extra box in b: 2 * 1 / (1 + 2)
    assert cmp({"boxes": [box(100)]}, {"boxes": [box(100), box(300)]}) == pytest.approx(2 / 3)
    # below IoU 0.5 nothing matches
    assert cmp({"boxes": [box(100)]}, {"boxes": [box(160)]}) == 0.0
    # same place, different label
    assert cmp({"boxes": [box(100)]}, {"boxes": [box(100, label="car")]}) == 0.0
    # order does not matter
    assert cmp({"boxes": [box(100), box(300)]}, {"boxes": [box(300), box(100)]}) == 1.0


def test_compare_is_mean_of_components() -> None:
    a = {"boxes": [box(100)], "class": "usable"}
    b = {"boxes": [box(110)], "class": "blurry"}
    assert cmp(a, b) == pytest.approx((9000 / 11000 + 0.0) / 2)
    assert cmp({"class": "usable"}, {}) == 0.0


def test_compare_keypoints_oks_normalised_by_box() -> None:
    frame = box(200, 150, 200, 200)  # diagonal 282.8, sigma = 0.05 * diagonal = 14.14 px
    a = {"boxes": [frame], "keypoints": [face()]}
    b = {"boxes": [frame], "keypoints": [face(dx=10)]}
    expected = math.exp(-100 / (2 * (0.05 * math.hypot(200, 200)) ** 2))
    assert cmp(a, b) == pytest.approx((1.0 + expected) / 2)
    assert cmp(a, {"boxes": [frame], "keypoints": [face(dx=200)]}) == pytest.approx(0.5, abs=1e-6)


def test_compare_keypoints_visibility() -> None:
    a = face()
    b = face()
    b["points"][4] = [0, 0, 0]
    assert cmp({"keypoints": [a]}, {"keypoints": [b]}) == pytest.approx(4 / 5)
    both = face()
    both["points"][4] = [0, 0, 0]
    assert cmp({"keypoints": [b]}, {"keypoints": [both]}) == 1.0
    assert cmp({"keypoints": [a]}, {"keypoints": []}) == 0.0


def test_compare_polygons() -> None:
    sq = [[100, 100], [200, 100], [200, 200], [100, 200]]
    half = [[150, 100], [250, 100], [250, 200], [150, 200]]
    far = [[400, 400], [450, 400], [450, 450]]

    def polys(*shapes: list[list[int]], label: str = "car") -> dict[str, Any]:
        return {"polygons": [{"label": label, "points": pts} for pts in shapes]}

    assert cmp(polys(sq, far), polys(far, sq)) == 1.0
    assert cmp(polys(sq), polys(far)) == 0.0
    assert cmp(polys(sq), polys(sq, label="face")) == 0.0
    # IoU 1/3 is below the 0.5 threshold
    assert cmp(polys(sq), polys(half)) == 0.0
    # one of two matched exactly: 2 * 1 / (1 + 2)
    assert cmp(polys(sq), polys(sq, far)) == pytest.approx(2 / 3)


# -- geometry --------------------------------------------------------------------------------
def test_geometry_helpers() -> None:
    assert geo.box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert geo.box_iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    sims = {(0, 0): 0.6, (0, 1): 0.9, (1, 1): 0.8, (1, 0): 0.1}
    assert geo.greedy_match(2, 2, lambda i, j: sims[i, j], 0.5) == [(0, 1, 0.9)]
    assert geo.oks([(0, 0, 2)], [(3, 4, 2)], scale=100) == pytest.approx(math.exp(-25 / 50))
    assert geo.polygon_area([(0, 0), (4, 0), (4, 3)]) == 6.0
    sq = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    shifted = [(5.0, 0.0), (15.0, 0.0), (15.0, 10.0), (5.0, 10.0)]
    assert geo.polygon_iou(sq, sq) == 1.0
    assert geo.polygon_iou(sq, shifted) == pytest.approx(1 / 3, abs=0.02)
    tri = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]
    assert geo.polygon_iou(sq, tri) == pytest.approx(0.5, abs=0.02)


# -- properties ------------------------------------------------------------------------------
Case = tuple[Any, dict[str, Any]]


@st.composite
def image_and_answer(draw: st.DrawFn) -> Case:
    w = draw(st.integers(1, 4000))
    h = draw(st.integers(1, 4000))
    finite: dict[str, Any] = {"allow_nan": False, "allow_infinity": False}

    def inside(limit: int) -> float:
        return draw(st.floats(0, limit, **finite))

    boxes = []
    for _ in range(draw(st.integers(0, 4))):
        x = draw(st.floats(0, w - 0.02, **finite))
        y = draw(st.floats(0, h - 0.02, **finite))
        bw = draw(st.floats(0.01, w - x, **finite))
        bh = draw(st.floats(0.01, h - y, **finite))
        label = draw(st.sampled_from(["face", "person", "car"]))
        boxes.append({"label": label, "x": x, "y": y, "w": bw, "h": bh})
    keypoints = [{"points": [[inside(w), inside(h), draw(st.sampled_from([0, 1, 2]))] for _ in NAMES]}
                 for _ in range(draw(st.integers(0, 2)))]
    polygons = [{"label": "car", "points": [[inside(w), inside(h)] for _ in range(draw(st.integers(3, 6)))]}
                for _ in range(draw(st.integers(0, 2)))]
    cls = draw(st.sampled_from([None, "usable", "blurry"]))
    return payload(full(), width=w, height=h), {"boxes": boxes, "keypoints": keypoints,
                                                 "polygons": polygons, "class": cls}


@settings(max_examples=60, deadline=None)
@given(image_and_answer())
def test_shapes_inside_the_image_validate_and_agree_with_themselves(case: Case) -> None:
    pl, data = case
    schema = full()
    answer = WT.parse_answer(data, schema, pl)
    assert WT.compare(answer, answer, schema) == 1.0
    assert isinstance(answer, ImageAnswer)


@settings(max_examples=40, deadline=None)
@given(image_and_answer(), image_and_answer())
def test_compare_stays_in_unit_interval(one: Case, two: Case) -> None:
    schema = full()
    a = WT.parse_answer(one[1], schema, one[0])
    b = WT.parse_answer(two[1], schema, two[0])
    assert 0.0 <= WT.compare(a, b, schema) <= 1.0
