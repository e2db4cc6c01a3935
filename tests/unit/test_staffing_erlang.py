"""Erlang C and Erlang A (seatflow.staffing.erlang) against published worked examples and exact values.

Published examples (the numbers below are copied from the publications, not from this code):

[CRAN-ErlangC] the R package ErlangC 0.1.0, README, https://stat.ethz.ch/CRAN/web/packages/ErlangC/readme/README.html
  (also https://rdocumentation.org/packages/ErlangC/versions/0.1.0): 100 calls in 30 minutes, AHT 180 s,
  target answer time 20 s, 14 agents -> traffic 10, wait probability 0.1741319, service level 0.88835,
  average speed of answer 7.83593701177724 s, occupancy 0.7142857; ``calculate_agents`` for 80 % (max occupancy
  0.85) -> 14 agents, and its search table starts at 11 agents with wait probability 0.6821182 and service
  level 0.3896138.
[pyworkforce] pyworkforce 0.1.0 on PyPI, https://pypi.org/project/pyworkforce/0.1.0/ : ErlangC(transactions=100,
  asa=20/60, aht=3, interval=30, max_occupancy=0.85, shrinkage=0.3).required_positions(service_level=0.8) ->
  raw_positions 14, positions 20, service_level 0.8883500191794669, occupancy 0.7142857142857143,
  waiting_probability 0.1741319335950498.
[erlang_c_calculator] the Ruby gem erlang_c_calculator 0.1.1, README "Usage"
  (https://www.ruby-toolbox.com/projects/erlang_c_calculator, after Koole's "Call Center Mathematics"):
  ErlangC::Calculator.new(0.01, 300, 20) -- 0.01 arrivals/s, 300 s service, 20 s acceptable wait --
  traffic_intensity 3.0 and agents_needed 6, where agents_needed is the fewest agents whose average wait
  (ASA) is below the acceptable wait (lib/erlang_c_calculator.rb).
[Erlang B table] the classic Erlang B table (e.g. any teletraffic handbook): 10 circuits carry 4.46 Erlangs at
  1 % blocking, 5.08 Erlangs at 2 %.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.linalg import expm

from seatflow.errors import ValidationFailed
from seatflow.staffing.erlang import (
    erlang_a_performance,
    erlang_b,
    erlang_c,
    erlang_c_performance,
    required_agents,
    traffic,
)


def _erlang_c_textbook(n: int, a: Fraction) -> Fraction:
    """The textbook definition, in exact rational arithmetic: (a^n/n! n/(n-a)) / (sum_k<n a^k/k! + that)."""
    top = a ** n / math.factorial(n) * Fraction(n) / (n - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)


def test_cran_and_pyworkforce_example_with_14_agents() -> None:
    a = traffic(100, 30 * 60, 180)
    assert a == pytest.approx(10.0)
    perf = erlang_c_performance(14, a, aht=180, within=20)
    assert perf.p_wait == pytest.approx(0.1741319, abs=5e-8)  # [CRAN-ErlangC]
    assert perf.p_wait == pytest.approx(0.1741319335950498, rel=1e-12)  # [pyworkforce]
    assert perf.service_level == pytest.approx(0.88835, abs=5e-6)  # [CRAN-ErlangC]
    assert perf.service_level == pytest.approx(0.8883500191794669, rel=1e-12)  # [pyworkforce]
    assert perf.asa == pytest.approx(7.83593701177724, rel=1e-12)  # [CRAN-ErlangC]
    assert perf.occupancy == pytest.approx(0.7142857142857143, rel=1e-12)  # both


def test_cran_example_with_11_agents() -> None:
    perf = erlang_c_performance(11, 10.0, aht=180, within=20)
    assert perf.p_wait == pytest.approx(0.6821182, abs=5e-8)  # [CRAN-ErlangC] first row of the search
    assert perf.service_level == pytest.approx(0.3896138, abs=5e-8)


def test_required_agents_for_80_in_20_is_14() -> None:
    best = required_agents(10.0, 180, target=0.8, within=20, max_occupancy=0.85)
    assert best.agents == 14  # [CRAN-ErlangC] calculate_agents, [pyworkforce] raw_positions
    assert erlang_c_performance(13, 10.0, 180, 20).service_level < 0.8 <= best.service_level
    # [pyworkforce]: with 30 % shrinkage the 14 seats need ceil(14 / 0.7) = 20 people on the roster
    assert math.ceil(best.agents / (1 - 0.3) - 1e-9) == 20


def test_erlang_c_calculator_gem_example_asa_below_20_s_needs_6_agents() -> None:
    a = traffic(0.01 * 1800, 1800, 300)
    assert a == pytest.approx(3.0)  # [erlang_c_calculator] traffic_intensity
    asa = {n: erlang_c_performance(n, a, aht=300, within=20).asa for n in (4, 5, 6)}
    fewest = min(n for n in range(4, 20) if erlang_c_performance(n, a, aht=300, within=20).asa < 20)
    assert fewest == 6  # [erlang_c_calculator] agents_needed
    assert asa[5] > 20 > asa[6]
    # the same three values from the textbook formula, exactly: ASA = C(n, a) AHT / (n - a)
    for n, value in asa.items():
        assert value == pytest.approx(float(_erlang_c_textbook(n, Fraction(3)) * 300 / (n - 3)), rel=1e-12)


def test_erlang_b_against_the_table() -> None:
    assert erlang_b(10, 4.46) == pytest.approx(0.01, abs=2e-4)  # [Erlang B table]
    assert erlang_b(10, 5.08) == pytest.approx(0.02, abs=2e-4)


@pytest.mark.parametrize(("n", "a"), [(3, Fraction(2)), (14, Fraction(10)), (55, Fraction(48)), (7, Fraction(13, 2))])
def test_erlang_c_equals_the_textbook_formula_exactly(n: int, a: Fraction) -> None:
    assert erlang_c(n, float(a)) == pytest.approx(float(_erlang_c_textbook(n, a)), rel=1e-12)
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-14)


def test_large_centers_stay_finite_and_monotone() -> None:
    """Hundreds to thousands of agents: a^n/n! would overflow a float, the recursion does not."""
    values = [erlang_c(n, 950.0) for n in range(951, 1100)]
    assert all(0.0 < v < 1.0 for v in values)
    assert all(x > y for x, y in zip(values, values[1:], strict=False))
    assert erlang_c(5000, 4900.0) == pytest.approx(0.0999378772, rel=1e-6)
    assert required_agents(2000.0, 300, target=0.8, within=20).agents == pytest.approx(2000, abs=40)


def test_unstable_queue_and_bad_input_name_the_field() -> None:
    with pytest.raises(ValidationFailed, match="unstable") as exc:
        erlang_c(10, 10.0)
    assert exc.value.field == "agents"
    with pytest.raises(ValidationFailed, match="unstable"):
        erlang_c_performance(9, 12.5, 180, 20)
    for call, field in [
        (lambda: erlang_c(-1, 1.0), "agents"),
        (lambda: erlang_c(2.5, 1.0), "agents"),  # type: ignore[arg-type]
        (lambda: erlang_c(3, -1.0), "traffic"),
        (lambda: erlang_c(3, float("nan")), "traffic"),
        (lambda: erlang_c_performance(3, 1.0, 0, 20), "aht"),
        (lambda: erlang_c_performance(3, 1.0, 180, -5), "within"),
        (lambda: traffic(10, 0, 180), "interval"),
        (lambda: required_agents(10.0, 180, target=1.5, within=20), "target"),
        (lambda: required_agents(10.0, 180, target=1.0, within=20), "target"),
        (lambda: required_agents(10.0, 180, target=0.8, within=20, max_occupancy=1.2), "max_occupancy"),
        (lambda: erlang_a_performance(3, 1.0, 180, 20, 0), "patience"),
        (lambda: erlang_c(3, "2"), "traffic"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(ValidationFailed) as info:
            call()
        assert info.value.field == field


def test_no_arrivals_need_no_agents() -> None:
    best = required_agents(0.0, 180, target=0.8, within=20)
    assert (best.agents, best.p_wait, best.service_level) == (0, 0.0, 1.0)


def test_max_occupancy_can_raise_the_requirement() -> None:
    plain = required_agents(10.0, 180, target=0.8, within=20)
    capped = required_agents(10.0, 180, target=0.8, within=20, max_occupancy=0.6)
    assert plain.agents == 14 and capped.agents == 17  # ceil(10 / 0.6)
    assert capped.occupancy <= 0.6


# --- Erlang A -----------------------------------------------------------------------------------------------


def _erlang_a_by_markov_chain(n: int, a: float, aht: float, t: float, patience: float, cap: int = 300
                              ) -> tuple[float, float, float]:
    """The M/M/n+M queue solved numerically, independently of the closed forms: the birth-death chain's
    stationary law (truncated), P(Ab) = theta E[queue] / lambda, and the share answered within t from the
    tagged caller's absorbing chain (served vs abandoned) and a matrix exponential."""
    mu, theta = 1 / aht, 1 / patience
    lam = a * mu
    logp = np.zeros(n + cap + 1)
    for k in range(1, n + cap + 1):
        logp[k] = logp[k - 1] + math.log(lam) - math.log(min(k, n) * mu + max(k - n, 0) * theta)
    p = np.exp(logp - logp.max())
    p /= p.sum()
    p_wait = float(p[n:].sum())
    p_abandon = theta * float(sum((k - n) * p[k] for k in range(n, n + cap + 1))) / lam
    size = cap + 1
    q = np.zeros((size + 2, size + 2))  # 0 served, 1..size callers ahead incl. the tagged one, size+1 abandoned
    for m in range(1, size + 1):
        rate = n * mu + (m - 1) * theta
        q[m, m - 1] += rate
        q[m, size + 1] += theta
        q[m, m] -= rate + theta
    start = np.zeros(size + 2)
    start[1:size + 1] = p[n:n + size]
    answered = float(p[:n].sum() + (start @ expm(q * t))[0])
    return p_wait, p_abandon, answered


