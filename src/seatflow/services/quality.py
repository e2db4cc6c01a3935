"""Quality control in the engine: project settings, gold in the stream, qualification, suspension.

How it fits the work engine:

* **Gold items** (``items.gold``; the known answer in ``payload.gold``, never shown to workers) have
  no tasks of their own. :func:`gold_lease` is asked by dispatch before each annotate lease: at the
  project's gold rate (higher while a worker is new, see ``warmup_*``) it creates a task on a gold
  item the worker never saw and leases it — through the same lease shape, ids and media URLs as an
  ordinary task. A gold answer is scored (:func:`record_gold`, in the submit transaction), never
  reviewed, aggregated, completed, delivered or exported.
* **Qualification test**: when ``qualification_items`` > 0, a worker without a pass gets only gold
  items of the project (test answers) until they have answered that many; the share passed decides
  (``pass_mark``): qualified, or failed (no work in the project, their lead is told).
* **Suspension**: after each gold answer outside the test, Wald's sequential probability ratio
  test (``seatflow.quality.sprt``) runs over the worker's gold answers in the project (since their
  last reinstatement): H0 accuracy >= ``ok_accuracy`` against H1 accuracy <= ``min_accuracy``, with
  error rates ``alpha`` (suspending a worker at ``ok_accuracy``) and ``beta`` (keeping one at
  ``min_accuracy``). When it decides H1 (and the worker has ``min_gold`` gold answers), the worker is
  suspended from the project: dispatch refuses them with a clear error, their reserved tasks go back
  to the queue, an event is logged and their team lead gets a notice with the test's counts. A lead
  or manager reinstates them (:func:`reinstate`); the test starts afresh.
* **Doubt**: while the test leans toward H1 (its log-likelihood ratio above 0), the worker's gold
  rate is ``doubt_rate`` (default 1: only gold) so that the test decides within few of their answers
  — a spammer is suspended sooner and does less harm, an honest worker with a bad start is cleared.

  Defaults (``ok_accuracy`` 0.7, ``min_accuracy`` 0.5, ``alpha`` 0.005, ``beta`` 0.05, ``doubt_rate``
  1, the first 25 gold answers at a rate of 0.5): in a simulation of the rule (see docs/quality.md),
  a spammer of accuracy 0.25 (4 classes) is suspended within 50 of their answers 99.8 % of the time,
  one at 0.5 (2 classes) 40 %; an honest worker of accuracy 0.70 is wrongly suspended within 400
  answers 0.34 % of the time, 0.75: 0.04 % (`bench/quality.py --sprt-sim`).

The quality library (numpy, scipy) is imported on first use, not with the app: it would add seconds
to every server's start.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from seatflow.domain.actors import Actor, Role
from seatflow.errors import Forbidden, NotFound, ValidationFailed
from seatflow.i18n.message import N_, Msg
from seatflow.store import catalog, queue
from seatflow.store import quality as repo
from seatflow.store.engine import engine_key
from seatflow.store.events import append, event_row
from seatflow.store.queue import LeasedTask

FAR_FUTURE_YEAR = 9999
CACHE_SECONDS = 2.0
DEFAULT_GOLD_RATE = 0.1

STANDING_STATES = ("qualified", "failed", "suspended", "reinstated")
BLOCKED = ("failed", "suspended")
CLEARED = ("qualified", "reinstated")


class Suspended(Forbidden):
    code = "suspended"
    title = N_("Suspended from this project")


@dataclass(frozen=True)
class QualityConfig:
    """A project's quality settings (``projects.quality``); every field has a default."""

    gold_rate: float | None = None  # share of a worker's annotate tasks that are gold (None: 0.1 with gold)
    warmup_gold: int = 25  # a worker's first gold answers in the project come at warmup_rate
    warmup_rate: float = 0.5
    doubt_rate: float = 1.0  # the gold rate while the suspension test leans toward suspending the worker
    window: int = 50  # gold answers (and reviews) the rolling accuracies look at
    min_accuracy: float | None = 0.5  # the suspension level: H1 of the test (None: never suspend)
    ok_accuracy: float = 0.7  # an acceptable accuracy: H0 of the test
    alpha: float = 0.005  # the test's risk of suspending a worker whose accuracy is ok_accuracy
    beta: float = 0.05  # its risk of not suspending one whose accuracy is min_accuracy
    min_gold: int = 8  # gold answers before a suspension can happen
    qualification_items: int = 0  # the qualification test's length (0: no test)
    pass_mark: float = 0.8  # the share of test answers that must pass
    thresholds: dict[str, Any] = field(default_factory=dict)  # scoring: pass_score, iou, oks, ...

    def rate(self, gold_items: int) -> float:
        if gold_items == 0:
            return 0.0
        return DEFAULT_GOLD_RATE if self.gold_rate is None else self.gold_rate

    def sprt(self) -> Any:
        """The suspension test's plan (None when the project never suspends)."""
        if self.min_accuracy is None:
            return None
        from seatflow.quality.sprt import SprtPlan

        return SprtPlan(p0=self.ok_accuracy, p1=self.min_accuracy, alpha=self.alpha, beta=self.beta)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_NUMBERS: dict[str, tuple[type, float, float]] = {
    "gold_rate": (float, 0.0, 1.0),
    "warmup_gold": (int, 0, 10_000),
    "warmup_rate": (float, 0.0, 1.0),
    "doubt_rate": (float, 0.0, 1.0),
    "window": (int, 1, 10_000),
    "min_accuracy": (float, 0.0, 1.0),
    "ok_accuracy": (float, 0.0, 1.0),
    "alpha": (float, 0.0001, 0.49),
    "beta": (float, 0.0001, 0.49),
    "min_gold": (int, 1, 10_000),
    "qualification_items": (int, 0, 1000),
    "pass_mark": (float, 0.0, 1.0),
}
# Settings of earlier versions, accepted and ignored so that stored settings still load: z was the
# Wilson bound's z of the suspension rule the sequential test replaced.
_RETIRED = ("z",)


