"""Dashboards and daily reports: the numbers, the SVG charts, the CSV behind them, who may see what,
bad input, the PDF, and the email through a real SMTP server on loopback."""

from __future__ import annotations

import csv
import email
import io
import re
import socketserver
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from seatflow.dashboards import daily
from seatflow.domain.clock import utcnow
from seatflow.errors import ValidationFailed
from seatflow.services import accounts
from seatflow.services.imports import Record, import_records
from seatflow.store import tables

from . import _pdf as pdf
from .conftest import GOOD_ANSWERS, Center

SVG = "{http://www.w3.org/2000/svg}"
FACE = GOOD_ANSWERS["acme-faces"]


def _team(center: Center) -> None:
    """Team 'red': lead, ann1 and rev1. ann2 and ann3 are in no team."""
    with center.db.write() as conn:
        team_id = accounts.create_team(conn, None, name="red")
        conn.execute(update(tables.users).where(tables.users.c.username.in_(("lead", "ann1", "rev1")))
                     .values(team_id=team_id))


def _review(center: Center, lease_id: int, verdict: str) -> None:
    body: dict[str, Any] = {"verdict": verdict, "idempotency_key": f"rev-{lease_id}"}
    if verdict == "reject":
        body["comment"] = "loose"
    resp = center.post("rev1", f"/api/v1/leases/{lease_id}/review", json=body)
    assert resp.status_code == 200, resp.text


def _work(center: Center) -> None:
    """acme-faces: face-1 by ann1 rejected then accepted, face-2 by ann2 accepted (late: deadline moved
    into the past). globex: ticket-1 by ann3."""
    first = center.lease("ann1", "acme-faces")
    center.submit("ann1", first["lease_id"], FACE)
    _review(center, center.lease("rev1")["lease_id"], "reject")
    rework = center.lease("ann1", "acme-faces")
    center.submit("ann1", rework["lease_id"], FACE, key="rework")
    _review(center, center.lease("rev1")["lease_id"], "accept")
    second = center.lease("ann2", "acme-faces")
    with center.db.write() as conn:
        conn.execute(update(tables.items).where(tables.items.c.id == second["item"]["id"])
                     .values(deadline=utcnow() - timedelta(minutes=5)))
    center.submit("ann2", second["lease_id"], FACE)
    _review(center, center.lease("rev1")["lease_id"], "accept")
    ticket = center.lease("ann3", "globex-tickets")
    center.submit("ann3", ticket["lease_id"], GOOD_ANSWERS["globex-tickets"])


@pytest.fixture
def busy(center: Center) -> Center:
    _team(center)
    _work(center)
    return center


def test_project_dashboard_numbers(busy: Center) -> None:
    resp = busy.get("manager", "/api/v1/dashboards?scope=project&key=acme-faces&hours=24")
    assert resp.status_code == 200, resp.text
    d = resp.json()
    assert d["scope"] == {"kind": "project", "key": "acme-faces", "name": "acme-faces"}
    assert d["step"] == "hour" and len(d["series"]) == 24
    t = d["totals"]
    assert (t["answers"], t["delivered"], t["sla_met"]) == (3, 2, 1)
    assert t["sla_attainment"] == 0.5
    assert (t["reviews"], t["reviews_accepted"], t["acceptance_rate"]) == (3, 2, pytest.approx(2 / 3))
    assert t["aht_seconds"] is not None and t["aht_seconds"] >= 0
    assert sum(b["answers"] for b in d["series"]) == 3 and sum(b["delivered"] for b in d["series"]) == 2
    b = d["backlog"]
    assert b["items"] == 1 and b["overdue"] == 0  # face-3 waits
    assert [x["items"] for x in b["age_bands"]] == [1, 0, 0, 0, 0]
    assert b["oldest_seconds"] is not None and b["p50_seconds"] == pytest.approx(b["oldest_seconds"], abs=1)


