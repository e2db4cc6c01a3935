"""CI smoke of the benchmarks: bench/dispatch.py, bench/import_.py and the others run end to end with --smoke.

They run as subprocesses, as a developer runs them, on each selected backend (the [postgres] runs use
the session's PostgreSQL server, through --pg-url). The figures are not judged here (the machine
running CI is not the benchmark machine): only that every run finishes, every measured rate and
latency is a positive number, no request failed, and the summary with the targets is printed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import in_ci

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def _run(script: str, db_backend: str, request: pytest.FixtureRequest, *extra: str) -> tuple[str, list[dict[str, Any]]]:
    cmd = [sys.executable, str(BENCH / script), "--db", db_backend, "--smoke", *extra]
    if db_backend == "postgres":
        cmd += ["--pg-url", request.getfixturevalue("pg_server").admin_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=150, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = [json.loads(line[len("RESULT "):]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return proc.stdout, results


def _positive(value: Any, what: str) -> None:
    assert isinstance(value, int | float) and not math.isnan(value) and value > 0, f"{what} = {value!r}"


def test_dispatch_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    out, results = _run("dispatch.py", db_backend, request)
    assert "== summary: closed loop" in out and "== summary: open loop" in out and "== targets" in out, out
    closed = {(r["mode"], r["workers"]): r for r in results if r["mode"] != "open-loop"}
    assert set(closed) == {(m, n) for m in ("http", "sql", "direct") for n in (1, 4)}, sorted(closed)
    for (mode, n), r in closed.items():
        assert r["db"] == db_backend and r["errors"] == 0, r
        _positive(r["cycles_per_s"], f"{mode} N={n} cycles/s")
        for p in ("p50", "p95", "p99"):
            _positive(r["lease"][p], f"{mode} N={n} lease {p}")
        _positive(r["submit"]["p50"], f"{mode} N={n} submit p50")
    (ol,) = [r for r in results if r["mode"] == "open-loop"]
    assert ol["errors"] == 0, ol
    _positive(ol["offered_per_s"], "open-loop offered/s")
    _positive(ol["cycles_per_s"], "open-loop achieved/s")
    _positive(ol["lease"]["p99"], "open-loop lease p99")
    assert f"{closed[('http', 4)]['cycles_per_s']:.1f}" in out  # the summary table shows the figures


def test_import_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    out, results = _run("import_.py", db_backend, request)
    assert "== summary" in out and "== targets" in out and "peak RSS" in out, out
    runs = {r["mode"]: r for r in results}
    assert set(runs) == {"import", "raw", "ratio"}, sorted(runs)
    for mode in ("import", "raw"):
        r = runs[mode]
        assert r["db"] == db_backend and r["rows"] == 2000, r
        _positive(r["rows_per_s"], f"{mode} rows/s")
        _positive(r["maxrss_mb"], f"{mode} peak RSS")
    _positive(runs["ratio"]["ratio"], "import/raw ratio")
    assert math.isclose(runs["ratio"]["ratio"], runs["import"]["rows_per_s"] / runs["raw"]["rows_per_s"])


def test_export_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    out, results = _run("export.py", db_backend, request)
    assert "== summary" in out and "== targets" in out and "peak RSS" in out, out
    runs = {r["mode"]: r for r in results}
    assert set(runs) == {"raw", "jsonl", "coco", "ratio"}, sorted(runs)
    for mode in ("raw", "jsonl", "coco"):
        r = runs[mode]
        assert r["db"] == db_backend and r["rows"] == 2000, r
        _positive(r["rows_per_s"], f"{mode} rows/s")
        _positive(r["maxrss_mb"], f"{mode} peak RSS")
        _positive(r["bytes"], f"{mode} bytes written")
    assert math.isclose(runs["ratio"]["ratio"], runs["jsonl"]["rows_per_s"] / runs["raw"]["rows_per_s"])


def test_moderation_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    """bench/moderation.py: posts pushed through the moderation API, decided, delivered by webhook."""
    out, results = _run("moderation.py", db_backend, request)
    assert "== summary" in out and "== targets" in out and "decision -> webhook" in out, out
    (r,) = results
    assert r["bench"] == "moderation" and r["db"] == db_backend, r
    assert r["pushed"] == 30 and r["decided"] == 30 and r["delivered"] == 30, r
    assert r["lost"] == 0 and r["errors"] == 0 and r["bad_signatures"] == 0, r
    for what in ("ingest_to_decision", "decision_to_webhook"):
        for p in ("p50", "p99"):
            _positive(r[what][p], f"{what} {p}")
    assert r["decision_to_webhook"]["p50"] <= r["decision_to_webhook"]["p99"]


def test_quality_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    """bench/quality.py: a simulated crowd through the engine, fixed overlap 3 (majority, Dawid-Skene) and dynamic."""
    cmd = [sys.executable, str(BENCH / "quality.py"), "--db", db_backend, "--smoke", "--json"]
    if db_backend == "postgres":
        cmd += ["--pg-url", request.getfixturevalue("pg_server").admin_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 0, f"quality.py exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "== summary" in proc.stderr and "== targets" in proc.stderr and "target met: " in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["db"] == db_backend and set(doc["targets"]) >= {"accuracy", "labels", "spammers", "met"}, doc
    (run,) = doc["seeds"]
    items = run["items"]
    base, ds, dyn = run["baseline"], run["dawid_skene"], run["dynamic"]
    # every ordinary item finished: three answers each in the baseline, 1 to 5 with dynamic overlap
    assert base["items_done"] == dyn["items_done"] == items == 100, run
    assert base["answers"] == 3 * items and base["labels_per_item"] == 3.0, base
    assert sum(dyn["answers_per_item"].values()) == items
    assert sum(int(n) * count for n, count in dyn["answers_per_item"].items()) == dyn["answers"]
    assert math.isclose(dyn["labels_per_item"], dyn["answers"] / items)
    assert set(dyn["answers_per_item"]) <= {"1", "2", "3", "4", "5"}, dyn
    # gold was mixed in and answered; with it counted there are more labels per item
    assert base["gold_answers"] > 0 and base["labels_per_item_with_gold"] > base["labels_per_item"], base
    for what, acc in (("baseline", base["accuracy"]), ("Dawid-Skene", ds["accuracy"]), ("dynamic", dyn["accuracy"])):
        assert 0.5 < acc <= 1.0, f"{what} accuracy {acc}"  # far above a guess of the 60 % class
    assert math.isclose(run["label_ratio"], dyn["labels_per_item"] / base["labels_per_item"])
    assert math.isclose(run["accuracy_diff"], dyn["accuracy"] - base["accuracy"])
    spammers = [w["name"] for w in run["crowd"] if w["kind"].startswith("spam")]
    assert spammers and set(run["spammers"]["overlap3"]) == set(spammers) == set(run["spammers"]["dynamic"])
    for arm in ("overlap3", "dynamic"):
        for name, answered in run["spammers"][arm].items():
            assert answered is None or answered > 0, (arm, name, answered)
    assert f"{base['accuracy']:.4f}" in proc.stderr and f"{run['label_ratio']:.3f}" in proc.stderr


@pytest.mark.browser
def test_workspace_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    """bench/workspace.py: Chromium answers a few items of each work type by keyboard, stream and page-per-item."""
    if not Path("/usr/bin/chromium").exists() or importlib.util.find_spec("playwright") is None:
        if in_ci():
            pytest.fail("CI=true and Chromium or playwright is missing", pytrace=False)
        pytest.skip("needs /usr/bin/chromium and playwright")
    cmd = [sys.executable, str(BENCH / "workspace.py"), "--backend", db_backend, "--smoke", "--json"]
    if db_backend == "postgres":
        cmd += ["--pg-url", request.getfixturevalue("pg_server").admin_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 0, f"workspace.py exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "== summary" in proc.stderr and "== targets" in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["backend"] == db_backend and doc["failures"] == [], doc["failures"]
    kinds = ("text_annotation", "image_annotation", "moderation", "service_ticket")
    runs = {(r["flow"], r["work_type"]): r for r in doc["results"]}
    assert set(runs) == {(f, k) for f in ("stream", "paged") for k in kinds}, sorted(runs)
    for (flow, kind), r in runs.items():
        assert r["n"] == (4 if flow == "stream" else 3) and r["errors"] == 0 and r["lost"] == 0, r
        # every answer typed in the page is stored, by the worker of that flow
        assert doc["stored"][f"{kind}/seat-{flow}"] == r["n"], doc["stored"]
        for p in ("p50", "p95", "max"):
            _positive(r["ready"][p], f"{flow} {kind} ready {p}")
        # ready (media, focus, painted) comes after the workspace's item-ready event
        assert r["ready"]["max"] >= r["event"]["max"] > 0, r
        if flow == "stream":  # the control: a key that changes nothing, to the next painted frame
            assert r["idle_frame"]["n"] == 4, r
            _positive(r["idle_frame"]["p95"], f"{kind} idle frame p95")
    assert set(doc["met"]) == set(kinds)


def test_pages_bench_smoke(db_backend: str, request: pytest.FixtureRequest) -> None:
    out, results = _run("pages.py", db_backend, request)
    assert "== baseline: one scan of the backlog" in out, out
    (scan,) = [r for r in results if r["mode"] == "scan"]
    _positive(scan["seconds"], "baseline scan seconds")
    pages = {r["page"]: r for r in results if r["mode"] == "page"}
    assert "/dashboards" in pages and "/api/v1/status" in pages and len(pages) >= 8, sorted(pages)
    for page, r in pages.items():
        assert r["db"] == db_backend and r["items"] == 200, r
        assert r["status"] == 200 and r["first_status"] == 200, r
        _positive(r["seconds"], f"{page} seconds")
        _positive(r["bytes"], f"{page} bytes")
        assert math.isclose(r["ratio"], r["seconds"] / scan["seconds"])