def parse_config(data: Any) -> QualityConfig:
    """Quality settings from JSON; bad input names the field (``quality.gold_rate``)."""
    if data is None:
        return QualityConfig()
    if not isinstance(data, dict):
        raise ValidationFailed(Msg("quality must be a mapping of settings"), field="quality")
    out: dict[str, Any] = {}
    for key, value in data.items():
        f = f"quality.{key}"
        if key in _RETIRED:
            continue
        if key == "thresholds":
            from seatflow.quality.scoring import Thresholds

            if not isinstance(value, dict):
                raise ValidationFailed(Msg("{field} must be a mapping", field=f), field=f)
            try:
                Thresholds(**{k: tuple(v) if isinstance(v, list) else v  # type: ignore[arg-type]
                              for k, v in value.items()})
            except TypeError as exc:
                raise ValidationFailed(Msg("{field}: {message}", field=f, message=str(exc)), field=f) from None
            except ValidationFailed as exc:
                raise ValidationFailed(Msg("{section}.{detail}", section="quality", detail=exc.detail),
                                       field=f"quality.{exc.field}") from None
            out[key] = dict(value)
            continue
        if key not in _NUMBERS:
            known = ", ".join([*_NUMBERS, "thresholds"])
            raise ValidationFailed(Msg("{field} is not a quality setting; known: {known}", field=f, known=known),
                                   field=f)
        kind, low, high = _NUMBERS[key]
        if value is None and key in ("gold_rate", "min_accuracy"):
            out[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (kind is int and not float(value).is_integer()) or not math.isfinite(value):
            if kind is int:
                raise ValidationFailed(Msg("{field} must be a whole number from {low:g} to {high:g}", field=f, low=low,
                                           high=high), field=f)
            raise ValidationFailed(Msg("{field} must be a number from {low:g} to {high:g}", field=f, low=low,
                                       high=high), field=f)
        if not low <= value <= high:
            raise ValidationFailed(Msg("{field} must be from {low:g} to {high:g}, got {got:g}", field=f, low=low,
                                       high=high, got=value), field=f)
        out[key] = kind(value)
    cfg = QualityConfig(**out)
    if cfg.min_accuracy is not None and not 0.0 < cfg.min_accuracy < cfg.ok_accuracy < 1.0:
        f = "quality.min_accuracy" if "min_accuracy" in out else "quality.ok_accuracy"
        raise ValidationFailed(Msg("{field}: the suspension level min_accuracy ({min_accuracy:g}) must be above 0 and "
                                   "below ok_accuracy ({ok_accuracy:g}), which must be below 1", field=f,
                                   min_accuracy=cfg.min_accuracy, ok_accuracy=cfg.ok_accuracy), field=f)
    return cfg


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials at ``z`` ((0, 1) when n is 0)."""
    from seatflow.quality import stats

    iv = stats.wilson(k, n, confidence=math.erf(z / math.sqrt(2)))  # the two-sided confidence of this z
    return iv.low, iv.high


# --- the project's settings, cached -------------------------------------------------------------


@dataclass(frozen=True)
class ProjectQuality:
    config: QualityConfig
    gold_items: int
    sla_minutes: int | None
    configured: bool

    @property
    def active(self) -> bool:
        """Does dispatch need to look at this project's quality rules at all?"""
        return self.gold_items > 0 or self.config.qualification_items > 0 or self.configured


class _Cache:
    def __init__(self) -> None:
        self._data: dict[tuple[int, int], tuple[float, ProjectQuality]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, project_id: int) -> ProjectQuality:
        key = (engine_key(conn), project_id)
        hit = self._data.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        raw, n, sla = repo.project_quality(conn, project_id)
        try:
            cfg = parse_config(raw)
        except ValidationFailed:  # pragma: no cover - settings are checked when written
            cfg = QualityConfig()
        pq = ProjectQuality(config=cfg, gold_items=n, sla_minutes=sla, configured=raw is not None)
        with self._lock:
            if len(self._data) > 10_000:
                self._data.clear()
            self._data[key] = (time.monotonic() + CACHE_SECONDS, pq)
        return pq

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


project_cache = _Cache()


# --- dispatch -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """What quality control says about a worker's queues before a lease."""

    blocked: dict[int, str] = field(default_factory=dict)  # project id -> "suspended" / "failed"
    testing: set[int] = field(default_factory=set)  # projects where the worker takes the qualification test
    projects: dict[int, ProjectQuality] = field(default_factory=dict)  # the active ones
    after: dict[int, int] = field(default_factory=dict)  # project id -> the gold result a reinstatement follows


def plan(conn: Connection, user_id: int, project_ids: list[int]) -> Plan | None:
    """None when no project in ``project_ids`` uses quality control (the common, cheap case)."""
    active = {}
    for pid in project_ids:
        pq = project_cache.get(conn, pid)
        if pq.active:
            active[pid] = pq
    if not active:
        return None
    out = Plan(projects=active)
    standing = repo.standings(conn, user_id, list(active))
    for pid, pq in active.items():
        state = standing[pid].state if pid in standing else None
        if state == "reinstated":
            out.after[pid] = _after(standing[pid])
        if state in BLOCKED:
            out.blocked[pid] = state
        elif pq.config.qualification_items > 0 and state not in CLEARED:
            out.testing.add(pid)
    return out


def blocked_error(conn: Connection, project_id: int, state: str) -> Suspended:
    project = catalog.project_by_id(conn, project_id)
    name = project.slug if project is not None else str(project_id)
    if state == "failed":
        return Suspended(Msg("you did not pass the qualification test of project {project}; your team lead was "
                             "told and can reinstate you", project=name),
                         field="project_id", project=name, standing=state)
    return Suspended(Msg("you are suspended from project {project}: your accuracy on check items fell below the "
                         "project's threshold; your team lead was told and can reinstate you", project=name),
                     field="project_id", project=name, standing=state)


def _after(row: Any) -> int:
    """The last gold result before a reinstatement: the suspension test counts the answers after it."""
    if row is None or row.state != "reinstated":
        return 0
    return int((row.reason or {}).get("after_result", 0) or 0)


# --- a worker's gold answers and their suspension test, cached for dispatch ----------------------

STATE_SECONDS = 30.0
_states: dict[tuple[int, int, int], tuple[float, int, int, bool]] = {}  # -> (expires, after, answers, leaning)
_states_lock = threading.Lock()


def _remember(conn: Connection, user_id: int, project_id: int, after: int, answers: int, leaning: bool) -> None:
    with _states_lock:
        if len(_states) > 100_000:
            _states.clear()
        _states[(engine_key(conn), user_id, project_id)] = (time.monotonic() + STATE_SECONDS, after, answers,
                                                            leaning)


def clear_worker_states() -> None:
    """Forget the cached gold counts and test leanings (tests)."""
    with _states_lock:
        _states.clear()


def suspension_test(conn: Connection, user_id: int, project_id: int, cfg: QualityConfig,
                    after: int) -> tuple[int, Any]:
    """(the worker's gold answers in the project, the suspension test over those after ``after`` or None)."""
    outcomes = repo.gold_outcomes(conn, user_id=user_id, project_id=project_id)
    plan_ = cfg.sprt()
    if plan_ is None:
        return len(outcomes), None
    from seatflow.quality.sprt import run

    test = run(plan_, (ok for rid, ok in outcomes if rid > after), min_answers=cfg.min_gold)
    return len(outcomes), test


def _worker_state(conn: Connection, user_id: int, project_id: int, cfg: QualityConfig,
                  after: int) -> tuple[int, bool]:
    """(gold answers, does the test lean toward suspension) — from the cache that gold answers keep
    up to date in this process, else read (the cache lives ``STATE_SECONDS``: another process's
    answers show within that time; it only steers the gold rate, never a suspension)."""
    hit = _states.get((engine_key(conn), user_id, project_id))
    if hit is not None and hit[0] > time.monotonic() and hit[1] == after:
        return hit[2], hit[3]
    answers, test = suspension_test(conn, user_id, project_id, cfg, after)
    leaning = test is not None and test.leaning_bad
    _remember(conn, user_id, project_id, after, answers, leaning)
    return answers, leaning


def _gold_due(conn: Connection, user_id: int, pid: int, pq: ProjectQuality, testing: bool, after: int) -> bool:
    if testing:
        return True
    if pq.gold_items == 0:
        return False
    cfg = pq.config
    rate = cfg.rate(pq.gold_items)
    draw = random.random()
    if draw < rate:
        return True
    doubt = cfg.doubt_rate if cfg.min_accuracy is not None else 0.0
    if draw >= max(cfg.warmup_rate, doubt):
        return False
    # A new worker sees more gold (warm-up), and so does one whose suspension test leans toward
    # suspending them (doubt): the test then decides within fewer of their answers, either way.
    answers, leaning = _worker_state(conn, user_id, pid, cfg, after)
    if draw < cfg.warmup_rate and answers < cfg.warmup_gold:
        return True
    return leaning and draw < doubt


def gold_lease(conn: Connection, user_id: int, pid: int, plan_: Plan, *, now: datetime,
               expires: datetime) -> LeasedTask | None:
    """Lease a gold item of project ``pid`` to the worker if one is due (always while testing)."""
    pq = plan_.projects.get(pid)
    if pq is None or pq.gold_items == 0:
        return None
    if not _gold_due(conn, user_id, pid, pq, pid in plan_.testing, plan_.after.get(pid, 0)):
        return None
    item = repo.pick_gold(conn, user_id=user_id, project_id=pid)
    if item is None:
        return None
    # The deadline a worker sees: the item's own while it lies ahead, else the project's SLA from now.
    deadline = item.deadline
    if deadline.year < FAR_FUTURE_YEAR and deadline <= now:
        deadline = now + timedelta(minutes=pq.sla_minutes) if pq.sla_minutes else deadline.replace(
            year=FAR_FUTURE_YEAR)
    return repo.lease_gold(conn, user_id=user_id, item=item, now=now, expires=expires, deadline=deadline)


# --- a gold answer ------------------------------------------------------------------------------


def record_gold(conn: Connection, ctx: Any, actor: Actor, answer: dict[str, Any], *, submission_id: int,
                now: datetime) -> None:
    """Score a gold answer and apply what follows: test outcome or suspension. In the submit transaction."""
    pq = project_cache.get(conn, ctx.project_id)
    cfg = pq.config
    gold = (ctx.payload or {}).get("gold")
    if gold is None:  # pragma: no cover - items.gold is set from payload.gold
        return
    from seatflow.quality.scoring import score_answer

    thresholds = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.thresholds.items()}
    score = score_answer(ctx.work_type, answer, gold, thresholds=thresholds or None)
    row = repo.standing(conn, actor.id, ctx.project_id)
    state = row.state if row is not None else None
    testing = cfg.qualification_items > 0 and state not in (*CLEARED, *BLOCKED)
    repo.insert_gold_result(conn, {
        "client_id": ctx.client_id, "project_id": ctx.project_id, "item_id": ctx.item_id, "user_id": actor.id,
        "submission_id": submission_id, "score": float(score.value), "passed": bool(score.passed),
        "test": testing, "details": _jsonable(score.details), "at": now,
    })
    base = {"client_id": ctx.client_id, "project_id": ctx.project_id, "at": now, "actor_id": actor.id}
    if testing:
        n, k = repo.test_results(conn, user_id=actor.id, project_id=ctx.project_id)
        if n < cfg.qualification_items:
            return
        passed = k / n >= cfg.pass_mark
        reason = {"test_answers": n, "passed": k, "pass_mark": cfg.pass_mark}
        new = "qualified" if passed else "failed"
        repo.set_standing(conn, user_id=actor.id, project_id=ctx.project_id, client_id=ctx.client_id,
                          state=new, reason=reason, now=now, by=None)
        append(conn, [event_row(entity="worker", kind="qualify" if passed else "fail-test", from_state=state,
                                to_state=new, data={"worker_id": actor.id, **reason}, **base)])
        if not passed:
            _notify_lead(conn, worker_id=actor.id, project_id=ctx.project_id, client_id=ctx.client_id,
                         kind="qualification_failed", data=reason, now=now)
        return
    if cfg.min_accuracy is None or state in BLOCKED:
        return
    after = _after(row)
    answers, test = suspension_test(conn, actor.id, ctx.project_id, cfg, after)
    _remember(conn, actor.id, ctx.project_id, after, answers, test.leaning_bad)
    if test.decision != "suspend":
        return
    plan_ = cfg.sprt()
    why: dict[str, Any] = {
        "test": "sprt", "decision": "suspend",
        "gold_answers": test.answers, "passed": test.passed, "accuracy": round(test.passed / test.answers, 4),
        "run_answers": test.run_answers, "run_passed": test.run_passed,
        "llr": round(test.llr, 4), "bound": round(plan_.upper, 4),
        "threshold": cfg.min_accuracy, "ok_accuracy": cfg.ok_accuracy, "alpha": cfg.alpha, "beta": cfg.beta,
    }
    suspend(conn, worker_id=actor.id, project_id=ctx.project_id, client_id=ctx.client_id, reason=why,
            now=now, by=None, from_state=state)


