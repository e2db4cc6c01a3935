"""Overlap with aggregation and dynamic overlap: the aggregate and its confidence stored with the item,
one more answer only while the posterior is below the project's target, up to the most."""

from __future__ import annotations

from typing import Any

import pytest

from seatflow.domain.workflow import overlap_next, parse_workflow
from seatflow.errors import ValidationFailed
from seatflow.services import accounts, aggregation, imports, projects, quality
from seatflow.services.imports import Record

from .conftest import Center
from .test_quality_gold import import_gold, set_quality

POS = {"classes": ["positive"]}
NEG = {"classes": ["negative"]}


@pytest.fixture(autouse=True)
def _fresh_quality_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    quality.project_cache.clear()
    aggregation.clear_priors()
    # A test's class prior is the one first read in it: a young project's prior is re-read after
    # PRIOR_SECONDS_YOUNG (1 s), and on a loaded CI machine a second answer came later than that and counted
    # the first answer's own aggregate (confidence 0.9415 instead of 0.9159: a flake).
    monkeypatch.setattr(aggregation, "PRIOR_SECONDS_YOUNG", 3600.0)


# --- the workflow option ----------------------------------------------------------------------


def test_dynamic_overlap_parses_and_round_trips() -> None:
    wf = parse_workflow("annotate(overlap=1..5, confidence=0.95) -> review(sample_rate=0.1)")
    assert wf.dynamic and wf.overlap == 5 and wf.stages[0].start_overlap == 1 and wf.stages[0].confidence == 0.95
    assert wf.describe() == "annotate(overlap=1..5, confidence=0.95) -> review(sample_rate=0.1) -> done"
    assert parse_workflow(wf.to_json()) == wf
    assert parse_workflow(wf.describe()) == wf
    fixed = parse_workflow("annotate(overlap=3)")
    assert not fixed.dynamic and "min_overlap" not in fixed.to_json()["stages"][0]


