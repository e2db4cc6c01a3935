"""Score a worker's answer against a gold (known) answer, per work type.

One entry point, :func:`score_answer`, returns a :class:`Score`: a value in [0, 1], whether it
passes, and the details of every component. An answer is split into components (an image answer
into its class, boxes, keypoint sets and polygons; a text answer into classes and spans; ...);
a component is scored when the gold or the answer uses it, and the value is the mean of the
scored components (1.0 when neither uses anything: both say "nothing here").

* classes, moderation decisions, ticket dispositions: exact match (1 or 0). A moderation
  rejection with the right decision but other reasons scores ``(1 + jaccard(reasons)) / 2``.
* boxes and polygons: gold and answer shapes are paired by the Hungarian algorithm
  (:func:`scipy.optimize.linear_sum_assignment`), only shapes of the same label with
  IoU >= ``thresholds.iou``; the matching first maximises the number of pairs, then their IoU.
  The score is ``matched / max(n_gold, n_answer)`` (``box_metric="max"``, the default) or the
  F1 ``2 * matched / (n_gold + n_answer)`` (``box_metric="f1"``).
* keypoint sets: object keypoint similarity (OKS, as COCO's) between a gold set and an answer set
  of the same label::

      oks = mean over points of  exp(-d^2 / (2 * s^2 * k^2))

  where ``d`` is the distance between the gold and answered point, ``s = sqrt(area)`` the
  object's scale and ``k`` the per-point falloff (``thresholds.keypoint_k``, default 0.1: a point
  off by 10 % of the object's size scores exp(-1/2) = 0.61; COCO's body sigmas correspond to
  k = 2 * sigma = 0.05 .. 0.18). A point absent (visibility 0) in both counts 1, in one only 0.
  The area is that of the smallest gold box of the same label holding the gold points (10 %
  margin), else of the gold points' extent, else (a single point) ``image_size`` when given,
  else 1 pixel. Sets are paired by the Hungarian algorithm on OKS; a pair counts as correct
  when its OKS >= ``thresholds.oks``; the score is ``correct / max(n_gold, n_answer)``.
* text spans: F1 of exact ``(start, end, label)`` matches.

``passed`` is ``value >= thresholds.pass_score``. Malformed gold or answers raise
:class:`~seatflow.errors.ValidationFailed` naming the field (``answer.boxes[1].w``, ``gold.class``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ValidationError
from scipy.optimize import linear_sum_assignment

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.worktypes import _geometry as geo
from seatflow.worktypes.base import WorkType, first_error, get_work_type
from seatflow.worktypes.image import ImageAnswer, KeypointSet
from seatflow.worktypes.moderation import ModerationAnswer
from seatflow.worktypes.text import TextAnswer
from seatflow.worktypes.ticket import TicketAnswer

#: Keypoints may lie this share of a box's longer side outside it and still belong to it.
KEYPOINT_BOX_MARGIN = 0.1


@dataclass(frozen=True)
class Thresholds:
    """What counts as right. Defaults suit honeypot checks; projects may override any of them."""

    pass_score: float = 0.8  # the value an answer needs to pass
    iou: float = 0.5  # boxes/polygons: least IoU for a gold and an answered shape to be the same object
    oks: float = 0.5  # keypoint sets: least OKS for an answered set to count as correct
    keypoint_k: float | tuple[float, ...] = 0.1  # OKS falloff per point (one value for all, or one per point)
    box_metric: Literal["max", "f1"] = "max"  # matched / max(n_gold, n_answer), or F1

    def __post_init__(self) -> None:
        for name in ("pass_score", "iou", "oks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValidationFailed(Msg("thresholds.{name}: must be a number from 0 to 1, got {got!r}", name=name,
                                           got=value),
                                       field=f"thresholds.{name}")
        ks = self.keypoint_k if isinstance(self.keypoint_k, tuple) else (self.keypoint_k,)
        for k in ks:
            if isinstance(k, bool) or not isinstance(k, int | float) or not k > 0 or not math.isfinite(k):
                raise ValidationFailed(Msg("thresholds.keypoint_k: must be a number above 0, got {got!r}", got=k),
                                       field="thresholds.keypoint_k")
        if self.box_metric not in ("max", "f1"):
            raise ValidationFailed(Msg("thresholds.box_metric: must be 'max' or 'f1', got {got!r}",
                                       got=self.box_metric),
                                   field="thresholds.box_metric")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Thresholds:
        """Build from a project's settings (a JSON object); unknown keys are an error."""
        if data is None:
            return cls()
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ValidationFailed(Msg("thresholds.{key}: unknown threshold; known: {known}", key=key,
                                           known=", ".join(sorted(known))),
                                       field=f"thresholds.{key}")
        values = dict(data)
        if isinstance(values.get("keypoint_k"), list):
            values["keypoint_k"] = tuple(values["keypoint_k"])
        return cls(**values)


