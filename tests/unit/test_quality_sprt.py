"""Wald's sequential test used for suspension: steps, bounds, decisions, error rates."""

from __future__ import annotations

import math
import random

import pytest

from seatflow.errors import ValidationFailed
from seatflow.quality.sprt import SprtPlan, operating_characteristic, run

DEFAULT = SprtPlan(p0=0.7, p1=0.5, alpha=0.005, beta=0.05)


def test_steps_and_bounds_are_walds() -> None:
    assert DEFAULT.step_pass == pytest.approx(math.log(0.5 / 0.7))
    assert DEFAULT.step_fail == pytest.approx(math.log(0.5 / 0.3))
    assert DEFAULT.upper == pytest.approx(math.log(0.95 / 0.005)) == pytest.approx(5.2470, abs=1e-4)
    assert DEFAULT.lower == pytest.approx(math.log(0.05 / 0.995))


def test_decisions() -> None:
    assert run(DEFAULT, [False] * 10).decision == "continue"  # 10 x 0.511 = 5.11 < 5.25
    eleven = run(DEFAULT, [False] * 11)
    assert (eleven.decision, eleven.answers, eleven.passed) == ("suspend", 11, 0)
    assert eleven.llr >= DEFAULT.upper
    assert run(DEFAULT, [True] * 8).decision == "continue"  # 8 x -0.336 = -2.69, above the lower bound -2.99
    assert run(DEFAULT, [True] * 9).decision == "keep"  # 9 x -0.336 = -3.03: H0 so far
    good = run(DEFAULT, [True] * 20)
    assert good.decision == "keep" and good.llr == DEFAULT.lower and good.run_answers == 0
    assert not good.leaning_bad and run(DEFAULT, [False]).leaning_bad
    # the first suspension stands: later right answers do not undo it
    assert run(DEFAULT, [False] * 11 + [True] * 50).decision == "suspend"
    # min_answers holds a decision back until then
    assert run(DEFAULT, [False] * 11, min_answers=12).decision == "continue"
    assert run(DEFAULT, [False] * 12, min_answers=12).decision == "suspend"


def test_good_answers_do_not_bank_credit_below_the_lower_bound() -> None:
    """A long good record then a run of wrong answers: suspended after 11 wrong answers from the lower
    bound plus what it takes to climb from there (the floor), not after hundreds."""
    climb = math.ceil((DEFAULT.upper - DEFAULT.lower) / DEFAULT.step_fail)
    state = run(DEFAULT, [True] * 500 + [False] * climb)
    assert state.decision == "suspend" and state.run_answers == climb and state.run_passed == 0
    assert run(DEFAULT, [True] * 500 + [False] * (climb - 1)).decision == "continue"


def test_operating_characteristic_meets_the_stated_error_rates() -> None:
    p_at_p0, _ = operating_characteristic(DEFAULT, 0.7)
    p_at_p1, _ = operating_characteristic(DEFAULT, 0.5)
    assert p_at_p0 == pytest.approx(0.005, rel=1e-3)  # Wald's approximation: alpha at p0 ...
    assert p_at_p1 == pytest.approx(0.95, rel=1e-3)  # ... and 1 - beta at p1
    spam, answers = operating_characteristic(DEFAULT, 0.25)
    assert spam > 0.999 and 10 < answers < 20
    assert operating_characteristic(DEFAULT, 0.6)[0] == pytest.approx(0.5, abs=0.2)


def test_simulated_error_rates_are_within_walds_bounds() -> None:
    """One test from 0 until a decision: the share of suspensions at p0 stays below alpha / (1 - beta)
    (Wald's inequality), and at p1 the share kept below beta / (1 - alpha)."""
    rng = random.Random(7)

    def decide(p: float) -> bool:
        llr = 0.0
        while DEFAULT.lower < llr < DEFAULT.upper:
            llr += DEFAULT.step_pass if rng.random() < p else DEFAULT.step_fail
        return llr >= DEFAULT.upper

    n = 20_000
    at_p0 = sum(decide(0.7) for _ in range(n)) / n
    at_p1 = sum(not decide(0.5) for _ in range(n)) / n
    assert at_p0 <= 0.005 / 0.95 + 0.002
    assert at_p1 <= 0.05 / 0.995 + 0.006


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"p0": 0.5, "p1": 0.7, "alpha": 0.01, "beta": 0.05}, "min_accuracy"),
    ({"p0": 1.0, "p1": 0.5, "alpha": 0.01, "beta": 0.05}, "min_accuracy"),
    ({"p0": 0.7, "p1": 0.0, "alpha": 0.01, "beta": 0.05}, "min_accuracy"),
    ({"p0": 0.7, "p1": 0.5, "alpha": 0.0, "beta": 0.05}, "alpha"),
    ({"p0": 0.7, "p1": 0.5, "alpha": 0.01, "beta": 0.5}, "beta"),
])
def test_bad_plans_are_refused(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        SprtPlan(**kwargs)
    assert exc.value.field == field