def _jsonable(details: Any) -> Any:
    if isinstance(details, dict):
        return {str(k): _jsonable(v) for k, v in details.items()}
    if isinstance(details, list | tuple):
        return [_jsonable(v) for v in details]
    if isinstance(details, float) and not math.isfinite(details):
        return None
    if hasattr(details, "item"):  # numpy scalars
        return details.item()
    return details


def suspend(conn: Connection, *, worker_id: int, project_id: int, client_id: int, reason: dict[str, Any],
            now: datetime, by: int | None, from_state: str | None = None) -> None:
    """Suspend a worker from a project: standing, reserved and leased tasks released, event, lead's notice."""
    repo.set_standing(conn, user_id=worker_id, project_id=project_id, client_id=client_id, state="suspended",
                      reason=reason, now=now, by=by)
    repo.release_worker_tasks(conn, user_id=worker_id, project_id=project_id)
    held = [r for r in queue.leased_by_user(conn, user_id=worker_id, lease_ids=None) if r.project_id == project_id]
    queue.return_to_queue(conn, held, reason="release", now=now, actor_id=by)
    append(conn, [event_row(entity="worker", kind="suspend", client_id=client_id, project_id=project_id,
                            actor_id=by, from_state=from_state, to_state="suspended", at=now,
                            data={"worker_id": worker_id, **reason})])
    _notify_lead(conn, worker_id=worker_id, project_id=project_id, client_id=client_id, kind="suspended",
                 data=reason, now=now)


