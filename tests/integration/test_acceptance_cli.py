"""`seatflow inspect start|show|judge` and `seatflow quality report|suspicious` on a real database."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from seatflow.domain.actors import Actor, Role
from seatflow.quality import sampling
from seatflow.services import answers, dispatch
from seatflow.services._tx import transact
from seatflow.store import catalog, tables

from .test_cli import Cli, center, cli, write_jsonl  # noqa: F401 - fixtures


def _answer_all(runner: Cli) -> None:
    db = runner.db()
    try:
        with db.read() as conn:
            user = catalog.user_by_username(conn, "w1")
        actor = Actor(id=user.id, username="w1", role=Role.WORKER, locale="en")
        k = 0
        while True:
            try:
                leased = transact(db, lambda c: dispatch.next_task(c, actor))
            except Exception:  # NoWork: all answered
                break
            transact(db, lambda c, leased=leased, k=k: answers.submit(
                c, actor, lease_id=leased.lease_id, answer={"classes": ["positive"]}, idempotency_key=f"k{k}"))
            k += 1
    finally:
        db.dispose()


def _batch_id(runner: Cli) -> int:
    db = runner.db()
    try:
        with db.read() as conn:
            return int(conn.execute(select(tables.batches.c.id)).scalar_one())
    finally:
        db.dispose()


def test_inspect_and_report_commands(center: Cli, tmp_path: Path,  # noqa: F811
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    center("user", "add", "boss", "--role", "manager", "--password", "long-enough-1")
    rows = write_jsonl(tmp_path / "b.jsonl", [json.dumps({"external_id": f"r{k}", "text": f"review {k}"})
                                              for k in range(10)])
    center("import", "reviews", str(rows))
    batch = _batch_id(center)
    # not delivered yet
    bad = center("inspect", "start", "--batch", str(batch), "--by", "boss", code=1)
    assert "not delivered" in bad.stderr
    _answer_all(center)
    bad = center("inspect", "start", "--batch", str(batch), "--by", "nobody", code=1)
    assert "--by: no active user 'nobody'" in bad.stderr
    bad = center("inspect", "start", "--batch", str(batch), "--by", "boss", "--aql", "3", code=1)
    assert "aql" in bad.stderr and "not an AQL" in bad.stderr
    bad = center("inspect", "start", "--batch", "999", "--by", "boss", code=1)
    assert "batch 999 not found" in bad.stderr
    # importing the same file again makes no batch; an import refused at its first record leaves an empty,
    # failed one: inspecting it said "0 of its 0 items are still in work"
    assert "nothing imported, no batch made" in center("import", "reviews", str(rows)).stdout
    refused = rows.parent / "refused.jsonl"
    refused.write_text('{"external_id": "x1", "text": \n', encoding="utf-8")
    failed = center("import", "reviews", str(refused), code=1).stderr
    empty = int(failed.rsplit("(batch ", 1)[1].split(")", 1)[0])
    bad = center("inspect", "start", "--batch", str(empty), "--by", "boss", code=1)
    assert bad.stderr.strip() == (f"error: batch {empty} holds no items (its import brought none: they were there "
                                  "already, or its first record was refused); nothing to inspect")
    started = json.loads(center("inspect", "start", "--batch", str(batch), "--by", "boss", "--aql", "4",
                                "--json").stdout)
    p = sampling.plan(10, 4.0)
    assert (started["plan"]["sample_size"], started["plan"]["ac"], started["plan"]["re"]) == (p.n, p.ac, p.re)
    shown = center("inspect", "show", str(started["id"]))
    assert f"sample {p.n}, Ac {p.ac}, Re {p.re}" in shown.stdout
    items = [s["item_id"] for s in started["sample"]]
    bad = center("inspect", "judge", str(started["id"]), str(items[0]), "maybe", "--by", "boss", code=1)
    assert "verdict" in bad.stderr
    for item in items:
        last = center("inspect", "judge", str(started["id"]), str(item), "ok", "--by", "boss")
    assert f"{p.n} of {p.n} judged, accepted" in last.stdout
    monkeypatch.setenv("SEATFLOW_LANG", "zh_CN")  # states and verdicts in words, as on the page (were 'accepted', 'ok')
    shown_zh = center("inspect", "show", str(started["id"])).stdout
    assert "（已接收）" in shown_zh and "合格" in shown_zh and "accepted" not in shown_zh
    assert "已接收：" in shown_zh  # the verdict line
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    out = tmp_path / "report.csv"
    center("quality", "report", "--project", "reviews", "--batch", str(batch), "--out", str(out))
    table = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert table[0] == ["section", "name", "value", "n", "low", "high"]
    assert ["inspection", f"batch {batch} #1", "accepted", str(p.n), f"Ac={p.ac}", f"Re={p.re}"] in table
    assert any(r[0] == "worker_answers" and r[1] == "w1" and r[2] == "10" for r in table)
    as_json = json.loads(center("quality", "report", "--project", "reviews").stdout)
    assert as_json["items"]["answered"] == 10 and as_json["inspections"][0]["state"] == "accepted"
    bad = center("quality", "report", "--project", "reviews", "--out", str(tmp_path / "r.txt"), code=1)
    assert ".csv or .json" in bad.stderr
    flagged = center("quality", "suspicious", "reviews", "--by", "boss", "--dry-run")
    assert "0 flagged" in flagged.stdout
