"""Gold scoring per work type: exact classes, Hungarian box matching, OKS, span F1, malformed input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.errors import ValidationFailed
from seatflow.quality.scoring import Score, Thresholds, hungarian_match, oks, score_answer, span_f1
from seatflow.worktypes import _geometry as geo


def box(label: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"label": label, "x": x, "y": y, "w": w, "h": h}


# -- exact matches ---------------------------------------------------------------------------------

def test_image_class_exact_match() -> None:
    right = score_answer("image_annotation", {"class": "usable"}, {"class": "usable"})
    wrong = score_answer("image_annotation", {"class": "blurry"}, {"class": "usable"})
    assert isinstance(right, Score)
    assert (right.value, right.passed) == (1.0, True)
    assert (wrong.value, wrong.passed) == (0.0, False)
    assert wrong.details["components"]["class"] == {"score": 0.0, "gold": "usable", "answer": "blurry"}


def test_missing_class_is_wrong() -> None:
    assert score_answer("image_annotation", {}, {"class": "usable"}).value == 0.0


def test_text_classes_exact_set_match() -> None:
    assert score_answer("text_annotation", {"classes": ["a", "b"]}, {"classes": ["b", "a"]}).value == 1.0
    assert score_answer("text_annotation", {"classes": ["a"]}, {"classes": ["a", "b"]}).value == 0.0


def test_moderation_decision() -> None:
    approve = {"decision": "approve"}
    reject = {"decision": "reject", "reasons": ["sexual", "violence"]}
    assert score_answer("moderation", approve, approve).passed
    assert score_answer("moderation", approve, reject).value == 0.0
    assert score_answer("moderation", reject, reject).value == 1.0
    partly = score_answer("moderation", {"decision": "reject", "reasons": ["sexual"]}, reject)
    assert partly.value == pytest.approx(0.75)  # right decision, reasons Jaccard 1/2
    assert not partly.passed
    assert partly.details["components"]["decision"]["reasons_jaccard"] == 0.5


def test_ticket_disposition_ignores_the_reply() -> None:
    gold = {"disposition": "refund"}  # a gold ticket needs no reply
    assert score_answer("service_ticket", {"reply": "Refunded.", "disposition": "refund"}, gold).value == 1.0
    assert score_answer("service_ticket", {"reply": "Hi", "disposition": "resolved"}, gold).value == 0.0


def test_nothing_in_both_agrees() -> None:
    s = score_answer("image_annotation", {}, {})
    assert (s.value, s.passed, s.details["components"]) == (1.0, True, {})


# -- boxes -----------------------------------------------------------------------------------------

def test_box_iou_threshold_and_label() -> None:
    gold = {"boxes": [box("face", 0, 0, 10, 10)]}
    near = {"boxes": [box("face", 1, 0, 10, 10)]}  # IoU 90/110 = 0.818
    far = {"boxes": [box("face", 6, 0, 10, 10)]}  # IoU 40/160 = 0.25
    other_label = {"boxes": [box("person", 0, 0, 10, 10)]}
    assert score_answer("image_annotation", near, gold).value == 1.0
    assert score_answer("image_annotation", far, gold).value == 0.0
    assert score_answer("image_annotation", other_label, gold).value == 0.0
    strict = score_answer("image_annotation", near, gold, thresholds={"iou": 0.9})
    assert strict.value == 0.0
    pair = score_answer("image_annotation", near, gold).details["components"]["boxes"]["pairs"][0]
    assert pair["similarity"] == pytest.approx(90 / 110, abs=1e-6)


def test_hungarian_beats_greedy_on_several_boxes() -> None:
    # IoU matrix gold x answer = [[0.571, 0.833], [0.375, 0.571]]: best-first greedy pairs g0-a1
    # (0.833) and leaves g1-a0 below 0.5, one match; the optimal assignment finds two.
    gold = {"boxes": [box("face", 0, 0, 10, 10), box("face", 2, 0, 10, 10)]}
    answer = {"boxes": [box("face", -4, 0, 12, 10), box("face", -2, 0, 12, 10)]}
    sim = lambda i, j: geo.box_iou(  # noqa: E731
        tuple(gold["boxes"][i][k] for k in "xywh"), tuple(answer["boxes"][j][k] for k in "xywh"))
    assert len(geo.greedy_match(2, 2, sim, 0.5)) == 1
    s = score_answer("image_annotation", answer, gold)
    comp = s.details["components"]["boxes"]
    assert comp["matched"] == 2 and s.value == 1.0
    assert {(p["gold"], p["answer"]) for p in comp["pairs"]} == {(0, 0), (1, 1)}


def test_extra_and_missing_boxes_score_max_or_f1() -> None:
    gold = {"boxes": [box("face", 0, 0, 10, 10), box("face", 50, 50, 10, 10), box("person", 0, 0, 40, 80)]}
    answer = {"boxes": [box("face", 0, 0, 10, 10), box("person", 1, 1, 40, 80)]}
    assert score_answer("image_annotation", answer, gold).value == pytest.approx(2 / 3)
    f1 = score_answer("image_annotation", answer, gold, thresholds={"box_metric": "f1"})
    assert f1.value == pytest.approx(2 * 2 / 5)
    extra = {"boxes": [*gold["boxes"], box("face", 100, 100, 5, 5)]}
    assert score_answer("image_annotation", extra, gold).value == pytest.approx(3 / 4)


def test_hungarian_match_prefers_more_pairs_then_higher_similarity() -> None:
    m = np.array([[0.9, 0.6], [0.6, 0.0]])
    assert hungarian_match(m, 0.5) == [(0, 1, 0.6), (1, 0, 0.6)]
    m2 = np.array([[0.9, 0.7], [0.7, 0.95]])
    assert hungarian_match(m2, 0.5) == [(0, 0, 0.9), (1, 1, 0.95)]
    assert hungarian_match(np.zeros((0, 3)), 0.5) == []
    assert hungarian_match(np.array([[0.2, 0.3]]), 0.5) == []


def test_image_components_average() -> None:
    gold = {"class": "usable", "boxes": [box("face", 0, 0, 10, 10)]}
    answer = {"class": "blurry", "boxes": [box("face", 0, 0, 10, 10)]}
    s = score_answer("image_annotation", answer, gold)
    assert s.value == 0.5 and set(s.details["components"]) == {"class", "boxes"}


def test_polygons_matched_by_iou() -> None:
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    gold = {"polygons": [{"label": "face", "points": square}]}
    assert score_answer("image_annotation", gold, gold).value == 1.0
    moved = {"polygons": [{"label": "face", "points": [(x + 8, y) for x, y in square]}]}
    assert score_answer("image_annotation", moved, gold).value == 0.0


# -- keypoints -------------------------------------------------------------------------------------

FACE = box("face", 0, 0, 100, 100)  # s = sqrt(100 * 100) = 100


def kps(points: list[tuple[float, float, int]]) -> dict[str, Any]:
    return {"label": "face", "points": points}


GOLD_POINTS = [(30.0, 40.0, 2), (70.0, 40.0, 2), (50.0, 60.0, 2)]


def test_oks_exact_and_shifted() -> None:
    gold = {"boxes": [FACE], "keypoints": [kps(GOLD_POINTS)]}
    same = score_answer("image_annotation", gold, gold)
    assert same.value == 1.0
    assert same.details["components"]["keypoints"]["scales"] == [100.0]
    # every point off by k * s = 0.1 * 100 = 10 px: OKS exp(-1/2) = 0.607 >= 0.5, a match
    shifted = [(x + 10, y, v) for x, y, v in GOLD_POINTS]
    s = score_answer("image_annotation", {"boxes": [FACE], "keypoints": [kps(shifted)]}, gold)
    pair = s.details["components"]["keypoints"]["pairs"][0]
    assert pair["similarity"] == pytest.approx(math.exp(-0.5), abs=1e-6)
    assert s.details["components"]["keypoints"]["score"] == 1.0
    # off by 15 px: exp(-1.125) = 0.325 < 0.5, not a match
    far = [(x + 15, y, v) for x, y, v in GOLD_POINTS]
    s2 = score_answer("image_annotation", {"boxes": [FACE], "keypoints": [kps(far)]}, gold)
    assert s2.details["components"]["keypoints"]["score"] == 0.0
    assert s2.details["components"]["keypoints"]["matched"] == 0


def test_oks_function_visibility_and_per_point_k() -> None:
    gold = [(0.0, 0.0, 2), (10.0, 0.0, 0), (20.0, 0.0, 2)]
    assert oks(gold, [(0.0, 0.0, 2), (99.0, 99.0, 0), (20.0, 0.0, 2)], 10, 0.1) == 1.0  # absent in both: 1
    assert oks(gold, [(0.0, 0.0, 2), (10.0, 0.0, 2), (20.0, 0.0, 0)], 10, 0.1) == pytest.approx(1 / 3)
    one = oks([(0.0, 0.0, 2)], [(1.0, 0.0, 2)], 10, (0.1,))
    assert one == pytest.approx(math.exp(-1 / (2 * 100 * 0.01)))
    with pytest.raises(ValidationFailed) as exc:
        oks(gold, gold, 10, (0.1, 0.1))
    assert exc.value.field == "thresholds.keypoint_k"


def test_keypoint_scale_without_box_uses_extent_then_image_size() -> None:
    gold = {"keypoints": [kps(GOLD_POINTS)]}  # extent 40 x 20 -> s = sqrt(800)
    s = score_answer("image_annotation", gold, gold)
    assert s.details["components"]["keypoints"]["scales"] == [pytest.approx(math.sqrt(800))]
    single = {"keypoints": [{"label": "face", "points": [(5.0, 5.0, 2)]}]}
    s2 = score_answer("image_annotation", single, single, image_size=(640, 360))
    assert s2.details["components"]["keypoints"]["scales"] == [pytest.approx(math.sqrt(640 * 360))]


def test_keypoints_several_sets_and_wrong_length() -> None:
    other = [(x + 200, y, v) for x, y, v in GOLD_POINTS]
    gold = {"boxes": [FACE, box("face", 200, 0, 100, 100)], "keypoints": [kps(GOLD_POINTS), kps(other)]}
    answer = {"boxes": gold["boxes"], "keypoints": [kps(other)]}
    s = score_answer("image_annotation", answer, gold)
    comp = s.details["components"]["keypoints"]
    assert comp["pairs"] == [{"gold": 1, "answer": 0, "similarity": 1.0}]
    assert comp["score"] == 0.5
    with pytest.raises(ValidationFailed) as exc:
        score_answer("image_annotation", {"keypoints": [kps(GOLD_POINTS[:2])]}, gold)
    assert exc.value.field == "answer.keypoints[0].points"


# -- spans -----------------------------------------------------------------------------------------

def test_span_f1_values() -> None:
    gold = [(0, 5, "PER"), (10, 15, "ORG"), (20, 25, "LOC")]
    answer = [(0, 5, "PER"), (10, 15, "LOC"), (30, 35, "LOC"), (20, 25, "LOC")]
    stats = span_f1(gold, answer)
    assert stats["matched"] == 2
    assert stats["precision"] == pytest.approx(2 / 4) and stats["recall"] == pytest.approx(2 / 3)
    assert stats["f1"] == pytest.approx(2 * 2 / 7)
    assert span_f1([], [])["f1"] == 1.0
    assert span_f1(gold, [])["f1"] == 0.0


def test_text_span_scoring_and_threshold() -> None:
    gold = {"spans": [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 15, "label": "ORG"}]}
    off_by_one = {"spans": [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 16, "label": "ORG"}]}
    s = score_answer("text_annotation", off_by_one, gold)
    assert s.value == 0.5 and not s.passed
    assert score_answer("text_annotation", off_by_one, gold, thresholds={"pass_score": 0.5}).passed
    both = score_answer("text_annotation", {**gold, "classes": ["positive"]}, {**gold, "classes": ["negative"]})
    assert both.value == 0.5


# -- malformed input -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("work_type", "answer", "gold", "field"),
    [
        ("image_annotation", {"boxes": [{"label": "face", "x": 0, "y": 0, "w": 1}]}, {}, "answer.boxes[0].h"),
        ("image_annotation", {}, {"boxes": [box("face", 0, 0, 0, 5)]}, "gold.boxes[0].w"),
        ("image_annotation", {"boxes": [box("face", 0, 0, 5, -1)]}, {}, "answer.boxes[0].h"),
        ("image_annotation", {"bogus": 1}, {}, "answer.bogus"),
        ("image_annotation", {}, {"keypoints": [kps([(0, 0, 5)])]}, "gold.keypoints[0].points[0]"),
        ("image_annotation", {"polygons": [{"label": "f", "points": [(0, 0), (1, 1)]}]}, {},
         "answer.polygons[0].points"),
        ("image_annotation", {}, {"keypoints": [kps(GOLD_POINTS), kps(GOLD_POINTS[:1])]}, "gold.keypoints"),
        ("image_annotation", [1, 2], {}, "answer"),
        ("text_annotation", {"spans": [{"start": 5, "end": 5, "label": "PER"}]}, {}, "answer.spans[0].end"),
        ("text_annotation", {}, {"spans": [{"start": -1, "end": 5, "label": "PER"}]}, "gold.spans[0].start"),
        ("moderation", {"decision": "maybe"}, {"decision": "approve"}, "answer.decision"),
        ("moderation", {"decision": "approve"}, {}, "gold.decision"),
        ("service_ticket", {"reply": "x"}, {"disposition": "refund"}, "answer.disposition"),
    ],
)
def test_malformed_input_names_the_field(work_type: str, answer: Any, gold: Any, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        score_answer(work_type, answer, gold)
    assert exc.value.field == field
    assert str(exc.value).startswith(field)


def test_unknown_work_type() -> None:
    with pytest.raises(ValidationFailed) as exc:
        score_answer("nope", {}, {})
    assert exc.value.field == "work_type" and "'nope'" in str(exc.value)


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [({"iou": 1.5}, "thresholds.iou"), ({"pass_score": -0.1}, "thresholds.pass_score"),
     ({"oks": "high"}, "thresholds.oks"), ({"keypoint_k": 0}, "thresholds.keypoint_k"),
     ({"keypoint_k": [0.1, -1]}, "thresholds.keypoint_k"), ({"box_metric": "mean"}, "thresholds.box_metric"),
     ({"iuo": 0.5}, "thresholds.iuo")],
)
def test_bad_thresholds(thresholds: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        score_answer("image_annotation", {}, {}, thresholds=thresholds)
    assert exc.value.field == field


def test_thresholds_object_and_models_accepted() -> None:
    from seatflow.worktypes.image import ImageAnswer

    gold = ImageAnswer.model_validate({"class": "usable"})
    s = score_answer("image_annotation", {"class": "usable"}, gold, thresholds=Thresholds(pass_score=1.0))
    assert s.passed


# -- properties ------------------------------------------------------------------------------------

_coord = st.floats(min_value=0, max_value=500, allow_nan=False)
_size = st.floats(min_value=1, max_value=200, allow_nan=False)
_box = st.builds(box, st.sampled_from(["face", "person"]), _coord, _coord, _size, _size)
_points = st.lists(st.tuples(_coord, _coord, st.sampled_from([0, 1, 2])), min_size=5, max_size=5)
_image = st.fixed_dictionaries(
    {"boxes": st.lists(_box, max_size=4), "keypoints": st.lists(_points.map(kps), max_size=2)},
    optional={"class": st.sampled_from(["usable", "blurry"])},
)


@settings(max_examples=60, deadline=None)
@given(_image, _image)
def test_image_scores_stay_in_range_and_an_answer_matches_itself(a: dict[str, Any], b: dict[str, Any]) -> None:
    s = score_answer("image_annotation", a, b)
    assert 0.0 <= s.value <= 1.0
    assert s.passed == (s.value >= 0.8)
    assert score_answer("image_annotation", a, a).value == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(1, 5), st.sampled_from(["PER", "ORG"])), max_size=6),
       st.lists(st.tuples(st.integers(0, 20), st.integers(1, 5), st.sampled_from(["PER", "ORG"])), max_size=6))
def test_span_f1_is_symmetric_and_bounded(a: list[tuple[int, int, str]], b: list[tuple[int, int, str]]) -> None:
    sa = [(start, start + length, label) for start, length, label in a]
    sb = [(start, start + length, label) for start, length, label in b]
    f = span_f1(sa, sb)["f1"]
    assert 0.0 <= f <= 1.0 and f == pytest.approx(span_f1(sb, sa)["f1"])
    assert span_f1(sa, sa)["f1"] == 1.0