def _notify_lead(conn: Connection, *, worker_id: int, project_id: int, client_id: int, kind: str,
                 data: dict[str, Any], now: datetime) -> None:
    user = catalog.user_by_id(conn, worker_id)
    repo.insert_notice(conn, {"team_id": user.team_id if user is not None else None, "client_id": client_id,
                              "project_id": project_id, "worker_id": worker_id, "kind": kind, "data": data,
                              "created_at": now})


# --- what people see and do -----------------------------------------------------------------------

CENTER = (Role.ADMIN, Role.MANAGER, Role.LEAD)


def _rate(k: int, n: int) -> dict[str, Any]:
    low, high = wilson(k, n)
    return {"n": n, "passed": k, "rate": round(k / n, 4) if n else None, "low": round(low, 4),
            "high": round(high, 4)}


def worker_project_quality(conn: Connection, worker_id: int, project: Any) -> dict[str, Any]:
    """One worker's quality in one project: rolling gold accuracy, review acceptance (95 % Wilson), standing."""
    pq = project_cache.get(conn, project.id)
    cfg = pq.config
    gold = repo.recent_gold(conn, user_id=worker_id, project_id=project.id, limit=cfg.window)
    verdicts = repo.recent_verdicts(conn, user_id=worker_id, project_id=project.id, limit=cfg.window)
    row = repo.standing(conn, worker_id, project.id)
    state = row.state if row is not None else ("testing" if cfg.qualification_items > 0 else "active")
    tests, passed_tests = repo.test_results(conn, user_id=worker_id, project_id=project.id)
    _, test = suspension_test(conn, worker_id, project.id, cfg, _after(row))
    gold_acc = _rate(sum(1 for g in gold if g.passed), len(gold))
    review = _rate(sum(1 for v in verdicts if v == "accept"), len(verdicts))
    return {
        "worker_id": worker_id,
        "project": {"id": project.id, "slug": project.slug, "name": project.name},
        "standing": state,
        "standing_reason": row.reason if row is not None else None,
        "standing_since": row.changed_at.isoformat() if row is not None else None,
        "gold": {**gold_acc, "window": cfg.window},
        "review": {**review, "accepted": review.pop("passed"), "window": cfg.window},
        "suspension_test": None if test is None else {
            "decision": test.decision, "answers": test.answers, "passed": test.passed, "llr": round(test.llr, 4),
            "suspend_at": round(cfg.sprt().upper, 4), "clear_at": round(cfg.sprt().lower, 4)},
        "test": {"required": cfg.qualification_items, "answered": tests, "passed": passed_tests,
                 "pass_mark": cfg.pass_mark} if cfg.qualification_items else None,
    }


