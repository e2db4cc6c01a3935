"""Agreement: Krippendorff's alpha (textbook examples), pairwise agreement, agreement with others, Cohen's kappa."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seatflow.errors import ValidationFailed
from seatflow.quality import agreement as ag

NA = None
# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), example C: 4 observers, 12 units,
# values 1..5, missing data; nominal alpha = 0.743.
EXAMPLE_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
    [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
]
# Example A of the same paper: two observers, ten units, binary values; alpha = 0.095.
EXAMPLE_A = [
    [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
]


def to_arrays(matrix: list[list[int | None]]) -> tuple[list[int], list[int], list[int]]:
    items, workers, labels = [], [], []
    for w, row in enumerate(matrix):
        for i, value in enumerate(row):
            if value is not None:
                items.append(i)
                workers.append(w)
                labels.append(value)
    return items, workers, labels


def test_krippendorff_textbook_examples() -> None:
    assert ag.krippendorff_alpha(to_arrays(EXAMPLE_C)) == pytest.approx(0.743, abs=5e-4)
    assert ag.krippendorff_alpha(to_arrays(EXAMPLE_A)) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_extremes() -> None:
    perfect = ([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [0, 0, 1, 1, 2, 2])
    assert ag.krippendorff_alpha(perfect) == pytest.approx(1.0)
    # no item with two answers, or one value throughout: undefined
    assert math.isnan(ag.krippendorff_alpha(([0, 1], [0, 0], [0, 1])))
    assert math.isnan(ag.krippendorff_alpha(([0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 1])))


def test_reliability_matrix_and_duplicates() -> None:
    m = ag.reliability_matrix(to_arrays(EXAMPLE_A))
    assert m.shape == (2, 10) and m[1, 0] == 1
    with pytest.raises(ValidationFailed) as exc:
        ag.krippendorff_alpha(([0, 0], [3, 3], [1, 2]))
    assert exc.value.field == "labels" and "worker 3 answered item 0 more than once" in str(exc.value)


def test_pairwise_agreement() -> None:
    data = to_arrays(EXAMPLE_C)
    pw = ag.pairwise_agreement(data)
    # observers 0 (A) and 3 (D) both coded units 0, 2..8 (unit 1 too): 9 units, differing on unit 5 only
    assert pw.common[0, 3] == 9 and pw.agreed[0, 3] == 8
    assert pw.rate[0, 3] == pytest.approx(8 / 9)
    assert pw.common[0, 0] == 9 and pw.agreed[0, 0] == 9
    np.testing.assert_array_equal(pw.common, pw.common.T)
    lonely = ag.pairwise_agreement(([0, 1], [0, 1], [0, 0]))
    assert math.isnan(lonely.rate[0, 1])


def test_agreement_with_others() -> None:
    data = ([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 1, 0, 2, 2])
    wa = ag.agreement_with_others(data)
    # worker 0: item 0 pairs with 1 (same) and 2 (differs); item 1 pairs with 1 (same) -> 2 of 3
    assert wa.pairs.tolist() == [3, 3, 2] and wa.agreed.tolist() == [2, 2, 0]
    assert wa.rate.tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])


def test_cohens_kappa_known_value() -> None:
    # the classic 2x2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> p_o = 0.7, p_e = 0.5, kappa 0.4
    pairs = [(1, 1)] * 20 + [(1, 0)] * 5 + [(0, 1)] * 10 + [(0, 0)] * 15
    items, workers, labels = [], [], []
    for i, (x, y) in enumerate(pairs):
        items += [i, i]
        workers += [0, 1]
        labels += [x, y]
    assert ag.cohens_kappa((items, workers, labels), 0, 1) == pytest.approx(0.4)
    assert ag.cohens_kappa((items, workers, labels), 1, 0) == pytest.approx(0.4)
    assert math.isnan(ag.cohens_kappa(([0, 1], [0, 1], [0, 0]), 0, 1))  # no common item
    assert math.isnan(ag.cohens_kappa(([0, 0], [0, 1], [1, 1]), 0, 1))  # chance agreement is 1
    with pytest.raises(ValidationFailed) as exc:
        ag.cohens_kappa((items, workers, labels), 0, 5)
    assert exc.value.field == "worker_b"
