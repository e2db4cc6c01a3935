"""Errors of accounts, imports and formats reach a Chinese reader in Chinese: the API's problem+json
``detail`` under ``Accept-Language: zh-CN``, and the CLI under ``SEATFLOW_LANG=zh_CN``; English otherwise.

The Chinese texts are those of /work/notes/i18n/data.json, which the lead merges into the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from seatflow.cli import app
from seatflow.formats._common import Warnings
from seatflow.i18n.message import Msg, localize
from seatflow.services.export_jobs import ExportJob

from .conftest import PASSWORD, Center

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_a_conflict_of_accounts_is_said_in_chinese(center: Center) -> None:
    c, manager = center.client, center.as_("manager")
    body = {"slug": "acme", "name": "Acme again"}
    english = center.problem(c.post("/api/v1/clients", json=body, headers=manager), 409, field="slug")
    assert english["detail"] == "a client with slug 'acme' exists already"
    chinese = center.problem(c.post("/api/v1/clients", json=body, headers={**manager, **ZH}), 409, field="slug")
    assert chinese["detail"] == "slug 为 'acme' 的客户已存在"


def test_an_import_error_is_said_in_chinese_part_by_part(center: Center) -> None:
    """The item's error, the place in the request and the report around it are three messages, one in another."""
    c, manager = center.client, center.as_("manager")
    body = {"items": [{"payload": {"text": "no id"}}]}
    url = "/api/v1/projects/acme-text/items"
    english = center.problem(c.post(url, json=body, headers=manager), 422, field="external_id")
    assert english["detail"] == ("request:1: external_id is missing — 0 item(s) before it were imported; fix it and "
                                 "send again (items already there are skipped by external_id)")
    chinese = center.problem(c.post(url, json=body, headers={**manager, **ZH}), 422, field="external_id")
    assert chinese["detail"] == ("request:1：缺少 external_id —— 它之前的 0 个条目已导入；请修正后重新发送"
                                 "（已有条目会按 external_id 跳过）")


def test_an_upload_of_the_wrong_kind_is_said_in_chinese(center: Center) -> None:
    files = {"file": ("notes.txt", b"hello", "text/plain")}
    resp = center.client.post("/api/v1/projects/acme-text/imports", files=files,
                              headers={**center.as_("manager"), **ZH})
    assert center.problem(resp, 422, field="file")["detail"] == "notes.txt：请上传 .jsonl 或 .csv 文件"


def test_import_warnings_are_lines_a_chinese_reader_can_read() -> None:
    warnings = Warnings()
    for where in ("a.xml", "b.xml"):
        warnings.add("voc-no-bbox", Msg("boxes were not imported: the project has no bbox tool"), where)
    (line,) = warnings.lines()
    assert line == "boxes were not imported: the project has no bbox tool (2 times, e.g. a.xml, b.xml)"
    assert localize(line, "zh_CN") == "框未导入：项目没有 bbox 工具（2 次，例如 a.xml, b.xml）"


def test_the_cli_says_an_account_conflict_in_chinese(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATFLOW_LANG", "zh_CN")
    runner = CliRunner()
    first = runner.invoke(app, ["client", "add", "acme", "--name", "ACME Data"])
    assert first.exit_code == 0, first.stderr
    again = runner.invoke(app, ["client", "add", "acme", "--name", "ACME Data"])
    assert again.exit_code == 1, again.stderr
    assert again.stderr.strip() == "错误：slug 为 'acme' 的客户已存在"


def test_a_failed_export_job_says_its_error_in_the_readers_language(center: Center) -> None:
    """A job's error is kept with its message id in job.json, so the exports page says it in the language of
    whoever reads it later, values included (before, the English text was stored and only parameterless
    messages could be looked up again)."""
    jobs = center.app.state.export_jobs
    error = Msg("batch {batch_id} not found in project {project}", batch_id=7, project="acme-text")
    jobs._save(ExportJob(id="feedc0de", project_id=center.seed.projects["acme-text"], project_slug="acme-text",
                         client_id=center.seed.clients["acme"], format="jsonl", batch_id=7,
                         created_by=center.seed.users["manager"], state="failed", error=error,
                         created_at="2031-03-01T08:00:00+00:00", finished_at="2031-03-01T08:00:01+00:00"))
    seen = {}
    for locale in ("en", "zh_CN"):
        center.client.cookies.clear()
        assert center.client.post("/login", data={"username": "manager", "password": PASSWORD},
                                  follow_redirects=False).status_code == 303
        assert center.client.post("/settings/language", data={"locale": locale, "next": "/"},
                                  follow_redirects=False).status_code == 303
        page = center.client.get("/exports")
        assert page.status_code == 200 and 'data-export="feedc0de"' in page.text
        seen[locale] = page.text
    center.client.cookies.clear()
    assert "batch 7 not found in project acme-text" in seen["en"]
    assert "项目 acme-text 中找不到批次 7" in seen["zh_CN"] and "not found in project" not in seen["zh_CN"]
    api = center.get("manager", "/api/v1/exports/feedc0de").json()  # the API's field stays the English text
    assert api["state"] == "failed" and api["error"] == "batch 7 not found in project acme-text", api