def _project(conn: Connection, ref: int | str) -> Any:
    row = catalog.project_by_id(conn, int(ref)) if isinstance(ref, int) or str(ref).isdigit() else \
        catalog.project_by_slug(conn, str(ref))
    if row is None:
        raise NotFound(Msg("project {ref} not found", ref=ref), field="project")
    return row


def _worker(conn: Connection, ref: int | str) -> Any:
    row = catalog.user_by_id(conn, int(ref)) if isinstance(ref, int) or str(ref).isdigit() else \
        catalog.user_by_username(conn, str(ref))
    if row is None or row.role == Role.CLIENT.value:
        raise NotFound(Msg("worker {ref} not found", ref=ref), field="worker")
    return row


def worker_quality(conn: Connection, actor: Actor, worker_ref: int | str,
                   project_ref: int | str | None = None) -> dict[str, Any]:
    """A worker's quality per project (or in one). The center's staff see anyone's; a worker their own."""
    if actor.role is Role.CLIENT:
        raise Forbidden(Msg("worker quality is for the delivery center only"))
    worker = _worker(conn, worker_ref)
    if actor.role not in CENTER and worker.id != actor.id:
        raise Forbidden(Msg("you may see your own quality only"))
    if project_ref is not None:
        projects = [_project(conn, project_ref)]
    else:
        ids = {s.project_id for s in catalog.skills_of(conn, worker.id)}
        projects = [p for p in (catalog.project_by_id(conn, i) for i in sorted(ids)) if p is not None]
    return {"worker": {"id": worker.id, "username": worker.username, "display_name": worker.display_name},
            "projects": [worker_project_quality(conn, worker.id, p) for p in projects]}


