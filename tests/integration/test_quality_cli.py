"""`seatflow quality ...`: gold through the ordinary import, settings, read-outs, notices, reinstatement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seatflow.domain.actors import Actor, Role
from seatflow.services import answers, dispatch, quality
from seatflow.services._tx import transact
from seatflow.store import catalog, tables

from .test_cli import Cli, center, cli, write_jsonl  # noqa: F401 - fixtures

WRONG = {"classes": ["negative"]}


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()
    dispatch.queue_cache.clear()


def _answer_gold(runner: Cli, n: int) -> None:
    db = runner.db()
    try:
        with db.read() as conn:
            user = catalog.user_by_username(conn, "w1")
        actor = Actor(id=user.id, username="w1", role=Role.WORKER, locale="en")
        for k in range(n):
            leased = transact(db, lambda c: dispatch.next_task(c, actor))
            transact(db, lambda c, leased=leased, k=k: answers.submit(
                c, actor, lease_id=leased.lease_id, answer=WRONG, idempotency_key=f"k{k}"))
    finally:
        db.dispose()


def test_gold_import_settings_readouts_suspension_and_reinstatement(center: Cli, tmp_path: Path,  # noqa: F811
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    gold = write_jsonl(tmp_path / "gold.jsonl", [json.dumps({"external_id": f"g{k}", "text": f"gold {k}",
                                                             "gold": {"classes": ["positive"]}}) for k in range(4)])
    center("import", "reviews", str(gold))
    assert center.count(tables.items, gold=True) == 4
    assert center.count(tables.tasks) == 0
    got = center("quality", "set", "reviews", "gold_rate=1", "min_gold=3", "alpha=0.2", "beta=0.2")
    assert json.loads(got.stdout)["gold_rate"] == 1.0
    shown = center("quality", "project", "reviews")
    assert "4 gold items, gold rate 100.0%" in shown.stdout
    assert ("suspends a worker when a sequential test on their gold answers finds accuracy 50.0% or less rather "
            "than 70.0% or more (at least 3 gold answers)") in " ".join(shown.stdout.split())
    _answer_gold(center, 3)
    assert center.count(tables.worker_standing, state="suspended") == 1
    notices = center("quality", "notices")
    assert "w1" in notices.stdout
    assert ("suspended: 0 of 3 check items right, enough evidence that the accuracy is 50.0% or less rather than "
            "70.0% or more") in " ".join(notices.stdout.split())
    worker = center("quality", "worker", "w1", "--json")
    data = json.loads(worker.stdout)
    assert data["projects"][0]["standing"] == "suspended" and data["projects"][0]["gold"]["n"] == 3
    table = center("quality", "worker", "w1")
    assert "0.0% [0.0%, 56.1%] n=3" in table.stdout and "suspended" in table.stdout
    monkeypatch.setenv("SEATFLOW_LANG", "zh_CN")  # the standing in words (zh_CN printed 'suspended')
    for args in (("quality", "worker", "w1"), ("quality", "project", "reviews")):
        zh = center(*args).stdout
        assert "已暂停" in zh and "suspended" not in zh, zh
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    center("quality", "reinstate", "reviews", "w1", "--note", "talked it through")
    assert center.count(tables.worker_standing, state="reinstated") == 1
    assert "no notices" not in center("quality", "notices").stdout  # still unacknowledged
    center("quality", "set", "reviews", "--reset")
    db = center.db()
    try:
        with db.read() as conn:
            assert catalog.project_by_slug(conn, "reviews").quality is None
    finally:
        db.dispose()


def test_quality_commands_refuse_bad_input(center: Cli) -> None:  # noqa: F811
    bad = center("quality", "set", "reviews", "gold_rate", code=1)
    assert "write NAME=VALUE" in bad.stderr
    bad = center("quality", "set", "reviews", "gold_rate=often", code=1)
    assert "not JSON" in bad.stderr
    bad = center("quality", "set", "reviews", "gold_rate=2", code=1)
    assert "quality.gold_rate" in bad.stderr
    bad = center("quality", "set", "nope", "gold_rate=0.1", code=1)
    assert "project nope not found" in bad.stderr
    bad = center("quality", "reinstate", "reviews", "w1", code=1)
    assert "not suspended" in bad.stderr
    bad = center("quality", "aggregate", "reviews", "--method", "median", code=1)
    assert "method must be one of" in bad.stderr
    done = center("quality", "aggregate", "reviews")
    assert "0 items of reviews aggregated from 0 answers (dawid_skene)" in done.stdout
    bad = center("quality", "worker", "ghost", code=1)
    assert "worker ghost not found" in bad.stderr
    assert center.count(tables.worker_standing) == 0
    assert "no notices" in center("quality", "notices").stdout
