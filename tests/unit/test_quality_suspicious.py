"""Suspicious answers: disagreement with the aggregate posterior, confident learning against model probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from seatflow.errors import ValidationFailed
from seatflow.quality import aggregate as ag
from seatflow.quality import suspicious as sp


def test_disagreements_with_the_aggregate() -> None:
    # item 0: three say 1, one says 0; item 1: split 1-1; item 2: all say 2
    data = ([0, 0, 0, 0, 1, 1, 2, 2], [0, 1, 2, 3, 0, 1, 0, 1], [1, 1, 1, 0, 0, 1, 2, 2])
    mv = ag.majority_vote(data, n_classes=3)
    flags = sp.disagreements(mv, data, threshold=0.3)
    assert flags.answers.tolist() == [3]  # P(0 | item 0) = 0.25
    assert flags.probability.tolist() == pytest.approx([0.25])
    assert flags.aggregate_label.tolist() == [1]
    assert flags.label_probability.tolist() == pytest.approx([0.75, 0.75, 0.75, 0.25, 0.5, 0.5, 1, 1])
    # the split item is flagged at a higher threshold unless the aggregate must be confident
    assert set(sp.disagreements(mv, data, threshold=0.6).answers.tolist()) == {3, 4, 5}
    assert sp.disagreements(mv, data, threshold=0.6, min_confidence=0.7).answers.tolist() == [3]


def test_disagreements_sorted_and_checked() -> None:
    data = ([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [0, 0, 1, 1, 1, 0])
    ds = ag.dawid_skene(data)
    flags = sp.disagreements(ds, data, threshold=0.5)
    assert sorted(flags.answers.tolist()) == [2, 5]
    assert list(flags.probability) == sorted(flags.probability)
    with pytest.raises(ValidationFailed) as exc:
        sp.disagreements(ds, data, threshold=1.5)
    assert exc.value.field == "threshold"
    with pytest.raises(ValidationFailed) as exc:
        sp.disagreements(ds, ([0, 5], [0, 0], [0, 1]))
    assert exc.value.field == "labels"


def test_confident_learning_by_hand() -> None:
    labels = [0, 0, 0, 1, 1, 1]
    probs = np.array([
        [0.9, 0.1], [0.8, 0.2], [0.1, 0.9],  # example 2 is labelled 0 but the model is sure it is 1
        [0.2, 0.8], [0.3, 0.7], [0.65, 0.35],  # example 5: labelled 1, model leans 0
    ])
    res = sp.find_label_issues(labels, probs)
    # t_0 = mean(0.9, 0.8, 0.1) = 0.6, t_1 = mean(0.8, 0.7, 0.35) = 0.6167
    np.testing.assert_allclose(res.thresholds, [0.6, (0.8 + 0.7 + 0.35) / 3])
    # example 5: p0 = 0.65 >= t_0, p1 = 0.35 < t_1 -> confidently 0: an issue
    assert res.suggested.tolist() == [0, 0, 1, 1, 1, 0]
    assert res.issues.tolist() == [2, 5]  # self-confidence 0.1 then 0.35
    assert res.confident_joint.tolist() == [[2, 1], [1, 2]]
    assert res.self_confidence.tolist() == pytest.approx([0.9, 0.8, 0.1, 0.8, 0.7, 0.35])


def test_confident_learning_finds_flipped_labels() -> None:
    """40 of 600 labels flipped, a model right on ~96 %: the flags are nearly all real flips (the simple
    confident-joint rule is conservative: it finds most, not all, of them)."""
    recalls, precisions = [], []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        n, k = 600, 3
        truth = rng.integers(0, k, n)
        logits = rng.normal(0, 1, (n, k))
        logits[np.arange(n), truth] += 3.0
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        labels = truth.copy()
        flipped = set(rng.choice(n, 40, replace=False).tolist())
        idx = np.array(sorted(flipped))
        labels[idx] = (labels[idx] + 1) % k
        found = set(sp.find_label_issues(labels, probs).issues.tolist())
        recalls.append(len(found & flipped) / len(flipped))
        precisions.append(len(found & flipped) / max(len(found), 1))
    assert np.mean(recalls) > 0.7 and np.mean(precisions) > 0.9


def test_model_disagreements_per_answer() -> None:
    data = ([0, 0, 1, 1], [0, 1, 0, 1], [0, 1, 1, 1])
    item_probs = np.array([[0.95, 0.05], [0.1, 0.9]])
    res = sp.model_disagreements(data, item_probs)
    assert res.issues.tolist() == [1]  # worker 1 said 1 on item 0, the model is sure of 0
    with pytest.raises(ValidationFailed) as exc:
        sp.model_disagreements(data, item_probs[:1])
    assert exc.value.field == "pred_probs"


@pytest.mark.parametrize(
    ("labels", "probs", "field"),
    [
        ([0, 1], [[0.5, 0.5]], "pred_probs"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "labels"),
        ([0, 1], [[0.5, 1.5], [0.5, 0.5]], "pred_probs"),
        ([0, 1], [[0.5, np.nan], [0.5, 0.5]], "pred_probs"),
        ([0, -1], [[0.5, 0.5], [0.5, 0.5]], "labels"),
    ],
)
def test_find_label_issues_malformed(labels, probs, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        sp.find_label_issues(labels, probs)
    assert exc.value.field == field