def project_quality(conn: Connection, actor: Actor, project_ref: int | str) -> dict[str, Any]:
    """A project's settings and gold totals; the center's staff also get the per-worker table.

    A client user sees only the totals of its own projects (never a worker); a worker is refused.
    """
    project = _project(conn, project_ref)
    if actor.role is Role.WORKER:
        raise Forbidden(Msg("a project's quality table is for the center's staff"))
    actor.check_client(project.client_id)
    pq = project_cache.get(conn, project.id)
    answers, passed, workers = repo.project_gold_totals(conn, project.id)
    out: dict[str, Any] = {
        "project": {"id": project.id, "slug": project.slug, "name": project.name},
        "gold_items": pq.gold_items,
        "gold": {**_rate(passed, answers), "workers": workers},
    }
    if actor.role is Role.CLIENT:
        return out
    out["settings"] = {**pq.config.to_json(), "effective_gold_rate": pq.config.rate(pq.gold_items)}
    out["workers"] = [
        {"username": w.username, **worker_project_quality(conn, w.id, project)}
        for w in repo.workers_in_project(conn, project.id)
    ]
    return out


def set_settings(conn: Connection, actor: Actor, project_ref: int | str, data: Any) -> dict[str, Any]:
    """Replace a project's quality settings (managers). ``None`` restores the defaults."""
    actor.require(Role.ADMIN, Role.MANAGER)
    project = _project(conn, project_ref)
    cfg = parse_config(data)
    repo.set_project_quality(conn, project.id, None if data is None else {
        k: v for k, v in cfg.to_json().items() if k in data})
    project_cache.clear()
    return {"project": project.slug, "settings": cfg.to_json()}


