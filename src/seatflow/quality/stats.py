"""Confidence intervals for a proportion: a worker's accuracy on gold, a review acceptance rate.

A score from 5 items is not a score from 500: every rate is reported with an interval.

* :func:`wilson` — the Wilson score interval (Wilson 1927)::

      centre = (p + z^2 / 2n) / (1 + z^2 / n)
      half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

  with ``p = k / n`` and ``z`` the normal quantile for the confidence (1.96 for 95 %). It stays
  inside [0, 1], is sensible at k = 0 and k = n, and has close to nominal coverage for small n.
* :func:`beta_posterior` — the Bayesian alternative: with a Beta(a, b) prior the posterior after
  k successes in n trials is Beta(a + k, b + n - k); its mean and equal-tailed credible interval.
  The default prior Beta(1, 1) is uniform; Beta(0.5, 0.5) is Jeffreys'.

Both accept numpy arrays (vectorised over workers) as well as plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg


@dataclass(frozen=True)
class Interval:
    estimate: float  # the point estimate: k / n (Wilson) or the posterior mean (Beta)
    low: float
    high: float
    successes: int
    n: int
    confidence: float


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValidationFailed(Msg("confidence: must be between 0 and 1, got {got!r}", got=confidence),
                               field="confidence")
    return float(sps.norm.ppf(0.5 + confidence / 2.0))


def _counts(successes: Any, n: Any) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(successes)
    m = np.asarray(n)
    for name, arr in (("successes", k), ("n", m)):
        bad = arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr))
        if bad or np.any(arr < 0) or np.any(arr != np.floor(arr)):
            raise ValidationFailed(Msg("{name}: must be whole numbers of 0 or more", name=name), field=name)
    if np.any(k > m):
        raise ValidationFailed(Msg("successes: cannot exceed n"), field="successes")
    return k.astype(float), m.astype(float)


def wilson_bounds(successes: Any, n: Any, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Wilson bounds ``(low, high)``; where ``n == 0`` the interval is [0, 1]."""
    k, m = _counts(successes, n)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(m > 0, k / np.where(m > 0, m, 1), 0.0)
        mm = np.where(m > 0, m, 1)
        denom = 1.0 + z * z / mm
        centre = (p + z * z / (2 * mm)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / mm + z * z / (4 * mm * mm))
    low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
    # exact at the edges (floating point may leave 1e-17 off)
    low = np.where(k == 0, 0.0, low)
    high = np.where((k == m) & (m > 0), 1.0, high)
    return low, high


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval for ``successes`` out of ``n`` (n = 0 gives [0, 1])."""
    low, high = wilson_bounds(successes, n, confidence)
    estimate = successes / n if n else 0.0
    return Interval(estimate, float(low), float(high), int(successes), int(n), confidence)


def beta_posterior(
    successes: int, n: int, confidence: float = 0.95, prior: tuple[float, float] = (1.0, 1.0)
) -> Interval:
    """Posterior mean and equal-tailed credible interval of a Beta(prior) after ``successes``/``n``."""
    _counts(successes, n)
    _z(confidence)
    a0, b0 = prior
    if not (a0 > 0 and b0 > 0):
        raise ValidationFailed(Msg("prior: both Beta parameters must be above 0, got {got!r}", got=prior),
                               field="prior")
    a, b = a0 + successes, b0 + n - successes
    tail = (1.0 - confidence) / 2.0
    low, high = sps.beta.ppf([tail, 1.0 - tail], a, b)
    return Interval(a / (a + b), float(low), float(high), int(successes), int(n), confidence)
