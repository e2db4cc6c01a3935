"""The CLI in Chinese includes the words Click and Typer print around our commands (seatflow.i18n.cli_chrome)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from seatflow.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")


def _run(monkeypatch: pytest.MonkeyPatch, lang: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("SEATFLOW_LANG", lang)
    result = runner.invoke(app, list(args), prog_name="seatflow")
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_usage_errors_and_help_follow_the_language_of_each_run(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _run(monkeypatch, "zh_CN", "project", "create")
    assert code == 2
    assert "用法： seatflow project create" in out and "运行 'seatflow project create -h' 查看帮助。" in out
    assert "缺少选项 '--file' / '-f'。" in out and "Missing option" not in out
    assert "错误" in out

    code, out = _run(monkeypatch, "zh_CN", "projekt")
    assert code == 2 and "没有命令 'projekt'。你是不是想输入 'project'？" in out

    code, out = _run(monkeypatch, "zh_CN", "status", "--bogus")
    assert code == 2 and "没有选项：--bogus" in out

    code, out = _run(monkeypatch, "zh_CN", "status", "extra")
    assert code == 2 and "多余的参数（extra）" in out

    code, out = _run(monkeypatch, "zh_CN", "serve", "--port", "abc")
    assert code == 2 and "'--port' 的值无效：" in out

    code, out = _run(monkeypatch, "zh_CN", "--help")
    assert code == 0 and "选项" in out and "命令" in out and "用法： seatflow" in out
    assert "显示此帮助并退出。" in out and "Show this message" not in out

    # the next run in English is English again: nothing of the Chinese run stays behind
    code, out = _run(monkeypatch, "en", "project", "create")
    assert code == 2 and "Usage: seatflow project create" in out and "Missing option '--file' / '-f'." in out
    code, out = _run(monkeypatch, "en", "projekt")
    assert "No such command 'projekt'. Did you mean 'project'?" in out
    code, out = _run(monkeypatch, "en", "--help")
    assert "Options" in out and "Commands" in out and "选项" not in out
    assert "Show this message and exit." in out


def test_a_usage_error_of_an_unknown_shape_stays_as_typer_says_it() -> None:
    from seatflow.i18n import cli_chrome, translations

    zh = translations("zh_CN")
    assert cli_chrome.said_again("Something Typer says one day", zh) == "Something Typer says one day"
    assert cli_chrome.said_again("Invalid value for '--n': 'x' is not a valid integer.", zh) == (
        "'--n' 的值无效：'x' is not a valid integer.")
