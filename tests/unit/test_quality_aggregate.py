"""Aggregation: majority vote, Dawid-Skene, GLAD, one-coin posterior, boxes and keypoints (without crowd-kit;
tests/unit/test_quality_crowdkit.py compares against it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.errors import ValidationFailed
from seatflow.quality import aggregate as ag


def simulate(seed: int, n_items: int = 200, n_workers: int = 15, k: int = 3, overlap: int = 5):  # type: ignore[no-untyped-def]
    """A crowd with known truth: class-imbalanced items, two spammers, two experts, the rest mixed."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, size=n_items, p=np.r_[0.6, np.full(k - 1, 0.4 / (k - 1))])
    acc = rng.uniform(0.55, 0.85, n_workers)
    acc[:2] = 1.0 / k
    acc[2:4] = 0.97
    items, workers, labels = [], [], []
    for i in range(n_items):
        for w in rng.choice(n_workers, size=overlap, replace=False):
            right = rng.random() < acc[w]
            label = truth[i] if right else rng.choice([c for c in range(k) if c != truth[i]])
            items.append(i)
            workers.append(int(w))
            labels.append(int(label))
    return (np.array(items), np.array(workers), np.array(labels)), truth, acc


def test_majority_vote_shares_and_ties() -> None:
    data = ([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 1, 0], [2, 2, 1, 0, 1, 1])
    mv = ag.majority_vote(data, n_items=4, n_classes=3)
    np.testing.assert_allclose(mv.posteriors[0], [0, 1 / 3, 2 / 3])
    assert mv.labels.tolist() == [2, 0, 1, -1]  # item 1 ties 0 vs 1: the lowest class wins; item 3 has no answers
    assert mv.confidence.tolist() == pytest.approx([2 / 3, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(mv.posteriors[3], [1 / 3] * 3)
    # worker 0 agrees on items 0 (no: gave 2 = label), 1 (gave 0 = label), 2 (gave 1 = label)
    assert mv.worker_accuracy.tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_weighted_majority_vote() -> None:
    data = ([0, 0, 0], [0, 1, 2], [1, 1, 0])
    assert ag.majority_vote(data).labels.tolist() == [1]
    assert ag.majority_vote(data, weights=[1, 1, 5]).labels.tolist() == [0]
    with pytest.raises(ValidationFailed) as exc:
        ag.majority_vote(data, weights=[1, 1])
    assert exc.value.field == "weights"


def test_skill_models_beat_majority_vote_on_average() -> None:
    scores = []
    for seed in range(4):
        data, truth, _acc = simulate(seed, n_items=500, overlap=3)
        scores.append([(fn(data).labels == truth).mean() for fn in (ag.majority_vote, ag.dawid_skene, ag.glad)])
    mv, ds, gl = np.mean(scores, axis=0)
    assert ds > mv + 0.01 and gl > mv + 0.01


def test_dawid_skene_finds_spammers_and_experts() -> None:
    data, truth, acc = simulate(7)
    ds = ag.dawid_skene(data)
    assert (ds.labels == truth).mean() > 0.9
    np.testing.assert_allclose(ds.posteriors.sum(axis=1), 1.0)
    np.testing.assert_allclose(ds.confusion.sum(axis=2), 1.0)  # type: ignore[union-attr]
    # the experts are estimated far above the spammers
    assert ds.worker_accuracy[2:4].min() > 0.9 > 0.5 > ds.worker_accuracy[:2].max()
    assert np.corrcoef(ds.worker_accuracy, acc)[0, 1] > 0.9
    assert ds.priors[0] == pytest.approx((truth == 0).mean(), abs=0.08)


def test_glad_estimates_ability_and_difficulty() -> None:
    data, truth, acc = simulate(3)
    g = ag.glad(data)
    assert (g.labels == truth).mean() > 0.9
    assert g.worker_ability is not None and g.item_difficulty is not None
    assert g.worker_ability[2:4].min() > g.worker_ability[:2].max()
    assert np.corrcoef(g.worker_accuracy, acc)[0, 1] > 0.8
    np.testing.assert_allclose(g.posteriors.sum(axis=1), 1.0)
    # EM does not lower the objective: more iterations never end worse than one
    one = ag.glad(data, n_iter=1)
    full = ag.glad_log_posterior(data, g.worker_ability, -np.log(g.item_difficulty))
    assert one.worker_ability is not None and one.item_difficulty is not None
    assert full >= ag.glad_log_posterior(data, one.worker_ability, -np.log(one.item_difficulty))


def test_items_and_workers_without_answers() -> None:
    data = ([0, 0, 2], [0, 1, 0], [1, 1, 0])
    for fn in (ag.majority_vote, ag.dawid_skene, ag.glad):
        r = fn(data, n_items=4, n_workers=3, n_classes=2)
        assert r.labels.tolist()[1] == -1 and r.labels.tolist()[3] == -1
        assert r.confidence[1] == 0.0
        assert math.isnan(r.worker_accuracy[2])
        assert r.labels[0] == 1


def test_empty_input() -> None:
    for fn in (ag.majority_vote, ag.dawid_skene, ag.glad):
        r = fn(([], [], []), n_items=2, n_workers=1, n_classes=2)
        assert r.labels.tolist() == [-1, -1]


@pytest.mark.parametrize(
    ("data", "counts", "field"),
    [
        (([0, 1], [0], [0, 1]), {}, "labels"),
        (([0, -1], [0, 0], [0, 1]), {}, "items"),
        (([0, 1], [0, 0], [0.5, 1]), {}, "labels"),
        (([0, 1], [0, 0], ["a", "b"]), {}, "labels"),
        (([[0, 1]], [[0, 0]], [[0, 1]]), {}, "items"),
        (([0, 1], [0, 3], [0, 1]), {"n_workers": 2}, "workers"),
        (([0, 1], [0, 0], [0, 2]), {"n_classes": 2}, "labels"),
    ],
)
def test_malformed_answers(data, counts, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        ag.dawid_skene(data, **counts)
    assert exc.value.field == field


def test_one_coin_posterior() -> None:
    # two answers for class 1 by 0.8-accurate workers, one for class 0 by a 0.6 one, 3 classes
    post = ag.one_coin_posterior([1, 1, 0], [0.8, 0.8, 0.6], n_classes=3)
    like = np.array([0.6 * 0.1 * 0.1, 0.2 * 0.8 * 0.8, 0.1 * 0.1 * 0.2])
    np.testing.assert_allclose(post, like / like.sum())
    # no answers: the prior
    np.testing.assert_allclose(ag.one_coin_posterior([], [], n_classes=2, prior=[0.9, 0.1]), [0.9, 0.1])
    # a perfect worker settles it (clipped, so no division by zero)
    assert ag.one_coin_posterior([0, 1], [1.0, 0.7], n_classes=2)[0] > 0.999
    batch = ag.one_coin_posteriors([0, 0, 1], [1, 1, 0], [0.8, 0.8, 0.9], n_items=3, n_classes=2)
    np.testing.assert_allclose(batch[0], [1 / 17, 16 / 17])
    np.testing.assert_allclose(batch[1], [0.9, 0.1])
    np.testing.assert_allclose(batch[2], [0.5, 0.5])
    with pytest.raises(ValidationFailed) as exc:
        ag.one_coin_posterior([0, 1], [0.8], n_classes=2)
    assert exc.value.field == "accuracies"
    with pytest.raises(ValidationFailed) as exc:
        ag.one_coin_posterior([0], [1.2], n_classes=2)
    assert exc.value.field == "accuracies"
    with pytest.raises(ValidationFailed) as exc:
        ag.one_coin_posterior([0], [0.8], n_classes=2, prior=[0.5, 0.6])
    assert exc.value.field == "prior"


def test_aggregate_boxes_majority_clusters() -> None:
    per_worker = [
        [{"label": "face", "x": 10, "y": 10, "w": 20, "h": 20}, {"label": "person", "x": 0, "y": 0, "w": 50, "h": 90}],
        [("face", 12, 10, 20, 20), ("person", 2, 0, 50, 90), ("face", 200, 200, 10, 10)],
        [("face", 11, 11, 20, 18)],
    ]
    boxes = ag.aggregate_boxes(per_worker)
    assert [(b.label, b.support) for b in boxes] == [("face", 3), ("person", 2)]
    face = boxes[0]
    assert (face.x, face.y, face.w, face.h) == pytest.approx((11, 31 / 3, 20, 58 / 3))
    assert face.workers == (0, 1, 2) and 0.8 < face.mean_iou <= 1.0
    assert boxes[1].as_dict() == {"label": "person", "x": 1.0, "y": 0.0, "w": 50.0, "h": 90.0}
    # the stray box (one worker) is kept only when one supporter is enough
    assert len(ag.aggregate_boxes(per_worker, min_support=1)) == 3
    # a box of another label never joins the cluster
    assert ag.aggregate_boxes([[("face", 0, 0, 10, 10)], [("car", 0, 0, 10, 10)]], min_support=1)[0].support == 1


def test_aggregate_boxes_two_nearby_objects_stay_apart() -> None:
    a, b = ("face", 0, 0, 10, 10), ("face", 6, 0, 10, 10)  # IoU 0.25: two faces side by side
    boxes = ag.aggregate_boxes([[a, b], [b, a], [a, b]], method="median")
    assert [(bx.x, bx.support) for bx in sorted(boxes, key=lambda bx: bx.x)] == [(0, 3), (6, 3)]


@pytest.mark.parametrize(
    ("per_worker", "field"),
    [
        ([[("face", 0, 0, 0, 10)]], "answers[0][0].w"),
        ([[], [{"label": "face", "x": 0, "y": 0, "w": 5}]], "answers[1][0].h"),
        ([[("face", 0, 0, float("nan"), 1)]], "answers[0][0].w"),
        ([[("face", 0, 0)]], "answers[0][0]"),
        ([[(1, 0, 0, 5, 5)]], "answers[0][0].label"),
    ],
)
def test_aggregate_boxes_malformed(per_worker, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        ag.aggregate_boxes(per_worker)
    assert exc.value.field == field


def test_aggregate_keypoints_median() -> None:
    sets = [
        [(10, 10, 2), (20, 10, 2), (0, 0, 0)],
        [(12, 10, 2), (21, 11, 1), (5, 5, 2)],
        [(11, 40, 2), (19, 10, 1), (0, 0, 0)],  # a stray click on the first point's y
    ]
    agg = ag.aggregate_keypoints(sets)
    assert agg.points[0] == (11.0, 10.0, 2)  # the median ignores the stray y
    assert agg.points[1] == (20.0, 10.0, 1)  # two of three said occluded
    assert agg.points[2] == (0.0, 0.0, 0)  # only one worker placed it
    assert agg.support == [3, 3, 1]
    assert math.isnan(agg.spread[2]) and agg.spread[0] > 0
    assert ag.aggregate_keypoints(sets, method="mean").points[0][1] == pytest.approx(20.0)
    with pytest.raises(ValidationFailed) as exc:
        ag.aggregate_keypoints([[(0, 0, 2)], [(0, 0, 2), (1, 1, 2)]])
    assert exc.value.field == "answers[1]"
    with pytest.raises(ValidationFailed) as exc:
        ag.aggregate_keypoints([[(0, 0, 3)]])
    assert exc.value.field == "answers[0]"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(0, 2)), min_size=1, max_size=40,
                unique_by=lambda t: (t[0], t[1])))
def test_aggregators_give_distributions_on_any_input(rows: list[tuple[int, int, int]]) -> None:
    data = tuple(np.array(col) for col in zip(*rows, strict=True))
    for fn in (ag.majority_vote, ag.dawid_skene, ag.glad):
        r = fn(data, n_items=7, n_workers=5, n_classes=3)  # type: ignore[operator]
        np.testing.assert_allclose(r.posteriors.sum(axis=1), 1.0, atol=1e-9)
        assert np.all((r.posteriors >= 0) & (r.posteriors <= 1))
        answered = np.bincount(data[0], minlength=7) > 0
        assert np.all((r.labels >= 0) == answered)
        assert np.all(r.confidence[answered] >= 1 / 3 - 1e-9)
