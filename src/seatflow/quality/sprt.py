"""Wald's sequential probability ratio test on a worker's gold answers (pass / fail), for suspension.

The hypotheses about a worker's accuracy p on gold:

* H0: p >= ``p0`` (an acceptable worker: keep them),
* H1: p <= ``p1`` (a worker at or below the suspension level: suspend them), with ``p1 < p0``.

After each gold answer the log-likelihood ratio of H1 against H0 moves by ``log(p1 / p0)`` for a
pass (down) and by ``log((1 - p1) / (1 - p0))`` for a fail (up). Wald's bounds for the error rates
``alpha`` (suspending a worker whose accuracy is ``p0``) and ``beta`` (keeping one whose accuracy is
``p1``) are::

    upper = log((1 - beta) / alpha)     # reached: decide H1, suspend
    lower = log(beta / (1 - alpha))     # reached: decide H0, the worker is fine so far

Work goes on after an H0 decision, so the test goes on too, from the lower bound: the ratio is held
there (it never goes below it). Good answers thus cannot pile up credit that would hide a later fall
in accuracy, and each stretch from the lower bound to a decision is a fresh test with the stated
error rates. (Restarting at 0 instead would make every such stretch start closer to suspension.)

Plain Python, no numpy: it runs in the submit transaction and in dispatch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg


@dataclass(frozen=True)
class SprtPlan:
    p0: float  # acceptable accuracy (H0: p >= p0)
    p1: float  # suspension level (H1: p <= p1)
    alpha: float  # risk of suspending a worker at p0
    beta: float  # risk of keeping a worker at p1

    def __post_init__(self) -> None:
        if not 0.0 < self.p1 < self.p0 < 1.0:
            raise ValidationFailed(Msg("the suspension level ({p1:g}) must be above 0 and below the acceptable "
                                       "accuracy ({p0:g}), which must be below 1", p1=self.p1, p0=self.p0),
                                   field="min_accuracy")
        for name, v in (("alpha", self.alpha), ("beta", self.beta)):
            if not 0.0 < v < 0.5:
                raise ValidationFailed(Msg("{name} must be above 0 and below 0.5, got {got:g}", name=name, got=v),
                                       field=name)

    @property
    def step_pass(self) -> float:
        return math.log(self.p1 / self.p0)

    @property
    def step_fail(self) -> float:
        return math.log((1.0 - self.p1) / (1.0 - self.p0))

    @property
    def upper(self) -> float:
        return math.log((1.0 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        return math.log(self.beta / (1.0 - self.alpha))


@dataclass(frozen=True)
class SprtState:
    llr: float  # the log-likelihood ratio of H1 against H0 now
    decision: str  # "suspend" (H1), "keep" (at the lower bound: H0 so far) or "continue" (undecided)
    answers: int  # gold answers seen
    passed: int
    run_answers: int  # answers since the ratio last sat at the lower bound (the current test)
    run_passed: int

    @property
    def leaning_bad(self) -> bool:
        """Does the evidence of the current test favour H1 (the ratio above 0)?"""
        return self.llr > 0.0


def run(plan: SprtPlan, outcomes: Iterable[bool], *, min_answers: int = 1) -> SprtState:
    """The test after ``outcomes`` (oldest first). It stops at the first suspension decision (never
    before ``min_answers`` answers): later answers do not undo it."""
    llr = 0.0
    n = k = tn = tk = 0
    lower, upper = plan.lower, plan.upper
    up, down = plan.step_fail, plan.step_pass
    for ok in outcomes:
        n += 1
        tn += 1
        if ok:
            k += 1
            tk += 1
            llr += down
        else:
            llr += up
        if llr >= upper and n >= min_answers:
            return SprtState(llr, "suspend", n, k, tn, tk)
        if llr <= lower:
            llr = lower
            tn = tk = 0
    decision = "keep" if llr <= lower else "continue"
    return SprtState(llr, decision, n, k, tn, tk)


def operating_characteristic(plan: SprtPlan, p: float) -> tuple[float, float]:
    """Wald's approximations for one test from 0 at true accuracy ``p``: (probability of deciding H1,
    expected answers to a decision). Used by the docs and tests to state what the settings mean."""
    a, b = plan.upper, plan.lower
    s, f = plan.step_pass, plan.step_fail
    drift = p * s + (1 - p) * f
    # h solves p * exp(h s) + (1 - p) * exp(h f) = 1 (h != 0); bisection on a bracket
    def g(h: float) -> float:
        return p * math.exp(h * s) + (1 - p) * math.exp(h * f) - 1.0

    if abs(drift) < 1e-12:
        prob = -b / (a - b)
        n = -a * b / (s * s * p + f * f * (1 - p))
        return prob, n
    lo, hi = (1e-9, 1.0) if drift < 0 else (-1.0, -1e-9)
    while g(hi if drift < 0 else lo) < 0:  # widen until the root is bracketed
        if drift < 0:
            hi *= 2
        else:
            lo *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if (g(mid) < 0) == (drift < 0):
            lo = mid
        else:
            hi = mid
    h = (lo + hi) / 2
    prob = (1 - math.exp(h * b)) / (math.exp(h * a) - math.exp(h * b))
    n = (prob * a + (1 - prob) * b) / drift
    return prob, n
