"""The `seatflow` command line, driven through Typer's CliRunner against the test's own database.

Each test points SEATFLOW_HOME at tmp_path and SEATFLOW_DATABASE_URL at its database (SQLite or
PostgreSQL, see tests/conftest.py), so the commands run exactly as a shell would run them. User
errors must end with one line on stderr and exit code 1 (2 for usage), never with a traceback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from seatflow.cli import app
from seatflow.domain.actors import Role
from seatflow.services import accounts, answers, dispatch
from seatflow.services._tx import transact
from seatflow.store import catalog, tables
from seatflow.store.engine import Database, make_engine

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


class Cli:
    """Runs `seatflow ...` in-process; checks the exit code and that no traceback escaped."""

    def __init__(self, home: Path, db_url: str) -> None:
        self.home = home
        self.db_url = db_url

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input)
        detail = f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        assert result.exit_code == code, detail
        if code != 0:  # a user error: a message, not a crash
            assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
            assert "Traceback" not in result.stderr
        return result

    def db(self) -> Database:
        return Database(make_engine(self.db_url))

    def count(self, table: Any, **where: Any) -> int:
        db = self.db()
        try:
            with db.read() as conn:
                q = select(func.count()).select_from(table)
                for name, value in where.items():
                    q = q.where(table.c[name] == value)
                return int(conn.execute(q).scalar_one())
        finally:
            db.dispose()


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(home))
    monkeypatch.setenv("SEATFLOW_LANG", "en")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: wide enough that no cell is cut


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    _isolate(monkeypatch, tmp_path / "home")
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    return Cli(tmp_path / "home", db_url)


@pytest.fixture
def center(cli: Cli, tmp_path: Path) -> Cli:
    """A client `acme`, a text project `reviews` (annotate once) and a worker `w1` qualified for it."""
    cli("client", "add", "acme", "--name", "ACME Data")
    spec = tmp_path / "reviews.yaml"
    spec.write_text("slug: reviews\nname: Product reviews\nclient: acme\nwork_type: text_annotation\n"
                    "workflow: annotate(overlap=1)\n", encoding="utf-8")
    cli("project", "create", "--file", str(spec))
    cli("user", "add", "w1", "--password", "worker-pass-1")
    cli("grant", "w1", "reviews", "--skill", "annotate")
    return cli


def external_ids(cli: Cli, project: str) -> list[str]:
    db = cli.db()
    try:
        with db.read() as conn:
            pid = catalog.project_by_slug(conn, project).id
            q = select(tables.items.c.external_id).where(tables.items.c.project_id == pid)
            return sorted(conn.execute(q).scalars())
    finally:
        db.dispose()


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- init, users, clients ------------------------------------------------------------------------
def test_init_migrates_and_creates_an_admin_whose_printed_password_works(cli: Cli) -> None:
    first = cli("init")
    match = re.search(r"admin:\s+admin\s+password: (\S+)", first.stdout)
    assert match, first.stdout
    db = cli.db()
    try:
        with db.read() as conn:
            actor = accounts.authenticate(conn, "admin", match.group(1))
    finally:
        db.dispose()
    assert actor.role is Role.ADMIN
    assert (cli.home / "secret.key").exists()
    again = cli("init")  # a second run keeps the admin and its password
    assert "exists already" in again.stdout and "password:" not in again.stdout
    assert cli.count(tables.users) == 1


def test_init_on_a_fresh_home_creates_the_sqlite_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "fresh"
    _isolate(monkeypatch, home)
    shell = Cli(home, f"sqlite:///{home / 'seatflow.db'}")
    missing = shell("status", code=1)
    assert "seatflow init" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    assert not (home / "seatflow.db").exists(), "a failing command must not leave a database behind"
    before = shell("db", "current", code=1)  # it made an empty database file, and status then said "no schema"
    assert "current:  (no database yet: run `seatflow init`)" in before.stdout
    assert not home.exists(), "looking at the schema must not create SEATFLOW_HOME or the database"
    shell("init")
    assert (home / "seatflow.db").is_file() and (home / "media").is_dir()
    current = shell("db", "current")
    assert re.search(r"current:\s+(\S+)", current.stdout).group(1) == re.search(  # type: ignore[union-attr]
        r"newest:\s+(\S+)", current.stdout).group(1)  # type: ignore[union-attr]
    assert "already at" in shell("db", "upgrade").stdout


def test_user_add_with_an_unknown_role_fails_clearly_and_writes_nothing(cli: Cli) -> None:
    before = cli.count(tables.users)
    result = cli("user", "add", "bob", "--role", "boss", "--password", "long-enough-1", code=2)
    assert "'boss'" in result.stderr and "worker" in result.stderr and "--role" in result.stderr
    assert cli.count(tables.users) == before


def test_user_add_errors_from_the_service_are_one_line(cli: Cli) -> None:
    result = cli("user", "add", "carol", "--role", "client", "--generate", code=1)
    assert result.stderr.strip().splitlines() == ["error: a client user needs --client (the client's slug)"]
    result = cli("user", "add", "dave", "--password", "short", code=1)
    assert "at least 8 characters" in result.stderr
    assert cli.count(tables.users) == 0


def test_user_add_generates_or_asks_for_a_password(cli: Cli) -> None:
    generated = cli("user", "add", "erin", "--role", "lead", "--generate", "--locale", "en")
    password = re.search(r"password: (\S+)", generated.stdout).group(1)  # type: ignore[union-attr]
    cli("user", "add", "frank", input="typed-pass-1\ntyped-pass-1\n")
    db = cli.db()
    try:
        with db.read() as conn:
            assert accounts.authenticate(conn, "erin", password).role is Role.LEAD
            assert accounts.authenticate(conn, "frank", "typed-pass-1").role is Role.WORKER
            assert catalog.user_by_username(conn, "erin").locale == "en"
    finally:
        db.dispose()
    again = cli("user", "add", "erin", "--generate", code=1)
    assert "exists already" in again.stderr
    # no terminal to ask on (a script, stdin closed): it said only "Aborted."
    silent = cli("user", "add", "gina", input="", code=1)
    assert silent.stderr.strip().splitlines()[-1] == ("error: no password was typed for gina; give --password P, "
                                                      "--generate or --no-password")
    assert cli.count(tables.users, username="gina") == 0


def test_client_add_twice_is_a_conflict(cli: Cli) -> None:
    assert "added client acme" in cli("client", "add", "acme", "--name", "ACME").stdout
    second = cli("client", "add", "acme", "--name", "ACME again", code=1)
    assert second.stderr.strip() == "error: a client with slug 'acme' exists already"
    assert cli.count(tables.clients) == 1


def test_client_add_checks_the_webhook_url_and_prints_its_signing_secret(cli: Cli) -> None:
    bad = cli("client", "add", "acme", "--name", "ACME", "--webhook-url", "ftp://hooks.example.com/x", code=1)
    assert bad.stderr.strip() == ("error: webhook_url: url 'ftp://hooks.example.com/x' must be an absolute "
                                  "http:// or https:// URL")
    assert cli.count(tables.clients) == 0
    added = cli("client", "add", "acme", "--name", "ACME", "--webhook-url", "https://hooks.example.com/seatflow")
    secret = added.stdout.split("webhook signing secret: ")[1].split()[0]
    assert "shown only once" in added.stderr
    db = cli.db()
    try:
        with db.read() as conn:
            row = catalog.client_by_slug(conn, "acme")
    finally:
        db.dispose()
    assert row.webhook_url == "https://hooks.example.com/seatflow" and row.webhook_secret == secret
    assert "secret" not in cli("client", "add", "plain", "--name", "No hooks").stdout


def test_team_grant_and_token(center: Cli) -> None:
    center("team", "add", "Team A")
    center("user", "add", "g1", "--team", "Team A", "--generate")
    out = center("grant", "g1", "reviews", "--skill", "annotate", "--skill", "review").stdout
    assert "g1 may now annotate in reviews" in out and "g1 may now review in reviews" in out
    assert "could already" in center("grant", "g1", "reviews", "--skill", "review").stdout
    assert "does not exist" in center("grant", "g1", "nope", code=1).stderr
    center("token", "create", "g1", "--name", "[ci] nightly")
    assert "[ci] nightly" in center("token", "list", "g1").stdout
    token = center("token", "create", "g1").stdout.strip()
    db = center.db()
    try:
        with db.read() as conn:
            assert accounts.actor_from_token(conn, token).username == "g1"
    finally:
        db.dispose()


# -- projects ------------------------------------------------------------------------------------
def test_project_create_names_the_file_and_the_bad_field(cli: Cli, tmp_path: Path) -> None:
    cli("client", "add", "acme", "--name", "ACME")
    spec = tmp_path / "project.yaml"
    spec.write_text("slug: faces\nname: Faces\nclient: acme\nwork_type: image_annotation\nsla_minutes: -5\n")
    bad = cli("project", "create", "--file", str(spec), code=1)
    assert f"{spec}: sla_minutes must be a positive whole number" in bad.stderr
    spec.write_text("slug: faces\nname: Faces\nclient: acme\nwork_type: image_annotation\ncolour: red\n")
    assert "field 'colour'" in cli("project", "create", "--file", str(spec), code=1).stderr
    # a message that starts with its field is not told the field a second time
    spec.write_text("slug: faces\nname: Faces\nclient: acme\nwork_type: text_annotation\n"
                    "label_schema: {classes: [pos, pos]}\n")
    twice = cli("project", "create", "--file", str(spec), code=1).stderr
    assert f"{spec}: label_schema.classes[1]: the class 'pos' appears twice" in twice
    assert twice.count("label_schema.classes[1]") == 1, twice
    spec.write_text("slug: faces\nname: Faces: of people\nclient: acme\n")
    assert f"{spec}:2: not valid YAML" in cli("project", "create", "--file", str(spec), code=1).stderr
    assert cli.count(tables.projects) == 0
    as_json = tmp_path / "project.json"
    as_json.write_text(json.dumps({"slug": "faces", "name": "Faces", "client": "acme",
                                   "work_type": "image_annotation"}))
    assert "created project faces" in cli("project", "create", "--file", str(as_json)).stdout
    assert cli.count(tables.projects) == 1


# -- import --------------------------------------------------------------------------------------
def test_import_stops_at_a_malformed_line_and_keeps_what_came_before(center: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [
        '{"external_id": "r1", "text": "Great parcel service"}',
        '{"external_id": "r2", "payload": {"text": "快递很快，好评"}}',
        '{"external_id": "r3", "text": ',
        '{"external_id": "r4", "text": "never read"}',
    ])
    result = center("import", "reviews", str(path), code=1)
    assert "read 2, imported 2" in result.stdout
    error = result.stderr.strip().splitlines()[-1]
    assert f"{path}:3: not valid JSON" in error and "2 item(s) before it were imported" in error
    assert external_ids(center, "reviews") == ["r1", "r2"]
    path.write_text(path.read_text().replace('"text": \n', '"text": "fixed"}\n'))  # fix it, run again
    again = center("import", "reviews", str(path))
    assert "imported 2, skipped 2" in again.stdout
    assert external_ids(center, "reviews") == ["r1", "r2", "r3", "r4"]
    # a third run finds everything there: it says so and leaves no empty batch behind
    batches = center.count(tables.batches)
    third = center("import", "reviews", str(path))
    assert f"{path}: read 4, all 4 already there: nothing imported, no batch made" in third.stdout
    assert center.count(tables.batches) == batches
    formatted = center("import", "reviews", str(path), "--format", "jsonl")
    assert "all 4 already there: nothing imported, no batch made" in formatted.stdout
    assert center.count(tables.batches) == batches


def test_import_of_a_file_that_is_not_utf8_names_its_line(center: Cli, tmp_path: Path) -> None:
    # A CSV saved by a spreadsheet as GBK: a traceback (UnicodeDecodeError) before, with and without --format.
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("external_id,text\ng1,fine\ng2,快递很快\n".encode("gbk"))
    error = center("import", "reviews", str(gbk), code=1).stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {gbk}:3: not UTF-8 text (byte 4 of the line is 0xbf); save the file as UTF-8")
    assert "1 item(s) before it were imported" in error
    assert external_ids(center, "reviews") == ["g1"]
    checked = center("import", "reviews", str(gbk), "--format", "csv", code=1).stderr.strip().splitlines()[-1]
    assert "gbk.csv:3: not UTF-8 text" in checked and checked.endswith("nothing was imported")
    jsonl = tmp_path / "latin.jsonl"
    jsonl.write_bytes('{"external_id": "l1", "text": "café"}\n'.encode("latin-1"))
    assert "latin.jsonl:1: not UTF-8 text" in center("import", "reviews", str(jsonl), code=1).stderr
    assert "latin.jsonl:1: not UTF-8 text" in center("import", "reviews", str(jsonl), "--format", "jsonl",
                                                     code=1).stderr
    # a UTF-8 file with a BOM and CRLF line ends (what spreadsheets write) imports; a cut line names its end
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffexternal_id,text\r\nb1,好评\r\n".encode())
    assert "imported 1" in center("import", "reviews", str(bom)).stdout
    cut = write_jsonl(tmp_path / "cut.jsonl", ['{"external_id": "c1", "text": "x"'])
    assert "cut.jsonl:1: not valid JSON (Expecting ',' delimiter at column 34)" in center(
        "import", "reviews", str(cut), code=1).stderr


def test_import_names_the_field_of_a_bad_record(center: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", ['{"external_id": "a", "text": "ok"}',
                                                  '{"external_id": "b", "txt": "typo"}'])
    error = center("import", "reviews", str(path), code=1).stderr
    assert f"{path}:2:" in error and "payload" in error and "1 item(s) before it" in error
    assert external_ids(center, "reviews") == ["a"]
    assert "no such file" in center("import", "reviews", str(tmp_path / "missing.jsonl"), code=1).stderr


def test_import_csv(center: Cli, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("external_id,text,priority\nc1,First review,5\nc2,第二条评论,0\nc3,Third,1\n", encoding="utf-8")
    result = center("import", "reviews", str(path), "--batch-size", "2")
    assert "read 3, imported 3, skipped 0" in result.stdout
    assert external_ids(center, "reviews") == ["c1", "c2", "c3"]
    db = center.db()
    try:
        with db.read() as conn:
            rows = conn.execute(select(tables.items.c.external_id, tables.items.c.payload, tables.items.c.priority)
                                .order_by(tables.items.c.external_id)).all()
    finally:
        db.dispose()
    assert [(r.payload["text"], r.priority) for r in rows] == [("First review", 5), ("第二条评论", 0), ("Third", 1)]


def test_import_a_folder_of_images(cli: Cli, tmp_path: Path) -> None:
    cli("client", "add", "acme", "--name", "ACME")
    spec = tmp_path / "faces.yaml"
    spec.write_text("slug: faces\nname: Faces\nclient: acme\nwork_type: image_annotation\n")
    cli("project", "create", "--file", str(spec))
    folder = tmp_path / "photos"
    (folder / "day2").mkdir(parents=True)
    sizes = {"a.jpg": (640, 480), "b.png": (320, 200), "day2/c.jpg": (1024, 768)}
    for name, size in sizes.items():
        Image.new("RGB", size, (200, 120, 90)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    result = cli("import", "faces", str(folder))
    assert "read 3, imported 3" in result.stdout
    assert external_ids(cli, "faces") == sorted(sizes)
    db = cli.db()
    try:
        with db.read() as conn:
            payloads = {r.external_id: r.payload for r in conn.execute(select(tables.items))}
    finally:
        db.dispose()
    for name, (w, h) in sizes.items():
        assert (payloads[name]["width"], payloads[name]["height"]) == (w, h)
        assert (cli.home / "media" / payloads[name]["image"]).is_file()


# -- export --------------------------------------------------------------------------------------
def _finish_all(cli: Cli, username: str) -> dict[str, Any]:
    """Work through every task of `username` with the services; returns external_id -> answer."""
    db = cli.db()
    done: dict[str, Any] = {}
    try:
        with db.read() as conn:
            worker = accounts.actor_of(catalog.user_by_username(conn, username))
        while True:
            try:
                leased = transact(db, lambda c: dispatch.next_task(c, worker))
            except Exception as exc:  # NoWork ends the loop
                assert type(exc).__name__ == "NoWork", exc
                return done
            with db.read() as conn:
                ext = conn.execute(select(tables.items.c.external_id)
                                   .where(tables.items.c.id == leased.item_id)).scalar_one()
            answer = {"classes": ["positive" if len(done) % 2 else "negative"], "spans": []}
            transact(db, lambda c, lid=leased.lease_id, a=answer: answers.submit(
                c, worker, lease_id=lid, answer=a, idempotency_key=f"k-{lid}"))
            done[ext] = answer
    finally:
        db.dispose()


def test_export_round_trip(center: Cli, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [
        json.dumps({"external_id": f"x{n}", "text": f"评论 {n}: parcel arrived"}, ensure_ascii=False)
        for n in range(1, 6)])
    center("import", "reviews", str(path))
    expected = _finish_all(center, "w1")
    assert len(expected) == 5
    out = tmp_path / "out" / "reviews.jsonl"
    out.parent.mkdir()
    result = center("export", "reviews", "--out", str(out))
    assert "exported 5 item(s) of reviews" in result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["external_id"]: r["answer"] for r in rows} == expected
    assert {r["external_id"]: r["payload"]["text"] for r in rows}["x3"] == "评论 3: parcel arrived"
    assert [p.name for p in out.parent.iterdir()] == ["reviews.jsonl"], "no partial file left behind"
    stdout = center("export", "reviews").stdout  # the default is stdout, with the same lines
    assert stdout == out.read_text(encoding="utf-8")
    # the export imports again: external ids and payloads come back unchanged
    spec = tmp_path / "copy.yaml"
    spec.write_text("slug: reviews-copy\nname: Copy\nclient: acme\nwork_type: text_annotation\n")
    center("project", "create", "--file", str(spec))
    assert "imported 5" in center("import", "reviews-copy", str(out)).stdout
    assert external_ids(center, "reviews-copy") == sorted(expected)
    assert "not found" in center("export", "nope", code=1).stderr
    # a batch that is not the project's is named, not an empty export that exits 0
    batch = json.loads(out.read_text(encoding="utf-8").splitlines()[0])["batch_id"]
    for args in (["reviews", "--batch", "999"], ["reviews-copy", "--batch", str(batch)],
                 ["reviews", "--batch", "999", "--format", "csv", "--out", str(tmp_path / "b.csv")]):
        missing = center("export", *args, code=1)
        message = f"error: batch {args[2]} not found in project {args[0]}"
        assert missing.stderr.strip() == message, missing.stderr
    assert not (tmp_path / "b.csv").exists()
    assert center("export", "reviews", "--batch", str(batch)).stdout == stdout
    # --out in a folder that is not there yet is made (as with --format); a folder as --out is named
    deep = tmp_path / "new" / "deeper" / "r.jsonl"
    center("export", "reviews", "--out", str(deep))
    assert deep.read_text(encoding="utf-8") == stdout
    folder = tmp_path / "new"
    for fmt, message in (([], f"error: --out {folder} is a folder; name a file, e.g. {folder / 'export.jsonl'}"),
                         (["--format", "csv"], f"error: {folder} is a folder; name a file in it, e.g. "
                                               f"{folder / 'reviews.csv'}")):
        into_folder = center("export", "reviews", "--out", str(folder), *fmt, code=1)
        assert into_folder.stderr.strip().splitlines()[-1] == message, into_folder.stderr
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["deeper"], "no .part file left behind"


# -- status, get, settings -----------------------------------------------------------------------
def test_status_table(center: Cli, tmp_path: Path) -> None:
    center("import", "reviews", str(write_jsonl(tmp_path / "i.jsonl", [
        '{"external_id": "s1", "text": "one"}', '{"external_id": "s2", "text": "two"}'])))
    table = center("status").stdout
    for header in ("project", "client", "work type", "items", "backlog", "in progress", "done", "at risk",
                   "overdue"):
        assert header in table
    row = next(line for line in table.splitlines() if "reviews" in line)
    cells = [c.strip() for c in re.split(r"[│┃|]", row) if c.strip()]
    assert cells == ["reviews", "acme", "text_annotation", "2", "2", "0", "0", "0", "0"]
    data = json.loads(center("status", "--json").stdout)
    assert data[0]["slug"] == "reviews" and data[0]["backlog"] == 2


@pytest.mark.parametrize("terminal", [False, True], ids=["pipe", "narrow-terminal"])
def test_status_never_cuts_a_figure_or_a_name(center: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               terminal: bool) -> None:
    """In 60 columns rich cut cells with an ellipsis ('10000…' for 1,000,000 items, 'proje…' for a slug);
    a pipe got 80 columns. Figures keep their width, names wrap, a pipe gets the whole table."""
    slug = "a-project-with-a-rather-long-slug-for-narrow-screens"
    spec = tmp_path / "long.yaml"
    spec.write_text(f"slug: {slug}\nname: Long\nclient: acme\nwork_type: text_annotation\n", encoding="utf-8")
    center("project", "create", "--file", str(spec))
    center("import", slug, str(write_jsonl(tmp_path / "many.jsonl", [
        f'{{"external_id": "m{n}", "text": "item {n}"}}' for n in range(1234)])))
    monkeypatch.setenv("COLUMNS", "80")
    if terminal:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats stdout as a terminal of COLUMNS width
    table = re.sub(r"\x1b\[[0-9;]*m", "", center("status").stdout)  # a terminal gets styles
    assert "…" not in table, table
    rows = [line for line in table.splitlines() if line.startswith("│")]
    first_column = "".join(line.split("│")[1].strip() for line in rows)
    assert slug in first_column, table
    assert any(re.search(r"│\s+1234 │\s+1234 │", line) for line in rows), table
    if terminal:
        assert max(len(line) for line in table.splitlines()) <= 80, table
    else:
        assert any(line.startswith(f"│ {slug} ") for line in rows), "a pipe gets whole cells: " + table


def test_get_runs_a_request_in_process(center: Cli) -> None:
    center("user", "add", "boss", "--role", "admin", "--generate")
    body = json.loads(center("get", "/api/v1/status", "--as", "boss").stdout)
    assert [p["slug"] for p in body["projects"]] == ["reviews"]
    me = json.loads(center("get", "/api/v1/me", "--as", "w1").stdout)
    assert me["username"] == "w1" and me["role"] == "worker"
    anonymous = center("get", "/api/v1/status", code=1)
    assert json.loads(anonymous.stdout)["status"] == 401
    assert anonymous.stderr.strip() == ("error: GET /api/v1/status answered 401; add --as USER to send it as a user, "
                                        "e.g. --as admin")
    forbidden = center("get", "/api/v1/status", "--as", "w1", code=1)
    assert forbidden.stderr.strip() == "error: GET /api/v1/status answered 403"
    assert "does not exist" in center("get", "/api/v1/status", "--as", "ghost", code=1).stderr
    assert "must start with /" in center("get", "api/v1/status", code=1).stderr


def test_settings_table_and_docs(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    # A table on a narrow terminal wraps long values (the home path's length varies with the test's name).
    monkeypatch.setenv("COLUMNS", "400")
    table = cli("settings").stdout
    assert "SEATFLOW_LEASE_SECONDS" in table and "600" in table and str(cli.home) in table
    assert "(needs the [s3] extra: boto3)" in table, "rich took '[s3]' for markup and dropped it"
    markdown = cli("settings", "--markdown").stdout
    assert "| `SEATFLOW_DATABASE_URL` |" in markdown
    docs = ROOT / "docs" / "settings.md"
    assert docs.read_text(encoding="utf-8") == markdown, \
        "docs/settings.md is out of date: run `seatflow settings --markdown > docs/settings.md`"


def test_a_bad_setting_is_named(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_LEASE_SECONDS", "soon")
    result = cli("status", code=2)
    assert result.stderr.startswith("error: configuration error: SEATFLOW_LEASE_SECONDS:")


def test_a_database_url_of_another_database_is_a_configuration_error(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", "mysql://app:hunter2@db/seatflow")
    result = cli("status", code=2)  # was a traceback from SQLAlchemy (NoSuchModuleError / ModuleNotFoundError)
    assert result.stderr.startswith("error: configuration error: SEATFLOW_DATABASE_URL:"), result.stderr
    assert "SQLite or PostgreSQL" in result.stderr and "hunter2" not in result.stderr
    assert result.stderr.strip() == (
        "error: configuration error: SEATFLOW_DATABASE_URL: 'mysql://app:***@db/seatflow': Seatflow runs on SQLite or "
        "PostgreSQL; write e.g. postgresql+psycopg://user@host/dbname, or empty for SQLite in SEATFLOW_HOME")


def test_serve_with_an_unknown_log_level_is_a_usage_error(cli: Cli) -> None:
    # it printed the banner, then died in uvicorn with KeyError: 'loud'
    result = cli("serve", "--log-level", "loud", "--port", str(_free_port()), code=2)
    assert "'loud' is not a log level; use debug, info, warning or error" in result.stderr
    assert "Seatflow" not in result.stdout


# -- serve, for real -----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEATFLOW_")}
    env.update(SEATFLOW_HOME=str(tmp_path / "served"), SEATFLOW_LANG="en")
    cmd = [sys.executable, "-c", "from seatflow.cli import main; main()", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_serve_answers_healthz_login_and_docs(server: tuple[str, subprocess.Popen[str]], tmp_path: Path) -> None:
    base, proc = server
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"seatflow serve exited early:\n{proc.stdout.read() if proc.stdout else ''}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "seatflow serve did not answer /healthz within 60 s"
        time.sleep(0.2)
    assert httpx.get(f"{base}/login").status_code == 200
    assert httpx.get(f"{base}/docs").status_code == 200
    assert (tmp_path / "served" / "seatflow.db").is_file(), "serve migrates the database in SEATFLOW_HOME"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    output = proc.stdout.read() if proc.stdout else ""
    assert f"{base}/login" in output and f"{base}/docs" in output


def test_every_command_is_in_the_readme() -> None:
    import typer.main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    group: Any = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        names += [f"seatflow {name} {sub}" for sub in subcommands] if subcommands else [f"seatflow {name}"]
    assert len(names) >= 15
    missing = [n for n in names if f"`{n}" not in readme]
    assert missing == [], "document these commands in the README's command table"
    assert readme.split("```sh\n", 1)[1].split("```", 1)[0].count("\n") == 2, "README opens with two commands"
    assert "bash scripts/demo" in readme.split("```")[1] and "bash scripts/test" in readme.split("```")[1]