def test_worker_and_team_and_client_scopes(busy: Center) -> None:
    ann1 = busy.get("ann1", "/api/v1/dashboards").json()  # a worker's own, without asking
    assert ann1["scope"]["kind"] == "worker" and ann1["scope"]["key"] == "ann1"
    assert (ann1["totals"]["answers"], ann1["totals"]["delivered"]) == (2, 1)
    assert (ann1["totals"]["reviews"], ann1["totals"]["reviews_accepted"]) == (2, 1)
    team = busy.get("lead", "/api/v1/dashboards").json()  # a lead's own team
    assert team["scope"]["kind"] == "team" and team["scope"]["key"] == "red"
    assert team["totals"]["answers"] == 2  # ann1's two; rev1 gave reviews, not answers
    client = busy.get("acme-ops", "/api/v1/dashboards").json()
    assert client["scope"]["kind"] == "client" and client["scope"]["key"] == "acme"
    assert client["totals"]["delivered"] == 2 and client["backlog"]["items"] == 1 + 3 + 3  # faces, text, mod
    center = busy.get("manager", "/api/v1/dashboards").json()
    assert center["scope"]["kind"] == "center" and center["totals"]["delivered"] == 3
    week = busy.get("manager", "/api/v1/dashboards?hours=168").json()
    assert week["step"] == "day" and len(week["series"]) == 7 and week["totals"]["delivered"] == 3


@pytest.mark.parametrize(("who", "query", "status"), [
    ("ann1", "scope=worker&key=ann2", 403),  # a worker sees only themself
    ("ann1", "scope=project&key=acme-faces", 403),
    ("ann1", "scope=center", 403),
    ("ann1", "scope=team&key=red", 403),
    ("acme-ops", "scope=worker&key=ann1", 403),  # clients never see per-worker numbers
    ("acme-ops", "scope=team&key=red", 403),
    ("acme-ops", "scope=center", 403),
    ("acme-ops", "scope=client&key=globex", 404),  # nor another tenant
    ("acme-ops", "scope=project&key=globex-tickets", 404),
    ("globex-ops", "scope=project&key=acme-faces", 404),
    ("lead", "scope=worker&key=ann2", 404),  # not in the lead's team
    ("lead", "scope=client&key=acme", 403),
    ("lead", "scope=center", 403),
    ("manager", "scope=client&key=nosuch", 404),
    ("manager", "scope=galaxy", 422),
    ("manager", "hours=0", 422),
    ("manager", "hours=745", 422),
    ("manager", "hours=abc", 422),
    ("manager", "scope=project", 422),
])
def test_who_may_see_which_dashboard(busy: Center, who: str, query: str, status: int) -> None:
    body = busy.problem(busy.get(who, f"/api/v1/dashboards?{query}"), status)
    if status == 422:
        assert body.get("field") in ("scope", "hours", "key")
    assert busy.get(who, f"/api/v1/dashboards/throughput.csv?{query}").status_code == status
    assert busy.get(who, f"/dashboards?{query}").status_code == status


def test_allowed_dashboards(busy: Center) -> None:
    for who, query in (("lead", "scope=worker&key=ann1"), ("lead", "scope=project&key=acme-faces"),
                       ("acme-ops", "scope=project&key=acme-text"), ("admin", "scope=team&key=red"),
                       ("manager", "scope=worker&key=ann3"), ("globex-ops", "scope=client&key=globex")):
        assert busy.get(who, f"/api/v1/dashboards?{query}").status_code == 200, (who, query)
    assert busy.client.get("/api/v1/dashboards").status_code == 401
    assert busy.client.get("/dashboards", follow_redirects=False).status_code == 303


def test_csv_behind_each_chart(busy: Center) -> None:
    q = "scope=project&key=acme-faces&hours=24"
    rows = list(csv.DictReader(io.StringIO(busy.get("manager", f"/api/v1/dashboards/throughput.csv?{q}").text)))
    assert len(rows) == 24 and sum(int(r["answers"]) for r in rows) == 3
    assert sum(int(r["delivered"]) for r in rows) == 2
    sla = list(csv.DictReader(io.StringIO(busy.get("manager", f"/api/v1/dashboards/sla.csv?{q}").text)))
    assert sum(int(r["sla_met"]) for r in sla) == 1
    backlog = busy.get("manager", f"/api/v1/dashboards/backlog.csv?{q}")
    assert backlog.headers["content-type"].startswith("text/csv")
    assert backlog.text.splitlines() == ["age_band,items", "0-1h,1", "1-4h,0", "4-24h,0", "24-72h,0", ">72h,0"]
    aht = list(csv.DictReader(io.StringIO(busy.get("manager", f"/api/v1/dashboards/aht.csv?{q}").text)))
    assert [r for r in aht if r["aht_seconds"]] and all(set(r) == {"start", "answers", "aht_seconds"} for r in aht)
    busy.problem(busy.get("manager", f"/api/v1/dashboards/nosuch.csv?{q}"), 422, field="chart")