@pytest.mark.parametrize("case", [(14, 10.0, 180, 20, 120), (10, 10.0, 180, 20, 300), (5, 3.0, 100, 30, 50),
                                  (20, 25.0, 60, 20, 30)])
def test_erlang_a_closed_forms_match_the_markov_chain(case: tuple[int, float, float, float, float]) -> None:
    n, a, aht, t, patience = case
    perf = erlang_a_performance(n, a, aht, t, patience)
    p_wait, p_abandon, answered = _erlang_a_by_markov_chain(n, a, aht, t, patience)
    assert perf.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert perf.p_abandon == pytest.approx(p_abandon, rel=1e-9)
    assert perf.service_level == pytest.approx(answered, rel=1e-9)
    assert perf.asa == pytest.approx(p_abandon * patience, rel=1e-9)  # E[W] = P(Ab) / theta


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    c = erlang_c_performance(14, 10.0, 180, 20)
    previous = None
    for patience in (1e3, 1e5, 1e7, 1e9):
        perf = erlang_a_performance(14, 10.0, 180, 20, patience)
        gap = abs(perf.p_wait - c.p_wait) + abs(perf.service_level - c.service_level) + abs(perf.asa - c.asa) / 100
        assert previous is None or gap < previous
        previous = gap
    assert previous is not None and previous < 1e-6
    assert perf.p_abandon < 1e-8


def test_erlang_a_handles_overload_and_needs_fewer_agents() -> None:
    perf = erlang_a_performance(500, 600.0, 180, 20, 30)  # more traffic than agents: still stable
    assert 0.0 < perf.p_abandon < 1.0 and perf.service_level < 1.0 - perf.p_abandon + 1e-12
    patient = required_agents(10.0, 180, target=0.8, within=20)
    impatient = required_agents(10.0, 180, target=0.8, within=20, patience=120)
    assert impatient.agents <= patient.agents
    assert erlang_a_performance(impatient.agents - 1, 10.0, 180, 20, 120).service_level < 0.8
    assert erlang_a_performance(0, 5.0, 180, 20, 60).p_abandon == 1.0