@dataclass(frozen=True)
class Score:
    value: float  # in [0, 1]
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)


def score_answer(
    work_type: str | WorkType,
    answer: Mapping[str, Any] | BaseModel,
    gold: Mapping[str, Any] | BaseModel,
    *,
    thresholds: Thresholds | Mapping[str, Any] | None = None,
    image_size: tuple[float, float] | None = None,
) -> Score:
    """Score ``answer`` against ``gold`` for a work type (its name or the object).

    ``image_size`` (width, height) is only used as the keypoint scale of last resort.
    """
    th = thresholds if isinstance(thresholds, Thresholds) else Thresholds.from_mapping(thresholds)
    wt = work_type if isinstance(work_type, WorkType) else get_work_type(work_type)
    scorer = _SCORERS.get(wt.name)
    if scorer is None:
        raise ValidationFailed(Msg("work_type: no gold scoring for {name!r}", name=wt.name), field="work_type")
    model = wt.answer_model
    if wt.name == "service_ticket" and isinstance(gold, Mapping) and "reply" not in gold:
        gold = {**gold, "reply": ""}  # a gold ticket knows its disposition; the reply is free text
    a = _parse(model, answer, "answer")
    g = _parse(model, gold, "gold")
    components = scorer(a, g, th, image_size)
    if components:
        value = sum(c["score"] for c in components.values()) / len(components)
    else:
        value = 1.0
    value = min(1.0, max(0.0, value))
    return Score(value=value, passed=value >= th.pass_score, details={"components": components})


# -- parsing ---------------------------------------------------------------------------------------

def _parse(model: type[BaseModel], data: Mapping[str, Any] | BaseModel, prefix: str) -> BaseModel:
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(by_alias=True)
    if not isinstance(data, Mapping):
        raise ValidationFailed(Msg("{field}: must be an object, got {type}", field=prefix, type=type(data).__name__),
                               field=prefix)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc, prefix) from None


def _bad(where: str, message: Msg) -> ValidationFailed:
    return ValidationFailed(Msg("{field}: {message}", field=where, message=message), field=where)


# -- matching --------------------------------------------------------------------------------------

