"""Queueing formulas for staffing: Erlang C (M/M/n, callers wait forever) and Erlang A (M/M/n+M, callers
abandon after an exponential patience).

Units: ``traffic`` is the offered load in Erlangs (arrivals per second x average handling time in seconds);
times (``aht``, ``within``, ``patience``) are seconds. Every function checks its input and raises
``ValidationFailed`` naming the field.

Erlang C is computed through the Erlang B recursion ``B(k) = a B(k-1) / (k + a B(k-1))``, which never
forms ``a^n / n!`` and so stays exact to rounding for thousands of agents and any load, then
``C = n B / (n - a (1 - B))``. Erlang A uses Palm's closed forms as summarised by Mandelbaum & Zeltyn
("The M/M/n+G queue: summary of performance measures", 2004 / Zeltyn's thesis) with the incomplete gamma
function of ``scipy.special`` evaluated in logarithms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg

MAX_AGENTS = 100_000  # a search for the required agents stops here (a forecast error, not a center)


@dataclass(frozen=True)
class Performance:
    """What ``agents`` seats deliver for an offered load: the numbers of one row of a staffing table."""

    agents: int
    traffic: float  # offered load, Erlangs
    p_wait: float  # P(W > 0): an arrival finds every seat busy
    service_level: float  # share of arrivals answered within `within` seconds (abandoned ones are misses)
    asa: float  # average speed of answer, seconds (Erlang A: mean wait of all arrivals)
    occupancy: float  # share of the seats' time spent handling work
    p_abandon: float = 0.0  # Erlang A only

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any, field: str, *, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(Msg("{field} must be a number", field=field), field=field)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValidationFailed(Msg("{field} must be a finite number", field=field), field=field)
    if number < minimum or (strict and number == minimum):
        if strict:
            raise ValidationFailed(Msg("{field} must be greater than {minimum:g} (got {got:g})", field=field,
                                       minimum=minimum, got=number), field=field)
        raise ValidationFailed(Msg("{field} must be at least {minimum:g} (got {got:g})", field=field,
                                   minimum=minimum, got=number), field=field)
    return number


def _agents(value: Any, field: str = "agents") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(Msg("{field} must be a whole number", field=field), field=field)
    if value < 0:
        raise ValidationFailed(Msg("{field} must be at least 0 (got {got})", field=field, got=value), field=field)
    return value


def traffic(arrivals: float, interval_seconds: float, aht: float) -> float:
    """Offered load in Erlangs of ``arrivals`` per interval of ``interval_seconds`` handled in ``aht`` s each."""
    arrivals = _number(arrivals, "arrivals")
    interval_seconds = _number(interval_seconds, "interval", strict=True)
    aht = _number(aht, "aht", strict=True)
    return arrivals * aht / interval_seconds


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of ``agents`` servers without a queue (Erlang B), by the stable recursion."""
    n = _agents(agents)
    a = _number(traffic, "traffic")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """P(W > 0): the probability that an arrival waits, for ``agents`` seats and ``traffic`` Erlangs."""
    n = _agents(agents)
    a = _number(traffic, "traffic")
    if a == 0:
        return 0.0
    if a >= n:
        raise ValidationFailed(Msg(
            "the queue is unstable: {traffic:.2f} Erlangs of traffic need more than {agents} agents "
            "(Erlang C requires traffic < agents; the queue would grow without end)", traffic=a, agents=n),
            field="agents")
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


def erlang_c_performance(agents: int, traffic: float, aht: float, within: float) -> Performance:
    """Erlang C: probability of waiting, service level P(W <= within), ASA and occupancy."""
    n = _agents(agents)
    a = _number(traffic, "traffic")
    aht = _number(aht, "aht", strict=True)
    within = _number(within, "within")
    if a == 0:
        return Performance(agents=n, traffic=0.0, p_wait=0.0, service_level=1.0, asa=0.0, occupancy=0.0)
    c = erlang_c(n, a)
    service_level = 1.0 - c * math.exp(-(n - a) * within / aht)
    asa = c * aht / (n - a)
    return Performance(agents=n, traffic=a, p_wait=c, service_level=service_level, asa=asa, occupancy=a / n)


