"""`seatflow settings` speaks the CLI's language: under SEATFLOW_LANG=zh_CN every setting's description
(and the "(computed)" default) is Chinese, while `--markdown` (docs/settings.md) stays English."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from seatflow.cli import app
from seatflow.config import Settings
from seatflow.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _settings(home: Path, lang: str, *args: str) -> str:
    env = {"SEATFLOW_LANG": lang, "SEATFLOW_HOME": str(home), "COLUMNS": "250"}
    result = runner.invoke(app, ["settings", *args], env=env, prog_name="seatflow")
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}\n{result.exception!r}"
    return result.stdout


def test_settings_describes_every_setting_in_chinese(tmp_path: Path) -> None:
    table = _settings(tmp_path, "zh_CN")
    assert "SEATFLOW_LEASE_SECONDS" in table and "600" in table
    assert "任务的默认租约时长。" in table
    assert "SMTP 服务器的端口。" in table
    assert ("媒体文件的存放位置：本地媒体文件夹，或兼容 S3 的存储桶（需要安装 [s3] 扩展：boto3）。") in table
    assert "（自动计算）" in table and "(computed)" not in table
    zh = translations("zh_CN").gettext
    for name, field in Settings.model_fields.items():
        english = field.description
        assert english, f"{name} has no description"
        assert zh(english) != english, f"{name}: no zh_CN translation of {english!r}"
        assert zh(english) in table, f"{name}: its description is not shown in Chinese"
        assert english not in table, f"{name}: its description is shown in English"


def test_settings_in_english_and_the_markdown_stays_english(tmp_path: Path) -> None:
    table = _settings(tmp_path, "en")
    assert "Default lease length of a task." in table and "(computed)" in table
    docs = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for lang in ("zh_CN", "en"):
        assert _settings(tmp_path, lang, "--markdown") == docs, f"--markdown under SEATFLOW_LANG={lang}"