def hungarian_match(similarity: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Pair rows with columns, each at most once, only where ``similarity >= threshold``.

    Maximises the number of pairs first and their total similarity second (one Hungarian run on
    ``valid * (big + similarity)`` with ``big`` larger than any possible sum of similarities).
    Returns ``(row, column, similarity)`` sorted by row.
    """
    sim = np.asarray(similarity, dtype=float)
    if sim.ndim != 2:
        raise ValueError("similarity must be a 2-D matrix")
    if sim.size == 0:
        return []
    valid = sim >= threshold
    big = float(min(sim.shape) + 1)
    weight = np.where(valid, big + sim, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    return [(int(r), int(c), float(sim[r, c])) for r, c in zip(rows, cols, strict=True) if valid[r, c]]


def _matched_score(matched: int, n_gold: int, n_answer: int, metric: str) -> float:
    if n_gold == 0 and n_answer == 0:
        return 1.0
    if metric == "f1":
        return 2.0 * matched / (n_gold + n_answer)
    return matched / max(n_gold, n_answer)


def _shape_component(
    n_gold: int, n_answer: int, sim: Callable[[int, int], float], threshold: float, metric: str
) -> dict[str, Any]:
    matrix = np.zeros((n_gold, n_answer))
    for i in range(n_gold):
        for j in range(n_answer):
            matrix[i, j] = sim(i, j)
    pairs = hungarian_match(matrix, threshold)
    return {
        "score": _matched_score(len(pairs), n_gold, n_answer, metric),
        "matched": len(pairs),
        "n_gold": n_gold,
        "n_answer": n_answer,
        "pairs": [{"gold": i, "answer": j, "similarity": round(s, 6)} for i, j, s in pairs],
    }


# -- image -----------------------------------------------------------------------------------------

def _check_image(ans: ImageAnswer, prefix: str) -> None:
    for i, box in enumerate(ans.boxes):
        if box.w <= 0 or box.h <= 0:
            part = "w" if box.w <= 0 else "h"
            raise _bad(f"{prefix}.boxes[{i}].{part}",
                       Msg("box width and height must be above 0, got {w}x{h}", w=box.w, h=box.h))
    for i, kps in enumerate(ans.keypoints):
        for j, (_x, _y, v) in enumerate(kps.points):
            if v not in (0, 1, 2):
                raise _bad(f"{prefix}.keypoints[{i}].points[{j}]",
                           Msg("visibility must be 0, 1 or 2, got {got}", got=v))
    for i, poly in enumerate(ans.polygons):
        if len(poly.points) < 3:
            raise _bad(f"{prefix}.polygons[{i}].points",
                       Msg("a polygon needs at least 3 points, got {got}", got=len(poly.points)))


def keypoint_scale(gold_set: KeypointSet, gold: ImageAnswer, image_size: tuple[float, float] | None) -> float:
    """``s`` of OKS: the square root of the object's area (see the module docstring)."""
    pts = geo.placed(gold_set.points)
    holders = []
    for box in gold.boxes:
        if gold_set.label is not None and box.label != gold_set.label:
            continue
        bx = box.xywh()
        if pts and geo.box_contains(bx, pts, KEYPOINT_BOX_MARGIN * max(bx[2], bx[3])):
            holders.append(bx)
    if holders:
        bx = min(holders, key=lambda b: b[2] * b[3])
        return math.sqrt(bx[2] * bx[3])
    ext = geo.extent(pts)
    if ext is not None and ext[2] > 0 and ext[3] > 0:
        return math.sqrt(ext[2] * ext[3])
    if ext is not None and max(ext[2], ext[3]) > 0:  # points on one line: a square of that length
        return max(ext[2], ext[3])
    if image_size is not None:
        return math.sqrt(max(image_size[0], 1.0) * max(image_size[1], 1.0))
    return 1.0


def oks(gold_points: Sequence[geo.Keypoint], answer_points: Sequence[geo.Keypoint], scale: float,
        k: float | Sequence[float]) -> float:
    """OKS of one answered keypoint set against the gold set (same length), in [0, 1]."""
    n = len(gold_points)
    if n != len(answer_points):
        raise ValueError("keypoint lists differ in length")
    if n == 0:
        return 1.0
    ks = np.full(n, float(k)) if isinstance(k, int | float) else np.asarray(k, dtype=float)
    if ks.shape != (n,):
        raise ValidationFailed(Msg("thresholds.keypoint_k: {values} values for {n} keypoints", values=len(ks), n=n),
                               field="thresholds.keypoint_k")
    g = np.asarray(gold_points, dtype=float).reshape(n, 3)
    a = np.asarray(answer_points, dtype=float).reshape(n, 3)
    gv, av = g[:, 2] > 0, a[:, 2] > 0
    d2 = ((g[:, :2] - a[:, :2]) ** 2).sum(axis=1)
    s2 = max(scale, 1e-9) ** 2
    per_point = np.where(gv & av, np.exp(-d2 / (2.0 * s2 * ks**2)), np.where(~gv & ~av, 1.0, 0.0))
    return float(per_point.mean())


def _score_image(a: BaseModel, g: BaseModel, th: Thresholds,
                 image_size: tuple[float, float] | None) -> dict[str, dict[str, Any]]:
    assert isinstance(a, ImageAnswer) and isinstance(g, ImageAnswer)
    _check_image(g, "gold")
    _check_image(a, "answer")
    out: dict[str, dict[str, Any]] = {}
    if g.class_ is not None or a.class_ is not None:
        out["class"] = {"score": 1.0 if g.class_ == a.class_ else 0.0, "gold": g.class_, "answer": a.class_}
    if g.boxes or a.boxes:
        def box_sim(i: int, j: int) -> float:
            gb, ab = g.boxes[i], a.boxes[j]
            return geo.box_iou(gb.xywh(), ab.xywh()) if gb.label == ab.label else 0.0

        out["boxes"] = _shape_component(len(g.boxes), len(a.boxes), box_sim, th.iou, th.box_metric)
    if g.polygons or a.polygons:
        def poly_sim(i: int, j: int) -> float:
            gp, ap = g.polygons[i], a.polygons[j]
            return geo.polygon_iou(gp.points, ap.points) if gp.label == ap.label else 0.0

        out["polygons"] = _shape_component(len(g.polygons), len(a.polygons), poly_sim, th.iou, th.box_metric)
    if g.keypoints or a.keypoints:
        lengths = {len(s.points) for s in g.keypoints}
        if len(lengths) > 1:
            raise _bad("gold.keypoints", Msg("keypoint sets differ in length: {lengths}", lengths=sorted(lengths)))
        expected = lengths.pop() if lengths else None
        for j, s in enumerate(a.keypoints):
            if expected is not None and len(s.points) != expected:
                raise _bad(f"answer.keypoints[{j}].points", Msg("expected {expected} points as in the gold, got {got}",
                                                                expected=expected, got=len(s.points)))
        scales = [keypoint_scale(s, g, image_size) for s in g.keypoints]

        def kp_sim(i: int, j: int) -> float:
            gs, as_ = g.keypoints[i], a.keypoints[j]
            if gs.label is not None and as_.label is not None and gs.label != as_.label:
                return 0.0
            return oks(gs.points, as_.points, scales[i], th.keypoint_k)

        comp = _shape_component(len(g.keypoints), len(a.keypoints), kp_sim, th.oks, "max")
        comp["scales"] = [round(s, 6) for s in scales]
        out["keypoints"] = comp
    return out


# -- text ------------------------------------------------------------------------------------------

def span_f1(gold: Sequence[tuple[int, int, str]], answer: Sequence[tuple[int, int, str]]) -> dict[str, float]:
    """Precision, recall and F1 of exact (start, end, label) span matches; 1.0 when both are empty."""
    gs, as_ = set(gold), set(answer)
    if not gs and not as_:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0, "matched": 0}
    tp = len(gs & as_)
    precision = tp / len(as_) if as_ else 0.0
    recall = tp / len(gs) if gs else 0.0
    f1 = 2 * tp / (len(gs) + len(as_))
    return {"precision": precision, "recall": recall, "f1": f1, "matched": tp}


