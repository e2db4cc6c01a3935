"""`seatflow demo --no-serve`: the demo center is built through the services, once, in SEATFLOW_HOME."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from seatflow.cli import app
from seatflow.config import Settings
from seatflow.domain.workflow import parse_workflow
from seatflow.services import accounts
from seatflow.store import tables
from seatflow.store.engine import Database, make_engine
from seatflow.worktypes import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
_CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def home(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


@pytest.fixture
def db(db_url: str) -> Any:
    database = Database(make_engine(db_url))
    yield database
    database.dispose()


def demo(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, ["demo", "--no-serve", *args])
    assert result.exit_code == code, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{result.exception!r}"
    return result


def printed_logins(output: str) -> dict[str, tuple[str, str]]:
    """username -> (role, password) from the logins table."""
    logins = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line) if c.strip()]
        if len(cells) == 4 and cells[1] in ("admin", "manager", "lead", "worker", "client"):
            logins[cells[0]] = (cells[1], cells[3])
    return logins


def counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (tables.clients, tables.teams, tables.users, tables.projects, tables.items, tables.tasks,
                          tables.batches, tables.qualifications)}


def test_demo_builds_a_center_with_every_work_type_and_role(home: Path, db: Database) -> None:
    result = demo("--items", "40")
    assert "built a new demo center" in result.stdout
    with db.read() as conn:
        projects = list(conn.execute(select(tables.projects)))
        users = list(conn.execute(select(tables.users)))
        items = list(conn.execute(select(tables.items)))
        clients = list(conn.execute(select(tables.clients)))
        skills = list(conn.execute(select(tables.qualifications)))
    assert len(clients) == 2
    assert sorted(p.work_type for p in projects) == sorted(REGISTRY)
    by_type = {p.work_type: p for p in projects}
    faces = by_type["image_annotation"]
    stages = parse_workflow(faces.workflow).stages
    assert [(s.kind.value, s.overlap) for s in stages][0] == ("annotate", 1)
    assert stages[1].kind.value == "review" and stages[1].sample_rate == pytest.approx(0.3)
    assert by_type["moderation"].sla_minutes and by_type["service_ticket"].sla_minutes
    assert len({p.client_id for p in projects}) == 2

    roles = {u.role for u in users}
    assert roles == {"admin", "manager", "lead", "worker", "client"}
    workers = [u for u in users if u.role == "worker"]
    assert len(workers) >= 8
    qualified = {(s.user_id, s.skill) for s in skills}
    assert all((w.id, "annotate") in qualified for w in workers)
    assert any(skill == "review" for _uid, skill in qualified)
    assert all(u.client_id is not None for u in users if u.role == "client")

    gold = [i for i in items if i.gold]
    items = [i for i in items if not i.gold]
    assert len(items) == 40
    # gold reviews with their known answer, ids like the others', their entity spans on the right words
    assert len(gold) == 12 and {g.project_id for g in gold} == {by_type["text_annotation"].id}
    assert all(re.fullmatch(r"review-\d{4}", g.external_id) for g in gold)
    for g in gold:
        known = g.payload["gold"]
        assert known["classes"][0] in ("positive", "neutral", "negative")
        assert known["spans"], g.payload["text"]
        for span in known["spans"]:
            word = g.payload["text"][span["start"]:span["end"]]
            assert word and word.strip() == word and span["label"] in ("PER", "LOC", "PRODUCT")
    per_project = {p.id: [i for i in items if i.project_id == p.id] for p in projects}
    assert all(per_project.values()), "every project has items"
    logins = printed_logins(result.stdout)
    assert {u.username for u in users} == set(logins)
    with db.read() as conn:
        for username, (role, password) in logins.items():
            assert accounts.authenticate(conn, username, password).role.value == role

    # generated content: real images of the stated size, Chinese and English texts, tickets with orders
    media = home / "media"
    formats = set()
    for item in per_project[faces.id]:
        with Image.open(media / item.payload["image"]) as im:
            assert im.size == (item.payload["width"], item.payload["height"])
            formats.add(im.format)
    assert formats == {"JPEG", "PNG"}
    texts = [i.payload["text"] for i in per_project[by_type["text_annotation"].id]]
    assert any(_CJK.search(t) for t in texts) and any(not _CJK.search(t) for t in texts)
    moderation = [i.payload for i in per_project[by_type["moderation"].id]]
    assert {p["kind"] for p in moderation} == {"image", "text"}
    assert all((media / p["media"]).is_file() for p in moderation if p["kind"] == "image")
    for ticket in per_project[by_type["service_ticket"].id]:
        assert ticket.payload["order"]["order_id"] and _CJK.search(ticket.payload["customer"]["name"])

    # the demo is served by the same app: a client user sees only its own client's projects
    status = runner.invoke(app, ["get", "/api/v1/status", "--as", "xunda"])
    assert status.exit_code == 0, status.stderr
    assert [p["work_type"] for p in json.loads(status.stdout)["projects"]] == ["service_ticket"]


def test_a_second_run_reuses_the_demo(home: Path, db: Database) -> None:
    first = demo("--items", "40")
    before = counts(db)
    second = demo("--items", "40")
    assert "reusing the existing demo center" in second.stdout
    assert counts(db) == before
    assert printed_logins(second.stdout) == printed_logins(first.stdout)
    assert (home / "demo-logins.json").stat().st_mode & 0o077 == 0, "the passwords file is private"


def test_reset_recreates_the_demo_but_never_wipes_other_data(home: Path, db: Database) -> None:
    first = demo("--items", "8")
    reset = demo("--items", "8", "--reset")
    assert "deleting the demo center" in reset.stdout
    assert counts(db)["items"] == 8 + 12 and counts(db)["users"] == len(printed_logins(first.stdout))
    assert printed_logins(reset.stdout)["admin"] != printed_logins(first.stdout)["admin"], "new passwords"
    with db.write() as conn:
        accounts.create_client(conn, None, slug="real-customer", name="Real customer")
    refused = demo("--reset", code=1)
    assert "real-customer" in refused.stderr and "Traceback" not in refused.stderr
    assert counts(db)["clients"] == 3, "nothing was deleted"


def test_the_default_home_is_outside_the_source_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEATFLOW_HOME", raising=False)
    home = Settings().resolved_home().resolve()
    assert ROOT not in home.parents and home != ROOT