@pytest.mark.parametrize(("text", "field", "says"), [
    ("annotate(overlap=1..3)", "workflow.stages[0].confidence", "needs a target"),
    ("annotate(overlap=4..3, confidence=0.9)", "workflow.stages[0].overlap", "least overlap"),
    ("annotate(overlap=0..3, confidence=0.9)", "workflow.stages[0].overlap", "least overlap"),
    ("annotate(overlap=a..3, confidence=0.9)", "workflow.stages[0].overlap", "whole numbers"),
    ("annotate(overlap=1..3, confidence=1)", "workflow.stages[0].confidence", "below 1"),
    ("annotate(overlap=1..3, confidence=0.2)", "workflow.stages[0].confidence", "at least 0.5"),
    ("annotate(overlap=1..30, confidence=0.9)", "workflow.stages[0].overlap", "between 1 and 20"),
    ("annotate -> review(confidence=0.9)", "workflow.stages[1].overlap", "only the annotate stage"),
])
def test_bad_dynamic_overlap_names_the_field(text: str, field: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_workflow(text)
    assert err.value.field == field and says in err.value.detail


def test_overlap_next_decisions() -> None:
    dyn = parse_workflow("annotate(overlap=2..4, confidence=0.9)")
    assert overlap_next(dyn, accepted=1, open_tasks=1, confidence=0.99) == "wait"
    assert overlap_next(dyn, accepted=1, open_tasks=0, confidence=0.99) == "wait"  # below the least overlap
    assert overlap_next(dyn, accepted=2, open_tasks=0, confidence=0.95) == "done"
    assert overlap_next(dyn, accepted=2, open_tasks=0, confidence=0.6) == "more"
    assert overlap_next(dyn, accepted=4, open_tasks=0, confidence=0.6) == "done"  # the most
    assert overlap_next(dyn, accepted=2, open_tasks=0, confidence=None) == "done"  # cannot aggregate
    fixed = parse_workflow("annotate(overlap=2)")
    assert overlap_next(fixed, accepted=2, open_tasks=0, confidence=0.1) == "done"
    assert overlap_next(fixed, accepted=1, open_tasks=0, confidence=0.99) == "wait"


def test_class_extraction_per_work_type() -> None:
    assert aggregation.class_of("text_annotation", {"classes": ["a"], "spans": []}) == "a"
    assert aggregation.class_of("text_annotation", {"classes": ["a"], "spans": [{"start": 0}]}) is None
    assert aggregation.class_of("text_annotation", {"classes": ["a", "b"]}) is None
    assert aggregation.class_of("image_annotation", {"class": "sharp"}) == "sharp"
    assert aggregation.class_of("image_annotation", {"class": "sharp", "boxes": [{}]}) is None
    assert aggregation.class_of("moderation", {"decision": "reject", "reasons": ["spam"]}) == "reject"
    assert aggregation.class_of("moderation", {"decision": "escalate"}) is None
    assert aggregation.classes_of("text_annotation", {"classes": ["a", "b"], "multi_label": True}) is None
    assert aggregation.worker_accuracy(0, 0, 3) == pytest.approx(0.7)
    assert aggregation.worker_accuracy(1000, 1000, 3) == pytest.approx(0.99)  # capped
    assert aggregation.worker_accuracy(100, 0, 2) == pytest.approx(0.51)


# --- through the engine -----------------------------------------------------------------------


def make_project(center: Center, slug: str, workflow: str, n_items: int) -> list[int]:
    with center.db.write() as conn:
        center.seed.projects[slug] = projects.create_project(conn, None, {"slug": slug, "name": slug, "client": "acme",
                                             "work_type": "text_annotation", "workflow": workflow,
                                             "label_schema": {"classes": ["positive", "neutral", "negative"]}})
        for worker in ("ann1", "ann2", "ann3"):
            accounts.grant(conn, None, username=worker, project_slug=slug, skill="annotate")
    rows = [Record("x", n, {"external_id": f"{slug}-{n}", "payload": {"text": f"text {n}"}}) for n in range(n_items)]
    assert imports.import_records(center.db, None, slug, rows, source="x").error is None
    with center.db.read() as conn:
        from sqlalchemy import select

        from seatflow.store import tables
        return list(conn.execute(select(tables.items.c.id).where(tables.items.c.external_id.like(f"{slug}-%"))
                                 .order_by(tables.items.c.id)).scalars())


def answer(center: Center, worker: str, project: str, ans: dict[str, Any]) -> dict[str, Any]:
    lease = center.lease(worker, project)
    resp = center.submit(worker, lease["lease_id"], ans)
    assert resp.status_code == 200, resp.text
    return {**lease, "outcome": resp.json()}


def test_dynamic_overlap_stops_when_sure_and_asks_more_when_not(center: Center) -> None:
    (easy,) = make_project(center, "dyn-easy", "annotate(overlap=1..3, confidence=0.9)", 1)
    assert center.count("tasks", item_id=easy) == 1  # starts with the least overlap
    answer(center, "ann1", "dyn-easy", POS)
    item = center.row("items", id=easy)
    assert item.state == "active" and item.aggregate["label"] == "positive"
    assert item.confidence == pytest.approx(0.7)  # one answer of a worker without gold: the prior
    assert center.count("tasks", item_id=easy, state="ready") == 1  # one more slot
    # the worker who answered never gets the new slot
    center.problem(center.post("ann1", "/api/v1/leases", json={"project_id": center.seed.projects["dyn-easy"]}), 404)
    answer(center, "ann2", "dyn-easy", POS)
    item = center.row("items", id=easy)
    assert item.state == "done" and item.confidence == pytest.approx(0.49 / (0.49 + 2 * 0.15 ** 2), abs=1e-6)
    assert item.aggregate["answers"] == 2 and item.aggregate["answer"] == {"classes": ["positive"], "spans": []}
    assert len(item.result) == 2
    assert center.count("tasks", item_id=easy) == 2


def test_dynamic_overlap_stops_at_the_most(center: Center) -> None:
    (hard,) = make_project(center, "dyn-hard", "annotate(overlap=1..3, confidence=0.9)", 1)
    answer(center, "ann1", "dyn-hard", POS)
    answer(center, "ann2", "dyn-hard", NEG)
    assert center.row("items", id=hard).state == "active"
    answer(center, "ann3", "dyn-hard", POS)
    item = center.row("items", id=hard)
    assert item.state == "done" and item.aggregate["label"] == "positive" and item.confidence < 0.9
    assert center.count("tasks", item_id=hard) == 3 and center.count("tasks", item_id=hard, state="ready") == 0


def test_gold_accuracy_lets_one_sure_answer_do(center: Center) -> None:
    items = make_project(center, "dyn-gold", "annotate(overlap=1..3, confidence=0.9)", 3)
    gold = set(import_gold(center, "dyn-gold", [{"external_id": f"g{k}", "payload": {
        "text": f"gold {k}", "gold": POS}} for k in range(10)]))
    set_quality(center, "dyn-gold", gold_rate=1.0)
    for _ in range(10):
        got = answer(center, "ann1", "dyn-gold", POS)
        assert got["item"]["id"] in gold
    # 10 of 10 on gold: accuracy (10 + 2.8) / 14 = 0.914 >= 0.9, so one answer of ann1 is enough
    got = answer(center, "ann1", "dyn-gold", POS)
    assert got["item"]["id"] in items
    item = center.row("items", id=got["item"]["id"])
    assert item.state == "done" and item.confidence == pytest.approx(12.8 / 14, abs=1e-6)


def test_the_class_prior_lets_a_common_answer_settle_and_a_rare_one_ask_again(center: Center) -> None:
    items = make_project(center, "dyn-prior", "annotate(overlap=1..3, confidence=0.9)", 12)
    from seatflow.store import quality as repo

    with center.db.write() as conn:  # the project's earlier aggregates: 9 positive, 1 negative
        for n, item_id in enumerate(items[:10]):
            repo.set_aggregate(conn, item_id, {"label": "negative" if n == 0 else "positive"}, 0.95)
    with center.db.read() as conn:
        prior = aggregation.class_prior(conn, center.seed.projects["dyn-prior"], ["positive", "neutral", "negative"])
    assert prior == pytest.approx([10 / 13, 1 / 13, 2 / 13])  # add-one smoothed shares
    got = answer(center, "ann1", "dyn-prior", POS)
    item = center.row("items", id=got["item"]["id"])
    # P(positive | one answer 'positive' of a 0.7 worker) = 10/13*0.7 / (10/13*0.7 + 1/13*0.15 + 2/13*0.15)
    assert item.confidence == pytest.approx(7.0 / (7.0 + 0.45), abs=1e-6)
    assert item.state == "done", "one common-class answer is enough (it would not be under a uniform prior)"
    got = answer(center, "ann1", "dyn-prior", NEG)
    item = center.row("items", id=got["item"]["id"])
    assert item.state == "active" and item.confidence < 0.9, "a rare-class answer asks for another"
    assert item.aggregate["label"] == "positive" and item.aggregate["answer"] is None  # the prior leads, for now
    assert center.count("tasks", item_id=item.id, state="ready") == 1


def test_fixed_overlap_stores_the_aggregate(center: Center) -> None:
    item_id = center.seed.items["acme-text"][0]
    answer(center, "ann1", "acme-text", POS)
    answer(center, "ann2", "acme-text", NEG)
    item = center.row("items", id=item_id)
    assert item.state == "done"  # fixed overlap 2: done with two answers whatever they say
    # a tie of positive and negative; neutral unlikely
    assert item.aggregate["method"] == "one_coin" and item.confidence == pytest.approx(0.105 / 0.2325)


def test_answers_with_spans_are_not_aggregated(center: Center) -> None:
    item_id = center.seed.items["acme-text"][0]
    spans = {"classes": ["positive"], "spans": [{"start": 0, "end": 5, "label": "PER"}]}
    answer(center, "ann1", "acme-text", spans)
    answer(center, "ann2", "acme-text", spans)
    item = center.row("items", id=item_id)
    assert item.state == "done" and item.aggregate is None and item.confidence is None


def test_a_project_aggregated_again_by_dawid_skene_and_majority(center: Center) -> None:
    votes = {0: (POS, POS), 1: (NEG, NEG), 2: (POS, NEG)}
    for n in range(3):
        answer(center, "ann1", "acme-text", votes[n][0])
        answer(center, "ann2", "acme-text", votes[n][1])
    items = center.seed.items["acme-text"]
    assert all(center.row("items", id=i).state == "done" for i in items)
    resp = center.post("manager", "/api/v1/projects/acme-text/aggregate", json={"method": "majority"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"project": "acme-text", "method": "majority", "items": 3, "answers": 6}
    got = [center.row("items", id=i) for i in items]
    assert [g.aggregate["label"] for g in got[:2]] == ["positive", "negative"]
    assert [g.confidence for g in got] == [1.0, 1.0, 0.5]
    assert all(g.aggregate["method"] == "majority" for g in got)
    resp = center.post("manager", "/api/v1/projects/acme-text/aggregate", json={"method": "dawid_skene"})
    assert resp.status_code == 200 and resp.json()["items"] == 3
    got = [center.row("items", id=i) for i in items]
    assert [g.aggregate["label"] for g in got[:2]] == ["positive", "negative"]
    assert all(g.aggregate["method"] == "dawid_skene" and 0.0 < g.confidence <= 1.0 for g in got)


def test_bad_project_aggregations_are_refused(center: Center) -> None:
    before = center.counts()
    center.problem(center.post("manager", "/api/v1/projects/acme-text/aggregate", json={"method": "median"}), 422,
                   field="method")
    center.problem(center.post("manager", "/api/v1/projects/acme-text/aggregate", json={"method": 3}), 422)
    center.problem(center.post("manager", "/api/v1/projects/acme-text/aggregate", json={"spam": 1}), 422)
    center.problem(center.post("manager", "/api/v1/projects/globex-tickets/aggregate"), 422, field="project")
    center.problem(center.post("manager", "/api/v1/projects/nope/aggregate"), 404)
    for who in ("ann1", "lead", "acme-ops", "globex-ops"):
        center.problem(center.post(who, "/api/v1/projects/acme-text/aggregate"), 403)
    assert center.counts() == before


def test_the_class_prior_counts_each_aggregate_by_its_posterior(center: Center) -> None:
    items = make_project(center, "dyn-soft", "annotate(overlap=1..3, confidence=0.9)", 4)
    from seatflow.store import quality as repo

    with center.db.write() as conn:  # two sure positives, one unsure (0.6 positive, 0.4 negative), one odd row
        repo.set_aggregate(conn, items[0], {"label": "positive", "posterior": {"positive": 1.0}}, 1.0)
        repo.set_aggregate(conn, items[1], {"label": "positive", "posterior": {"positive": 1.0}}, 1.0)
        repo.set_aggregate(conn, items[2], {"label": "positive", "posterior": {"positive": 0.6, "negative": 0.4}},
                           0.6)
        repo.set_aggregate(conn, items[3], {"label": "neutral", "posterior": {"neutral": "very"}}, 0.9)
    with center.db.read() as conn:
        prior = aggregation.class_prior(conn, center.seed.projects["dyn-soft"], ["positive", "neutral", "negative"])
    # expected counts 2.6 / 1 (the odd posterior: its label) / 0.4, add-one smoothed over 4 + 3
    assert prior == pytest.approx([3.6 / 7, 2 / 7, 1.4 / 7])