def _log_a(x: float, y: float) -> float:
    """log of Palm's ``A(x, y) = x e^y y^-x gamma(x, y)`` (gamma: the lower incomplete gamma function).

    ``A(x, y) = sum over k >= 0 of y^k / ((x+1)(x+2)...(x+k))``; where the regularised incomplete gamma
    would underflow (y well below x: a short queue, e.g. patient callers) that series is summed instead.
    """
    if y == 0.0:
        return 0.0
    from scipy import special  # on first use: scipy costs ~0.4 s at every server start

    reg = float(special.gammainc(x, y))  # gamma(x, y) / Gamma(x)
    if reg > 1e-200:
        return math.log(x) + y - x * math.log(y) + float(special.gammaln(x)) + math.log(reg)
    total, term, k = 1.0, 1.0, 0
    while term > 1e-17 * total and k < 1_000_000:
        k += 1
        term *= y / (x + k)
        total += term
    return math.log(total)


def erlang_a_performance(agents: int, traffic: float, aht: float, within: float, patience: float) -> Performance:
    """Erlang A (M/M/n+M): arrivals abandon after an exponential patience of mean ``patience`` seconds.

    With mu = 1/aht, theta = 1/patience, lambda = traffic mu, x = n mu / theta, y = lambda / theta:
    P(W>0) = A(x,y) B / (1 + (A(x,y) - 1) B) with B the Erlang B of (n, traffic);
    P(Ab | W>0) = 1/(rho A(x,y)) + 1 - 1/rho with rho = traffic / n;
    the mean wait of all arrivals E[W] = P(Ab) / theta (patience is exponential);
    the offered wait V (what an arrival would wait were it patient) has
    P(V > t) = P(W>0) gamma(x, y e^(-theta t)) / gamma(x, y); the service level is the share of arrivals
    answered within ``within`` seconds, P(V <= within and patience >= V): an abandoned caller is a miss.
    Stable for any load: abandonment keeps the queue finite even when traffic >= agents.
    """
    n = _agents(agents)
    a = _number(traffic, "traffic")
    aht = _number(aht, "aht", strict=True)
    within = _number(within, "within")
    patience = _number(patience, "patience", strict=True)
    if a == 0:
        return Performance(agents=n, traffic=0.0, p_wait=0.0, service_level=1.0, asa=0.0, occupancy=0.0)
    mu, theta = 1.0 / aht, 1.0 / patience
    lam = a * mu
    y = lam / theta
    if n == 0:  # nobody answers: everyone waits and every arrival abandons
        return Performance(agents=0, traffic=a, p_wait=1.0, service_level=0.0, asa=patience, occupancy=0.0,
                           p_abandon=1.0)
    x = n * mu / theta
    b = erlang_b(n, a)
    log_a = _log_a(x, y)
    # P(W>0) = A B / (1 + (A - 1) B) = 1 / (1 + (1 - B) / (A B)), in logs so that a huge A does not overflow
    p_wait = 1.0 / (1.0 + (1.0 - b) * math.exp(-log_a) / b) if b > 0 else 0.0
    rho = a / n
    ab_given_wait = math.exp(-log_a) / rho + 1.0 - 1.0 / rho
    ab_given_wait = min(max(ab_given_wait, 0.0), 1.0)
    p_abandon = p_wait * ab_given_wait
    mean_wait = p_abandon / theta

    def offered_tail(t: float) -> float:
        """P(V > t | W > 0) = gamma(x, y e^(-theta t)) / gamma(x, y) = exp(-n mu t + y - z) A(x, z) / A(x, y)."""
        z = y * math.exp(-theta * t)
        return min(math.exp(-n * mu * t + y - z + _log_a(x, z) - log_a), 1.0)

    # answered within t: the offered wait V is at most t AND the caller's patience outlasts it, so
    # SL = E[e^(-theta V); V <= t] = 1 - e^(-theta t) P(V > t) - theta * integral_0^t e^(-theta v) P(V > v) dv
    from scipy import integrate

    integral, _err = integrate.quad(lambda v: math.exp(-theta * v) * offered_tail(v), 0.0, within, limit=200)
    service_level = 1.0 - p_wait * (math.exp(-theta * within) * offered_tail(within) + theta * integral)
    service_level = min(max(service_level, 0.0), 1.0)
    occupancy = min(a * (1.0 - p_abandon) / n, 1.0)
    return Performance(agents=n, traffic=a, p_wait=p_wait, service_level=service_level, asa=mean_wait,
                       occupancy=occupancy, p_abandon=p_abandon)