def reinstate(conn: Connection, actor: Actor, project_ref: int | str, worker_ref: int | str, *,
              note: str | None = None, now: datetime) -> dict[str, Any]:
    """Let a suspended (or failed) worker work on the project again; the gold window starts afresh."""
    actor.require(*CENTER)
    project = _project(conn, project_ref)
    worker = _worker(conn, worker_ref)
    if note is not None and len(note) > 2000:
        raise ValidationFailed(Msg("note is longer than 2000 characters"), field="note")
    row = repo.standing(conn, worker.id, project.id)
    if row is None or row.state not in BLOCKED:
        raise ValidationFailed(Msg("{worker} is not suspended from project {project} nor failed its test",
                                   worker=worker.username, project=project.slug), field="worker")
    if actor.role is Role.LEAD and worker.team_id != actor.team_id:  # (None == None: no teams yet)
        raise Forbidden(Msg("a team lead reinstates the workers of their own team"))
    reason = {"after_result": repo.last_gold_result(conn, user_id=worker.id, project_id=project.id),
              "previous": row.state, "note": note}
    repo.set_standing(conn, user_id=worker.id, project_id=project.id, client_id=project.client_id,
                      state="reinstated", reason=reason, now=now, by=actor.id or None)
    append(conn, [event_row(entity="worker", kind="reinstate", client_id=project.client_id, project_id=project.id,
                            actor_id=actor.id or None, from_state=row.state, to_state="reinstated", at=now,
                            data={"worker_id": worker.id, "note": note})])
    return {"worker": worker.username, "project": project.slug, "standing": "reinstated"}


def notices(conn: Connection, actor: Actor, *, open_only: bool = True, limit: int = 100) -> list[dict[str, Any]]:
    """What the team leads are told. A lead sees their team's; managers and admins everyone's."""
    actor.require(*CENTER)
    rows = repo.list_notices(conn, team_id=actor.team_id, all_teams=actor.role is not Role.LEAD,
                             open_only=open_only, limit=limit)
    return [{"id": r.id, "kind": r.kind, "worker": r.worker, "worker_id": r.worker_id, "project": r.project_slug,
             "data": r.data, "created_at": r.created_at.isoformat(),
             "acknowledged_at": r.acknowledged_at.isoformat() if r.acknowledged_at else None} for r in rows]


def acknowledge(conn: Connection, actor: Actor, notice_id: int, *, now: datetime) -> dict[str, Any]:
    actor.require(*CENTER)
    row = repo.get_notice(conn, notice_id)
    if row is None or (actor.role is Role.LEAD and row.team_id != actor.team_id):
        raise NotFound(Msg("notice {notice_id} not found", notice_id=notice_id), field="notice_id")
    repo.acknowledge_notice(conn, notice_id, by=actor.id or None, now=now)
    return {"id": notice_id, "acknowledged": True}
