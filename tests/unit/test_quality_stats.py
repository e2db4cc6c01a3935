"""Confidence intervals for proportions: Wilson score interval and Beta posterior."""

from __future__ import annotations

import numpy as np
import pytest

from seatflow.errors import ValidationFailed
from seatflow.quality.stats import beta_posterior, wilson, wilson_bounds


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [  # Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3 (Wilson)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_published_values(k: int, n: int, low: float, high: float) -> None:
    ci = wilson(k, n)
    assert ci.low == pytest.approx(low, abs=5e-5)
    assert ci.high == pytest.approx(high, abs=5e-5)
    assert ci.estimate == pytest.approx(k / n)
    assert (ci.successes, ci.n, ci.confidence) == (k, n, 0.95)


def test_wilson_narrows_with_more_evidence_and_edges() -> None:
    five = wilson(4, 5)
    five_hundred = wilson(400, 500)
    assert five.high - five.low > 4 * (five_hundred.high - five_hundred.low)
    assert wilson(5, 5).high == 1.0 and wilson(0, 5).low == 0.0
    empty = wilson(0, 0)
    assert (empty.low, empty.high, empty.estimate) == (0.0, 1.0, 0.0)
    assert wilson(8, 10, confidence=0.99).low < wilson(8, 10).low


def test_wilson_bounds_vectorised() -> None:
    low, high = wilson_bounds(np.array([81, 0, 3]), np.array([263, 20, 0 + 3]))
    assert low[0] == pytest.approx(0.2553, abs=5e-5) and high[1] == pytest.approx(0.1611, abs=5e-5)
    assert high[2] == 1.0


def test_beta_posterior_closed_form() -> None:
    # Beta(1, 1) prior, 0 successes in 10: posterior Beta(1, 11), quantile q = 1 - (1 - q)^(1/11)
    ci = beta_posterior(0, 10)
    assert ci.estimate == pytest.approx(1 / 12)
    assert ci.low == pytest.approx(1 - 0.975 ** (1 / 11))
    assert ci.high == pytest.approx(1 - 0.025 ** (1 / 11))
    assert beta_posterior(8, 10).estimate == pytest.approx(9 / 12)
    assert beta_posterior(8, 10, prior=(0.5, 0.5)).estimate == pytest.approx(8.5 / 11)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: wilson(6, 5), "successes"),
        (lambda: wilson(-1, 5), "successes"),
        (lambda: wilson(1, 2.5), "n"),  # type: ignore[arg-type]
        (lambda: wilson(1, 5, confidence=1.0), "confidence"),
        (lambda: beta_posterior(1, 5, prior=(0, 1)), "prior"),
        (lambda: wilson_bounds(["a"], [1]), "successes"),
    ],
)
def test_bad_input(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        call()
    assert exc.value.field == field