def _svgs(html: str) -> list[ET.Element]:
    out = []
    start = 0
    while (i := html.find("<svg", start)) >= 0:
        j = html.index("</svg>", i) + len("</svg>")
        out.append(ET.fromstring(html[i:j]))
        start = j
    return out


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_page_draws_four_charts_with_the_data(busy: Center, lang: str) -> None:
    busy.client.cookies.set("seatflow_lang", lang)
    with busy.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "manager").values(locale=lang))
    page = busy.get("manager", "/dashboards?scope=project&key=acme-faces&hours=24")
    assert page.status_code == 200
    svgs = _svgs(page.text)
    assert len(svgs) == 4
    throughput = svgs[0]
    points = [(c.get("data-series"), float(c.get("data-y", 0))) for c in throughput.iter(f"{SVG}circle")]
    assert len(points) == 48 and sum(y for _s, y in points) == 5  # 3 answers + 2 delivered
    backlog = [float(r.get("data-y", 0)) for r in svgs[3].iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert backlog == [1, 0, 0, 0, 0]
    assert page.text.count("/api/v1/dashboards/") == 4  # a CSV link under each chart
    title = "Dashboards" if lang == "en" else "看板"
    assert f"<h1>{title}</h1>" in page.text


def test_daily_report_numbers_pdf_and_page(busy: Center) -> None:
    today = utcnow().date().isoformat()
    data = busy.get("acme-ops", f"/api/v1/reports/daily/acme?date={today}").json()
    assert data["totals"]["delivered"] == 2 and data["totals"]["sla_attainment"] == 0.5
    faces = next(p for p in data["projects"] if p["project"] == "acme-faces")
    assert faces["acceptance_rate"] == pytest.approx(2 / 3) and faces["backlog"] == 1
    assert [p["project"] for p in data["projects"]] == ["acme-faces", "acme-mod", "acme-text"]
    yesterday = (utcnow().date() - timedelta(days=1)).isoformat()
    assert busy.get("manager", f"/api/v1/reports/daily/acme?date={yesterday}").json()["totals"]["delivered"] == 0
    resp = busy.get("manager", f"/api/v1/reports/daily/acme?date={today}&format=pdf")
    assert resp.headers["content-type"] == "application/pdf"
    text = pdf.check(resp.content)
    assert f"Daily report · Acme · {today}" in text and "Delivered 2 items; 50.0% within the deadline." in text
    page = busy.get("manager", f"/reports/daily?client=acme&date={today}")
    assert page.status_code == 200 and 'id="report"' in page.text and 'data-project="acme-faces"' in page.text
    # access and bad input
    busy.problem(busy.get("acme-ops", "/api/v1/reports/daily/globex"), 404)
    busy.problem(busy.get("ann1", "/api/v1/reports/daily/acme"), 403)
    busy.problem(busy.get("lead", "/api/v1/reports/daily/acme"), 403)
    busy.problem(busy.get("manager", "/api/v1/reports/daily/acme?date=2026-02-30"), 422, field="date")
    busy.problem(busy.get("manager", "/api/v1/reports/daily/nosuch"), 404, field="client")
    assert busy.get("ann1", "/reports/daily").status_code == 403
    assert busy.get("acme-ops", "/reports/daily?client=globex").status_code == 404
    assert busy.get("manager", "/reports/daily?date=yesterday").status_code == 422


# --- email through a real SMTP server on loopback ---------------------------------------------------


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to take one message: EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        box: list[dict[str, Any]] = self.server.box  # type: ignore[attr-defined]
        self._say("220 loopback ESMTP")
        envelope: dict[str, Any] = {"rcpt": []}
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._say("250-loopback")
                self._say("250 8BITMIME")
            elif verb == "HELO":
                self._say("250 loopback")
            elif verb == "MAIL":
                envelope["from"] = cmd.split(":", 1)[1].strip()
                self._say("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(cmd.split(":", 1)[1].strip())
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with .")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                envelope["data"] = bytes(data)
                box.append(envelope)
                envelope = {"rcpt": []}
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 OK")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    server.box = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.box  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_report_is_emailed_with_the_pdf(busy: Center, smtp_server: tuple[int, list[dict[str, Any]]]) -> None:
    port, box = smtp_server
    settings = busy.app.state.settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                                          "smtp_from": "reports@center.example"})
    with busy.db.read() as conn:
        report = daily.daily_report(conn, None, "acme")
    daily.send_report(settings, report, "ops@acme.example", "zh_CN")
    assert len(box) == 1
    assert box[0]["from"] == "<reports@center.example>" and box[0]["rcpt"] == ["<ops@acme.example>"]
    msg: Message = email.message_from_bytes(box[0]["data"])
    assert msg["To"] == "ops@acme.example"
    parts = list(msg.walk())
    body = next(p for p in parts if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "交付 2 条" in body
    attachment = next(p for p in parts if p.get_content_type() == "application/pdf")
    assert attachment.get_filename() == f"daily-acme-{report.day.isoformat()}.pdf"
    assert "日报" in pdf.check(attachment.get_payload(decode=True))


def test_email_needs_a_server_and_one_address(busy: Center) -> None:
    with busy.db.read() as conn:
        report = daily.daily_report(conn, None, "acme")
    settings = busy.app.state.settings
    with pytest.raises(ValidationFailed) as no_server:
        daily.send_report(settings.model_copy(update={"smtp_host": ""}), report, "ops@acme.example", "en")
    assert no_server.value.field == "smtp_host"
    for bad in ("nobody", "a@b.example, c@d.example", "a@b.example\r\nBcc: x@y.example"):
        with pytest.raises(ValidationFailed) as err:
            daily.send_report(settings.model_copy(update={"smtp_host": "127.0.0.1"}), report, bad, "en")
        assert err.value.field == "email"


def test_cli_daily_report_emails(busy: Center, smtp_server: tuple[int, list[dict[str, Any]]], tmp_path: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from seatflow.cli import app as cli

    port, box = smtp_server
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", busy.app.state.settings.resolved_database_url())
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("SEATFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SEATFLOW_SMTP_PORT", str(port))
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "daily", "--client", "acme", "--email", "ops@acme.example",
                                 "--pdf", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    assert "acme-faces" in result.output and len(box) == 1
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    bad = runner.invoke(cli, ["report", "daily", "--client", "acme", "--date", "2026-13-01"])
    assert bad.exit_code == 1 and "date" in bad.output


def test_the_picker_offers_what_each_person_may_see(busy: Center) -> None:
    def options(who: str, query: str = "") -> list[str]:
        page = busy.get(who, f"/dashboards{query}")
        assert page.status_code == 200, page.text
        return [v for v in re.findall(r'<option value="([^"]*)"', page.text) if ":" in v]

    assert options("acme-ops") == ["client:acme", "project:acme-faces", "project:acme-mod", "project:acme-text"]
    assert "selected" in busy.get("acme-ops", "/dashboards").text.split('value="client:acme"')[1][:12]
    assert options("ann1") == ["worker:ann1"]
    lead = options("lead")
    assert lead[0] == "team:red" and "worker:ann1" in lead and "worker:ann2" not in lead
    assert "worker:rev1" in lead and "worker:ann3" not in lead and "center:" not in lead
    manager = options("manager")
    assert {"center:", "client:acme", "client:globex", "team:red", "worker:ann2"} <= set(manager)
    # the picker's single field works like scope + key
    page = busy.get("acme-ops", "/dashboards?view=project:acme-text")
    assert page.status_code == 200 and 'value="project:acme-text" selected' in page.text
    assert busy.get("acme-ops", "/dashboards?view=project:globex-tickets").status_code == 404


def test_gold_accuracy_and_gold_left_out_of_the_backlog(center: Center) -> None:
    from seatflow.commands._common import CLI_ACTOR
    from seatflow.services import imports, quality
    from seatflow.services._tx import transact
    from seatflow.services.imports import Record

    quality.project_cache.clear()
    gold = [{"external_id": f"gold-{k}", "payload": {"image": f"faces/g{k}.jpg", "width": 640, "height": 480,
                                                     "gold": FACE}} for k in (1, 2)]
    report = imports.import_records(center.db, None, "acme-faces",
                                    [Record("gold.jsonl", n, r) for n, r in enumerate(gold, 1)], source="gold.jsonl")
    assert report.error is None
    before = center.get("manager", "/api/v1/dashboards?scope=project&key=acme-faces").json()
    assert before["backlog"]["items"] == 3  # the three ordinary items; gold items never wait in the backlog
    transact(center.db, lambda c: quality.set_settings(c, CLI_ACTOR, "acme-faces", {"gold_rate": 1.0}))
    wrong = {"boxes": [{"label": "face", "x": 400, "y": 300, "w": 30, "h": 30}]}
    for worker, answer in (("ann1", FACE), ("ann2", wrong)):
        lease = center.lease(worker, "acme-faces")
        assert center.submit(worker, lease["lease_id"], answer).status_code == 200
    quality.project_cache.clear()
    d = center.get("manager", "/api/v1/dashboards?scope=project&key=acme-faces").json()
    assert (d["totals"]["gold_answers"], d["totals"]["gold_passed"], d["totals"]["gold_accuracy"]) == (2, 1, 0.5)
    assert d["totals"]["delivered"] == 0 and d["backlog"]["items"] == 3
    ann1 = center.get("ann1", "/api/v1/dashboards").json()
    assert (ann1["totals"]["gold_answers"], ann1["totals"]["gold_accuracy"]) == (1, 1.0)


@pytest.mark.parametrize("n", [20, 21])
def test_backlog_age_percentiles_bands_and_overdue_at_exact_ranks(center: Center, n: int) -> None:
    """acme-text's backlog of ``n`` items that arrived 1, 2, ... n hours ago (minus a minute): the
    median age is the item at rank n // 2 from the oldest, the p90 age the one at rank
    n - 1 - 9n // 10, the same on both databases (PostgreSQL computes them with percentile_disc,
    SQLite probes the ranks); age bands and the overdue count come from the same pass."""
    more = [Record("more", k, {"external_id": f"more-{k}", "payload": {"text": f"item {k}"}}) for k in range(4, n + 1)]
    assert import_records(center.db, None, "acme-text", more, source="more").error is None
    now = utcnow()
    with center.db.write() as conn:
        ids = list(conn.execute(tables.items.select().with_only_columns(tables.items.c.id)
                                .where(tables.items.c.project_id == center.seed.projects["acme-text"])
                                .order_by(tables.items.c.id)).scalars())
        assert len(ids) == n
        for hours, item_id in enumerate(ids, start=1):  # item k arrived k hours ago; the first 3 are overdue
            conn.execute(update(tables.items).where(tables.items.c.id == item_id).values(
                created_at=now - timedelta(hours=hours, minutes=-1),
                deadline=now - timedelta(minutes=5) if hours <= 3 else now + timedelta(days=1)))
    b = center.get("manager", "/api/v1/dashboards?scope=project&key=acme-text&hours=24").json()["backlog"]
    ages = sorted((timedelta(hours=h, minutes=-1).total_seconds() for h in range(1, n + 1)), reverse=True)
    assert b["items"] == n and b["overdue"] == 3
    assert b["oldest_seconds"] == pytest.approx(ages[0], abs=30)
    assert b["p50_seconds"] == pytest.approx(ages[n // 2], abs=30)
    assert b["p90_seconds"] == pytest.approx(ages[n - 1 - (9 * n) // 10], abs=30)
    # bands: < 1 h, 1-4 h, 4-24 h, 24-72 h, older (arrivals k h - 1 min ago, k = 1..n)
    assert [x["items"] for x in b["age_bands"]] == [1, 3, min(n, 24) - 4, max(0, n - 24), 0]