def _check_spans(ans: TextAnswer, prefix: str) -> None:
    for i, s in enumerate(ans.spans):
        if s.start < 0:
            raise _bad(f"{prefix}.spans[{i}].start", Msg("start must be 0 or more, got {got}", got=s.start))
        if s.end <= s.start:
            raise _bad(f"{prefix}.spans[{i}].end",
                       Msg("end ({end}) must be greater than start ({start})", end=s.end, start=s.start))


def _score_text(a: BaseModel, g: BaseModel, th: Thresholds,
                image_size: tuple[float, float] | None) -> dict[str, dict[str, Any]]:
    assert isinstance(a, TextAnswer) and isinstance(g, TextAnswer)
    _check_spans(g, "gold")
    _check_spans(a, "answer")
    out: dict[str, dict[str, Any]] = {}
    if g.classes or a.classes:
        out["classes"] = {"score": 1.0 if set(g.classes) == set(a.classes) else 0.0,
                          "gold": sorted(g.classes), "answer": sorted(a.classes)}
    if g.spans or a.spans:
        stats = span_f1([(s.start, s.end, s.label) for s in g.spans], [(s.start, s.end, s.label) for s in a.spans])
        out["spans"] = {"score": stats["f1"], **stats, "n_gold": len(g.spans), "n_answer": len(a.spans)}
    return out


# -- moderation and tickets ------------------------------------------------------------------------

def _score_moderation(a: BaseModel, g: BaseModel, th: Thresholds,
                      image_size: tuple[float, float] | None) -> dict[str, dict[str, Any]]:
    assert isinstance(a, ModerationAnswer) and isinstance(g, ModerationAnswer)
    comp: dict[str, Any] = {"gold": g.decision, "answer": a.decision}
    if g.decision != a.decision:
        comp["score"] = 0.0
    elif g.decision == "reject":
        gr, ar = set(g.reasons), set(a.reasons)
        jac = len(gr & ar) / len(gr | ar) if gr | ar else 1.0
        comp.update(score=(1.0 + jac) / 2.0, reasons_jaccard=jac,
                    gold_reasons=sorted(gr), answer_reasons=sorted(ar))
    else:
        comp["score"] = 1.0
    return {"decision": comp}


def _score_ticket(a: BaseModel, g: BaseModel, th: Thresholds,
                  image_size: tuple[float, float] | None) -> dict[str, dict[str, Any]]:
    assert isinstance(a, TicketAnswer) and isinstance(g, TicketAnswer)
    return {"disposition": {"score": 1.0 if a.disposition == g.disposition else 0.0,
                            "gold": g.disposition, "answer": a.disposition}}


_Scorer = Callable[[BaseModel, BaseModel, Thresholds, "tuple[float, float] | None"], dict[str, dict[str, Any]]]
_SCORERS: dict[str, _Scorer] = {
    "image_annotation": _score_image,
    "text_annotation": _score_text,
    "moderation": _score_moderation,
    "service_ticket": _score_ticket,
}
