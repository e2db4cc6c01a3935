"""Quality benchmark: a simulated crowd with known truth, run through the real engine in-process.

    .venv/bin/python bench/quality.py                       # 2,000 items, 20 workers, seeds 1,2,3, SQLite
    .venv/bin/python bench/quality.py --smoke               # 100 items, 10 workers, 1 seed: a few seconds
    .venv/bin/python bench/quality.py --db postgres --pg-url postgresql+psycopg://postgres@127.0.0.1/postgres

The crowd (per seed): workers of mixed accuracy — most between 0.7 and 0.9, a few experts
(0.95-0.99), a few spammers (one answering uniformly at random, one always giving the same class,
and more of both kinds with more workers). A worker who is wrong picks one of the other classes
uniformly. The items: class-imbalanced text items (4 classes, priors 0.6 / 0.25 / 0.1 / 0.05) and
gold items balanced over the classes, with their known answers in ``payload.gold``. Each worker's
answer to an item is a function of (seed, worker, item), so a worker gives the same answer to the
same item in every arm.

Everything goes through the engine, as the API routes call it: a fresh database per run (SQLite
file in a temporary folder, or a PostgreSQL database ``bench_quality_<pid>_<n>`` dropped at the end)
migrated by seatflow, the project created by ``services.projects``, items and gold imported by
``services.imports.import_records``, the quality settings by ``services.quality.set_settings``; the
workers take turns (a random order each round) calling ``services.dispatch.next_task`` and
``services.answers.submit`` in ``services._tx.transact`` until no worker gets work. Gold is mixed
in, scored and acted on (suspension) by the engine; a suspended worker is refused by dispatch.

Arms, on the same items, truth and crowd:

1. **baseline**: ``annotate(overlap=3)``, every item's three answers aggregated by majority vote
   (``services.aggregation.aggregate_project(method="majority")``);
2. **Dawid-Skene**: the same run's answers aggregated by ``aggregate_project(method="dawid_skene")``;
3. **dynamic**: ``annotate(overlap=MIN..MAX, confidence=C)`` (default 1..5 at 0.9): the engine's
   own aggregate (one-coin posterior with gold accuracies), stored with each item as it finished.

Settings (``--confidence`` etc. to change them): the quality settings are the engine's defaults
(``services.quality.QualityConfig``: gold rate 0.1, the first 25 gold answers at 0.5, suspension by
Wald's sequential test of H0 accuracy >= 0.7 against H1 accuracy <= 0.5 at alpha 0.005 and beta
0.05, gold at rate 1 while that test leans toward suspension, at least 8 gold answers), written out
in the report; ``--min-accuracy`` etc. override them. Dynamic overlap 1..5 at 0.9 by default.
``--what-if 0.85,0.88,0.9`` simulates (no database) the stopping rule with a uniform class prior and
with one estimated from the labels aggregated so far: see bench/RESULTS.md.

The engine draws gold (whether a lease is gold, and which gold item) with Python's ``random``, which
the bench seeds per seed (``engine-<seed>``): the overlap-3 arm (and every spammer's suspension) is
the same in every run. The dynamic arm still varies a little between runs: the engine re-reads a
project's class prior on a clock (every second while the project is young), so which answers see
which prior depends on the machine's speed.

Printed per arm: accuracy against the truth on the ordinary (non-gold) items, labels per item
(answers on ordinary items / ordinary items; and with the gold answers counted too), for dynamic
the ratio of its labels to the baseline's and the accuracy difference; per spammer the answers
they gave (all, gold included) before dispatch refused them, and whether any other worker was
suspended (a false suspension). The target of the issue is judged from these figures at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_PG_ADMIN_URL, machine_info, pg_create, pg_drop, print_machine, table  # noqa: E402

PROJECT = "bench-quality"
CLASSES = ("neutral", "positive", "negative", "mixed")
PRIORS = (0.6, 0.25, 0.1, 0.05)
TARGET_LABEL_RATIO = 0.6  # dynamic labels <= 60 % of the baseline's
TARGET_SPAM_ANSWERS = 50  # spammers suspended within 50 of their answers


# --- the simulated crowd and items --------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    name: str
    kind: str  # normal | expert | spam-random | spam-constant
    accuracy: float  # probability of the right class (spammers: nan, they ignore the item)
    constant: int = 0  # spam-constant: the class always given


def make_crowd(n: int, seed: int) -> list[Worker]:
    """n workers: ~10 % experts (at least 2), ~15 % spammers (at least 2, alternating kinds), the rest normal."""
    if n < 6:
        raise SystemExit(f"--workers must be at least 6 (2 experts, 2 spammers, 2 others), got {n}")
    rng = random.Random(f"crowd-{seed}")
    n_expert = max(2, round(n * 0.1))
    n_spam = max(2, round(n * 0.15))
    kinds = ["expert"] * n_expert + ["spam"] * n_spam + ["normal"] * (n - n_expert - n_spam)
    rng.shuffle(kinds)
    crowd: list[Worker] = []
    spam_seen = 0
    for i, kind in enumerate(kinds):
        name = f"qw{i:03d}"
        if kind == "expert":
            crowd.append(Worker(name, "expert", round(rng.uniform(0.95, 0.99), 3)))
        elif kind == "normal":
            crowd.append(Worker(name, "normal", round(rng.uniform(0.7, 0.9), 3)))
        else:
            if spam_seen % 2 == 0:
                crowd.append(Worker(name, "spam-random", float("nan")))
            else:  # the laziest spam: always the most common class (scores its share on balanced gold)
                crowd.append(Worker(name, "spam-constant", float("nan"), constant=0))
            spam_seen += 1
    return crowd


def answer_of(worker: Worker, truth: int, seed: int, item_key: str) -> int:
    """The class ``worker`` gives to an item of class ``truth``; the same in every arm."""
    rng = random.Random(f"{seed}/{worker.name}/{item_key}")
    k = len(CLASSES)
    if worker.kind == "spam-random":
        return rng.randrange(k)
    if worker.kind == "spam-constant":
        return worker.constant
    if rng.random() < worker.accuracy:
        return truth
    wrong = rng.randrange(k - 1)
    return wrong if wrong < truth else wrong + 1


def make_items(n_items: int, n_gold: int, seed: int) -> tuple[list[int], list[int]]:
    """(truth of the ordinary items, truth of the gold items); gold balanced over the classes."""
    rng = random.Random(f"items-{seed}")
    truth = rng.choices(range(len(CLASSES)), weights=PRIORS, k=n_items)
    gold = [g % len(CLASSES) for g in range(n_gold)]
    rng.shuffle(gold)
    return truth, gold


# --- one run through the engine -----------------------------------------------------------------


@dataclass
class RunResult:
    arm: str
    workflow: str
    seconds: float
    items: int
    answers: int  # on ordinary items
    gold_answers: int
    items_done: int
    accuracy: dict[str, float]  # method -> accuracy on ordinary items
    answers_per_item: Counter[int] = field(default_factory=Counter)
    spammers: dict[str, int | None] = field(default_factory=dict)  # name -> answers before suspension (None: never)
    false_suspensions: list[str] = field(default_factory=list)  # non-spammers suspended: "name (kind, accuracy)"
    suspended_after: dict[str, int] = field(default_factory=dict)  # every suspended worker -> answers

    @property
    def labels_per_item(self) -> float:
        return self.answers / self.items

    @property
    def labels_per_item_with_gold(self) -> float:
        return (self.answers + self.gold_answers) / self.items


class Backend:
    def __init__(self, kind: str, pg_admin: str) -> None:
        self.kind = kind
        self.pg_admin = pg_admin
        self.tmp = tempfile.mkdtemp(prefix="seatflow-bench-quality-")
        self.n = 0
        self.pg_names: list[str] = []

    def fresh(self) -> str:
        self.n += 1
        if self.kind == "postgres":
            name = f"bench_quality_{os.getpid()}_{self.n}"
            self.pg_names.append(name)
            return pg_create(self.pg_admin, name)
        return f"sqlite:///{self.tmp}/quality-{self.n}.db"

    def drop(self, url: str) -> None:
        if self.kind == "postgres":
            name = url.rsplit("/", 1)[-1].split("?")[0]
            pg_drop(self.pg_admin, name)
            self.pg_names.remove(name)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        for name in list(self.pg_names):
            pg_drop(self.pg_admin, name)
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_arm(backend: Backend, arm: str, workflow: str, methods: list[str], crowd: list[Worker],
            truth: list[int], gold: list[int], seed: int, settings: dict[str, Any], say: Any) -> RunResult:
    from sqlalchemy import func, select

    from seatflow.commands._common import CLI_ACTOR
    from seatflow.errors import Forbidden, NoWork
    from seatflow.services import accounts, aggregation, answers, dispatch, imports, projects, quality
    from seatflow.services._tx import transact
    from seatflow.services.imports import Record
    from seatflow.store import tables
    from seatflow.store.engine import Database, make_engine
    from seatflow.store.migrate import upgrade

    url = backend.fresh()
    engine = make_engine(url)
    try:
        upgrade(engine)
        db = Database(engine)
        with db.write() as conn:
            accounts.create_client(conn, None, slug="bench", name="Bench client")
            project_id = projects.create_project(conn, None, {
                "slug": PROJECT, "name": "Bench quality", "client": "bench", "work_type": "text_annotation",
                "label_schema": {"classes": list(CLASSES), "multi_label": False}, "workflow": workflow})
            users: dict[int, Worker] = {}
            for w in crowd:
                uid = accounts.create_user(conn, None, username=w.name, password=None, role="worker")
                accounts.grant(conn, None, username=w.name, project_slug=PROJECT, skill="annotate")
                users[uid] = w
        transact(db, lambda c: quality.set_settings(c, CLI_ACTOR, PROJECT, settings))
        gold_rows = [Record("gold.jsonl", n, {"external_id": f"g{n:05d}", "payload": {
            "text": f"review g{n}", "gold": {"classes": [CLASSES[c]], "spans": []}}}) for n, c in enumerate(gold)]
        item_rows = [Record("items.jsonl", n, {"external_id": f"t{n:05d}", "payload": {"text": f"review t{n}"}})
                     for n in range(len(truth))]
        for rows, source in ((gold_rows, "gold.jsonl"), (item_rows, "items.jsonl")):
            report = imports.import_records(db, None, PROJECT, rows, source=source)
            if report.error is not None or report.imported != len(rows):
                raise SystemExit(f"import of {source} failed: {report}")
        quality.project_cache.clear()
        with db.read() as conn:
            ext = {r.id: r.external_id for r in conn.execute(
                select(tables.items.c.id, tables.items.c.external_id).where(tables.items.c.project_id == project_id))}
        truth_of = {iid: (truth[int(e[1:])] if e[0] == "t" else gold[int(e[1:])]) for iid, e in ext.items()}
        actors = {}
        with db.read() as conn:
            for uid in users:
                a = accounts.actor_by_id(conn, uid)
                assert a is not None
                actors[uid] = a

        random.seed(f"engine-{seed}")  # the engine's gold draws (random.random) — the same each run
        order_rng = random.Random(f"order-{seed}")
        given: Counter[int] = Counter()
        refused: dict[int, int] = {}  # user -> answers given when dispatch refused them
        t0 = time.perf_counter()
        last_say = t0
        total = 0
        active = list(users)
        while active:
            order_rng.shuffle(active)
            worked = False
            for uid in list(active):
                actor = actors[uid]
                try:
                    leased = transact(db, partial(dispatch.next_task, actor=actor, project_id=project_id))
                except NoWork:
                    continue
                except Forbidden as exc:  # suspended: dispatch refuses them from now on
                    if getattr(exc, "code", "") != "suspended":
                        raise
                    refused[uid] = given[uid]
                    active.remove(uid)
                    continue
                w = users[uid]
                label = answer_of(w, truth_of[leased.item_id], seed, ext[leased.item_id])
                body = {"classes": [CLASSES[label]], "spans": []}
                transact(db, partial(answers.submit, actor=actor, lease_id=leased.lease_id, answer=body,
                                     idempotency_key=f"{uid}-{total}"))
                given[uid] += 1
                total += 1
                worked = True
                now = time.perf_counter()
                if now - last_say >= 10:
                    say(f"   seed {seed} {arm}: {total} answers, {now - t0:.0f} s")
                    last_say = now
            if not worked:
                break
        seconds = time.perf_counter() - t0

        with db.read() as conn:
            items_t, subs = tables.items, tables.submissions
            counts = conn.execute(
                select(items_t.c.id, items_t.c.gold, items_t.c.state, func.count(subs.c.id))
                .select_from(items_t.outerjoin(subs, subs.c.item_id == items_t.c.id))
                .where(items_t.c.project_id == project_id)
                .group_by(items_t.c.id, items_t.c.gold, items_t.c.state)).all()
            stored = {r.id: r.aggregate for r in conn.execute(
                select(items_t.c.id, items_t.c.aggregate).where(items_t.c.project_id == project_id,
                                                              items_t.c.gold.is_(False)))}
            suspended = {r.user_id for r in conn.execute(
                select(tables.worker_standing.c.user_id).where(tables.worker_standing.c.project_id == project_id,
                                                               tables.worker_standing.c.state == "suspended"))}
        per_item = Counter(int(r[3]) for r in counts if not r.gold)
        accuracy: dict[str, float] = {}
        for method in methods:
            if method == "engine":
                labels = {i: (agg or {}).get("label") for i, agg in stored.items()}
            else:
                transact(db, partial(aggregation.aggregate_project, actor=CLI_ACTOR, project_ref=PROJECT,
                                     method=method))
                with db.read() as conn:
                    labels = {r.id: (r.aggregate or {}).get("label") for r in conn.execute(
                        select(items_t.c.id, items_t.c.aggregate).where(items_t.c.project_id == project_id,
                                                                      items_t.c.gold.is_(False)))}
            right = sum(1 for i, lab in labels.items() if lab == CLASSES[truth_of[i]])
            accuracy[method] = right / len(labels)
        res = RunResult(
            arm=arm, workflow=workflow, seconds=seconds, items=len(truth),
            answers=sum(int(r[3]) for r in counts if not r.gold),
            gold_answers=sum(int(r[3]) for r in counts if r.gold),
            items_done=sum(1 for r in counts if not r.gold and r.state == "done"),
            accuracy=accuracy, answers_per_item=per_item,
        )
        for uid, w in users.items():
            if w.kind.startswith("spam"):
                res.spammers[w.name] = refused.get(uid, given[uid]) if uid in suspended else None
            if uid in suspended:
                res.suspended_after[w.name] = refused.get(uid, given[uid])
                if not w.kind.startswith("spam"):
                    res.false_suspensions.append(f"{w.name} ({w.kind}, accuracy {w.accuracy:.3f})")
        return res
    finally:
        engine.dispose()
        backend.drop(url)


# --- what if: the stopping rule with a class prior, simulated outside the engine -----------------


def what_if(crowd: list[Worker], truth: list[int], seed: int, targets: list[float], say: Any) -> list[dict[str, Any]]:
    """The engine's dynamic-overlap rule (one-coin posterior, stop at the target or 5 answers) simulated
    without a database, with a uniform class prior (the engine before its class prior) and with a prior estimated online
    from the labels aggregated so far (1 + counts). Spammers are left out (suspended early in the engine)
    and each worker's accuracy is what the engine makes of 45 gold answers. Not a run of the engine: a
    way to see what a class prior in services/aggregation.py would change."""
    import numpy as np

    from seatflow.quality.aggregate import majority_vote, one_coin_posterior
    from seatflow.services.aggregation import worker_accuracy

    honest = [w for w in crowd if not w.kind.startswith("spam")]
    est = [worker_accuracy(45, round(w.accuracy * 45), len(CLASSES)) for w in honest]
    rng = random.Random(f"what-if-{seed}")
    orders = [rng.sample(range(len(honest)), 5) for _ in truth]
    given = [[answer_of(honest[w], t, seed, f"t{i:05d}") for w in o] for i, (t, o) in enumerate(zip(truth, orders,
                                                                                                 strict=True))]
    n, k = len(truth), len(CLASSES)
    it = np.repeat(np.arange(n), 3)
    wk = np.array([o[:3] for o in orders]).ravel()
    lb = np.array([g[:3] for g in given]).ravel()
    base = float((majority_vote((it, wk, lb), n_items=n, n_workers=len(honest), n_classes=k).labels
                  == np.array(truth)).mean())
    rows: list[dict[str, Any]] = []
    for prior_kind in ("uniform", "online"):
        for target in targets:
            labels = right = 0
            counts = np.ones(k)
            for t, o, g in zip(truth, orders, given, strict=True):
                prior = None if prior_kind == "uniform" else counts / counts.sum()
                for m in range(1, 6):
                    post = one_coin_posterior(g[:m], [est[w] for w in o[:m]], k, prior=prior)
                    if post.max() >= target or m == 5:
                        break
                best = int(np.argmax(post))
                labels += m
                right += best == t
                counts[best] += 1
            rows.append({"prior": prior_kind, "target": target, "accuracy": right / n, "baseline": base,
                         "label_ratio": labels / n / 3})
    say(f"   what if (simulated, no database; spammers left out; MV3 baseline {base:.4f}):")
    say(table(["prior", "target", "accuracy", "acc diff", "labels vs MV3"],
              [[r["prior"], f"{r['target']:g}", f"{r['accuracy']:.4f}", f"{r['accuracy'] - base:+.4f}",
                f"{r['label_ratio']:.3f}"] for r in rows]))
    return rows


# --- the suspension rule alone, simulated (the table in docs/quality.md) -------------------------


def sprt_sim(settings: dict[str, Any], say: Any, seed: int = 0) -> list[dict[str, Any]]:
    """The engine's suspension rule without a database: gold at the warm-up rate for the first
    ``warmup_gold`` gold answers, then ``gold_rate``, and ``doubt_rate`` while the test's ratio is
    above 0; Wald's test held at its lower bound (``seatflow.quality.sprt``, vectorised here over many
    workers). Prints the share of workers of each accuracy suspended within 50 and within 400 of their
    answers (gold included), with and without the doubt rate."""
    import numpy as np

    from seatflow.quality.sprt import SprtPlan

    plan = SprtPlan(p0=settings["ok_accuracy"], p1=settings["min_accuracy"], alpha=settings["alpha"],
                    beta=settings["beta"])
    rows: list[dict[str, Any]] = []
    for doubt in (settings["doubt_rate"], 0.0):
        for p, trials in ((0.25, 20_000), (0.5, 20_000), (0.7, 10_000), (0.75, 10_000), (0.8, 10_000),
                          (0.85, 10_000)):
            rng = np.random.default_rng(seed)
            llr = np.zeros(trials)
            gold = np.zeros(trials, dtype=int)
            at = np.full(trials, -1)
            for a in range(1, 401):
                rate = np.where(gold < settings["warmup_gold"], max(settings["warmup_rate"], settings["gold_rate"]),
                                settings["gold_rate"])
                rate = np.where(llr > 0, np.maximum(rate, doubt), rate)
                g = (rng.random(trials) < rate) & (at < 0)
                ok = rng.random(trials) < p
                gold += g
                llr += np.where(g, np.where(ok, plan.step_pass, plan.step_fail), 0.0)
                at[g & (llr >= plan.upper) & (gold >= settings["min_gold"])] = a
                llr = np.maximum(llr, plan.lower)
            rows.append({"doubt_rate": doubt, "accuracy": p, "workers": trials,
                         "within_50": float(((at > 0) & (at <= 50)).mean()), "within_400": float((at > 0).mean())})
    say(f"   suspension rule simulated (no database): {json.dumps(settings)}")
    say(table(["doubt rate", "accuracy", "workers", "suspended within 50 answers", "within 400"],
              [[f"{r['doubt_rate']:g}", f"{r['accuracy']:g}", r["workers"], f"{r['within_50']:.4f}",
                f"{r['within_400']:.4f}"] for r in rows]))
    return rows


# --- the report ---------------------------------------------------------------------------------


def seed_report(seed: int, crowd: list[Worker], fixed: RunResult, dynamic: RunResult, say: Any) -> dict[str, Any]:
    base_acc = fixed.accuracy["majority"]
    rows = [
        ["baseline: overlap 3, majority vote", fixed.accuracy["majority"], fixed.labels_per_item,
         fixed.labels_per_item_with_gold, 1.0, 0.0],
        ["overlap 3, Dawid-Skene", fixed.accuracy["dawid_skene"], fixed.labels_per_item,
         fixed.labels_per_item_with_gold, 1.0, fixed.accuracy["dawid_skene"] - base_acc],
        [f"dynamic {dynamic.workflow.split('(', 1)[1].rstrip(')')}", dynamic.accuracy["engine"],
         dynamic.labels_per_item, dynamic.labels_per_item_with_gold,
         dynamic.labels_per_item / fixed.labels_per_item, dynamic.accuracy["engine"] - base_acc],
    ]
    if "dawid_skene" in dynamic.accuracy:
        rows.append(["dynamic answers, Dawid-Skene", dynamic.accuracy["dawid_skene"], dynamic.labels_per_item,
                     dynamic.labels_per_item_with_gold, dynamic.labels_per_item / fixed.labels_per_item,
                     dynamic.accuracy["dawid_skene"] - base_acc])
    say(f"== seed {seed}: {fixed.items} items, {len(crowd)} workers "
        f"({', '.join(f'{n} {k}' for k, n in sorted(Counter(w.kind for w in crowd).items()))})")
    say(table(["arm", "accuracy", "labels/item", "with gold", "labels vs baseline", "accuracy diff"],
              [[r[0], f"{r[1]:.4f}", f"{r[2]:.3f}", f"{r[3]:.3f}", f"{r[4]:.3f}", f"{r[5]:+.4f}"] for r in rows]))
    dist = ", ".join(f"{k}: {v}" for k, v in sorted(dynamic.answers_per_item.items()))
    say(f"   dynamic: items by answers {{{dist}}}; items done {dynamic.items_done}/{dynamic.items} "
        f"(baseline {fixed.items_done}/{fixed.items}); run time {fixed.seconds:.0f} s + {dynamic.seconds:.0f} s")
    spam_rows = []
    for w in crowd:
        if w.kind.startswith("spam"):
            spam_rows.append([w.name, w.kind, _n(fixed.spammers.get(w.name)), _n(dynamic.spammers.get(w.name))])
    say(table(["spammer", "kind", "answers before suspension (overlap 3)", "(dynamic)"], spam_rows))
    false = sorted(set(fixed.false_suspensions) | set(dynamic.false_suspensions))
    say(f"   false suspensions: {len(fixed.false_suspensions)} (overlap 3), {len(dynamic.false_suspensions)} (dynamic)"
        + (f": {'; '.join(false)}" if false else ""))
    spam_counts = [v for r in (fixed, dynamic) for v in r.spammers.values()]
    doc: dict[str, Any] = {
        "seed": seed,
        "crowd": [asdict(w) for w in crowd],
        "baseline": {"accuracy": fixed.accuracy["majority"], "labels_per_item": fixed.labels_per_item,
                     "labels_per_item_with_gold": fixed.labels_per_item_with_gold, "answers": fixed.answers,
                     "gold_answers": fixed.gold_answers, "items_done": fixed.items_done, "seconds": fixed.seconds},
        "dawid_skene": {"accuracy": fixed.accuracy["dawid_skene"], "labels_per_item": fixed.labels_per_item},
        "dynamic": {"workflow": dynamic.workflow, "accuracy": dynamic.accuracy["engine"],
                    "accuracy_dawid_skene": dynamic.accuracy.get("dawid_skene"),
                    "labels_per_item": dynamic.labels_per_item,
                    "labels_per_item_with_gold": dynamic.labels_per_item_with_gold, "answers": dynamic.answers,
                    "gold_answers": dynamic.gold_answers, "items_done": dynamic.items_done,
                    "answers_per_item": {str(k): v for k, v in sorted(dynamic.answers_per_item.items())},
                    "seconds": dynamic.seconds},
        "label_ratio": dynamic.labels_per_item / fixed.labels_per_item,
        "accuracy_diff": dynamic.accuracy["engine"] - base_acc,
        "spammers": {"overlap3": fixed.spammers, "dynamic": dynamic.spammers},
        "false_suspensions": {"overlap3": fixed.false_suspensions, "dynamic": dynamic.false_suspensions},
        "items": fixed.items,
    }
    doc["met"] = {
        "accuracy": doc["accuracy_diff"] >= 0,
        "labels": doc["label_ratio"] <= TARGET_LABEL_RATIO,
        "spammers": all(v is not None and v <= TARGET_SPAM_ANSWERS for v in spam_counts),
        "no_false_suspension": not fixed.false_suspensions and not dynamic.false_suspensions,
    }
    return doc


def _n(v: int | None) -> str:
    return "never" if v is None else str(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", "--backend", dest="db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL,
                    help="PostgreSQL server (admin database) for --db postgres")
    ap.add_argument("--items", type=int, default=None, help="ordinary items (default 2000; --smoke 100)")
    ap.add_argument("--gold", type=int, default=None, help="gold items (default 100; --smoke 30)")
    ap.add_argument("--workers", type=int, default=None, help="workers (default 20; --smoke 10)")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default 1,2,3; --smoke 1)")
    ap.add_argument("--min-overlap", type=int, default=1, help="dynamic arm: the answers every item gets")
    ap.add_argument("--max-overlap", type=int, default=5, help="dynamic arm: the most answers an item gets")
    ap.add_argument("--confidence", type=float, default=0.9, help="dynamic arm: the posterior target")
    ap.add_argument("--min-accuracy", type=float, default=None,
                    help="the suspension test's H1 level (default: the engine's, 0.5)")
    ap.add_argument("--ok-accuracy", type=float, default=None,
                    help="the suspension test's H0 level (default: the engine's, 0.7)")
    ap.add_argument("--alpha", type=float, default=None, help="the suspension test's alpha (default: the engine's)")
    ap.add_argument("--beta", type=float, default=None, help="the suspension test's beta (default: the engine's)")
    ap.add_argument("--doubt-rate", type=float, default=None,
                    help="the gold rate while the test leans toward suspension (default: the engine's, 1)")
    ap.add_argument("--no-ds-dynamic", action="store_true",
                    help="skip the extra line: the dynamic arm's answers re-aggregated by Dawid-Skene")
    ap.add_argument("--what-if", default=None, metavar="TARGETS",
                    help="also simulate (no database) the dynamic rule with a class prior at these comma-separated "
                         "targets, e.g. 0.85,0.88,0.9")
    ap.add_argument("--sprt-sim", action="store_true",
                    help="only simulate the suspension rule (no database) with the settings, and exit")
    ap.add_argument("--smoke", action="store_true", help="tiny run for CI: a few seconds on a quiet machine")
    ap.add_argument("--json", action="store_true", help="print the report to stderr and a JSON document to stdout")
    args = ap.parse_args()

    items = args.items if args.items is not None else (100 if args.smoke else 2000)
    n_gold = args.gold if args.gold is not None else (30 if args.smoke else 100)
    n_workers = args.workers if args.workers is not None else (10 if args.smoke else 20)
    try:
        seeds = [int(s) for s in (args.seeds or ("1" if args.smoke else "1,2,3")).split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--seeds must be comma-separated whole numbers, got {args.seeds!r}") from None
    if items < 1 or n_gold < len(CLASSES) or not seeds:
        raise SystemExit(f"--items must be >= 1, --gold >= {len(CLASSES)} and --seeds non-empty")
    if not 1 <= args.min_overlap <= args.max_overlap or args.max_overlap < 2:
        raise SystemExit("--min-overlap must be >= 1 and <= --max-overlap, --max-overlap >= 2")
    if not 0.5 <= args.confidence < 1:
        raise SystemExit(f"--confidence must be from 0.5 to below 1, got {args.confidence}")

    try:
        what_if_targets = [float(t) for t in args.what_if.split(",")] if args.what_if else []
    except ValueError:
        raise SystemExit(f"--what-if must be comma-separated numbers, got {args.what_if!r}") from None
    if any(not 0.5 <= t < 1 for t in what_if_targets):
        raise SystemExit("--what-if: every target must be from 0.5 to below 1")
    out = sys.stderr if args.json else sys.stdout

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    info = machine_info(args.pg_url if args.db == "postgres" else None)
    try:
        info["load average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        pass
    if args.json:
        say("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    else:
        print_machine(info)
    # The quality settings of every run: the engine's defaults, written out so the report shows them.
    from seatflow.services.quality import QualityConfig

    settings = {k: v for k, v in QualityConfig().to_json().items() if k != "thresholds"}
    settings["gold_rate"] = 0.1  # the engine's effective default with gold items (None in the defaults)
    for name in ("min_accuracy", "ok_accuracy", "alpha", "beta", "doubt_rate"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.sprt_sim:
        sprt_sim(settings, say)
        return 0
    fixed_wf = "annotate(overlap=3)"
    dyn_wf = f"annotate(overlap={args.min_overlap}..{args.max_overlap}, confidence={args.confidence:g})"
    priors = ", ".join(f"{c} {p:g}" for c, p in zip(CLASSES, PRIORS, strict=True))
    say(f"db {args.db}; {items} items (classes {priors}), "
        f"{n_gold} gold items (balanced), {n_workers} workers, seeds {','.join(map(str, seeds))}")
    say(f"quality settings: {json.dumps(settings)}; baseline {fixed_wf}; dynamic {dyn_wf}")

    backend = Backend(args.db, args.pg_url)
    docs = []
    try:
        for seed in seeds:
            crowd = make_crowd(n_workers, seed)
            truth, gold = make_items(items, n_gold, seed)
            fixed = run_arm(backend, "overlap 3", fixed_wf, ["majority", "dawid_skene"], crowd, truth, gold, seed,
                            settings, say)
            methods = ["engine"] if args.no_ds_dynamic else ["engine", "dawid_skene"]
            dynamic = run_arm(backend, "dynamic", dyn_wf, methods, crowd, truth, gold, seed, settings, say)
            docs.append(seed_report(seed, crowd, fixed, dynamic, say))
            if what_if_targets:
                docs[-1]["what_if"] = what_if(crowd, truth, seed, what_if_targets, say)
    finally:
        backend.close()

    say("== summary")
    say(table(["seed", "baseline acc", "DS acc", "dynamic acc", "acc diff", "baseline labels/item",
               "dynamic labels/item", "ratio", "spammer answers", "false susp."],
              [[d["seed"], f"{d['baseline']['accuracy']:.4f}", f"{d['dawid_skene']['accuracy']:.4f}",
                f"{d['dynamic']['accuracy']:.4f}", f"{d['accuracy_diff']:+.4f}",
                f"{d['baseline']['labels_per_item']:.3f}", f"{d['dynamic']['labels_per_item']:.3f}",
                f"{d['label_ratio']:.3f}",
                "/".join(_n(v) for r in ("overlap3", "dynamic") for v in d["spammers"][r].values()),
                len(d["false_suspensions"]["overlap3"]) + len(d["false_suspensions"]["dynamic"])] for d in docs]))
    acc_ok = all(d["met"]["accuracy"] for d in docs)
    labels_ok = all(d["met"]["labels"] for d in docs)
    spam_ok = all(d["met"]["spammers"] for d in docs)
    false_ok = all(d["met"]["no_false_suspension"] for d in docs)
    met = acc_ok and labels_ok and spam_ok
    say("== targets")
    say(f"dynamic accuracy >= baseline on every seed: {'yes' if acc_ok else 'NO'}; "
        f"dynamic labels <= {TARGET_LABEL_RATIO:.0%} of baseline on every seed: {'yes' if labels_ok else 'NO'}; "
        f"every spammer suspended within {TARGET_SPAM_ANSWERS} answers: {'yes' if spam_ok else 'NO'}; "
        f"no false suspension: {'yes' if false_ok else 'NO'}")
    say(f"target met: {'YES' if met else 'NO'} (dynamic accuracy >= baseline and labels <= "
        f"{TARGET_LABEL_RATIO:.0%} of baseline on every seed; spammers suspended within {TARGET_SPAM_ANSWERS})")
    if args.json:
        print(json.dumps({"bench": "quality", "db": args.db, "machine": info, "settings": settings,
                          "baseline_workflow": fixed_wf, "dynamic_workflow": dyn_wf, "seeds": docs,
                          "targets": {"accuracy": acc_ok, "labels": labels_ok, "spammers": spam_ok,
                                      "no_false_suspension": false_ok, "met": met}}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