def performance(agents: int, traffic: float, aht: float, within: float, patience: float | None = None) -> Performance:
    """Erlang A when ``patience`` is given, else Erlang C."""
    if patience is None:
        return erlang_c_performance(agents, traffic, aht, within)
    return erlang_a_performance(agents, traffic, aht, within, patience)


def required_agents(
    traffic: float,
    aht: float,
    *,
    target: float,
    within: float,
    max_occupancy: float | None = None,
    patience: float | None = None,
    max_agents: int = MAX_AGENTS,
) -> Performance:
    """The fewest agents whose service level P(wait <= within) is at least ``target`` (e.g. 0.8 for 80 %
    within 20 s) and, if given, whose occupancy is at most ``max_occupancy``; with ``patience`` (seconds)
    Erlang A, else Erlang C. Returns the performance of that number of agents."""
    a = _number(traffic, "traffic")
    aht = _number(aht, "aht", strict=True)
    target = _number(target, "target")
    if target > 1.0 or target == 0.0:
        raise ValidationFailed(Msg("target must be a share between 0 and 1, e.g. 0.8 (got {got:g})", got=target),
                               field="target")
    within = _number(within, "within")
    if max_occupancy is not None:
        max_occupancy = _number(max_occupancy, "max_occupancy", strict=True)
        if max_occupancy > 1.0:
            raise ValidationFailed(Msg("max_occupancy must be at most 1 (got {got:g})", got=max_occupancy),
                                   field="max_occupancy")
    if patience is not None:
        patience = _number(patience, "patience", strict=True)
    if a == 0:
        return performance(0, 0.0, aht, within, patience)
    if target == 1.0:
        raise ValidationFailed(Msg("target 1 (100 %) cannot be met by any finite number of agents; use e.g. 0.95"),
                               field="target")
    def meets(p: Performance) -> bool:
        return p.service_level >= target and (max_occupancy is None or p.occupancy <= max_occupancy + 1e-12)

    # Erlang C needs more agents than the load; Erlang A may meet a target with fewer.
    first = math.floor(a) + 1 if patience is None else 1
    if max_occupancy is not None:
        first = max(first, math.ceil(a / max_occupancy - 1e-9))
    # grow in doubling steps to a number that meets the target, then bisect back to the fewest:
    # the service level only improves with more agents, and so does the occupancy
    failed, n, step = first - 1, first, 1
    while True:
        if n > max_agents:
            raise ValidationFailed(Msg("more than {max_agents} agents would be needed for {traffic:.1f} Erlangs; "
                                       "check the forecast and the handling time", max_agents=max_agents, traffic=a),
                                   field="traffic")
        best = performance(n, a, aht, within, patience)
        if meets(best):
            break
        failed, n, step = n, n + step, step * 2
    lo, hi = failed + 1, n
    while lo < hi:
        mid = (lo + hi) // 2
        p = performance(mid, a, aht, within, patience)
        if meets(p):
            hi, best = mid, p
        else:
            lo = mid + 1
    return best
