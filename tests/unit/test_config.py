"""Settings: one declared table that is also the documentation and the validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from seatflow.config import Settings, settings_table


def test_every_setting_is_documented() -> None:
    fields = Settings.model_fields.items()
    undocumented = [name for name, field in fields if not (field.description or "").strip()]
    assert undocumented == [], "give these settings a description: the description is the documentation"


def test_settings_table_lists_every_setting_with_its_default_and_help() -> None:
    rows = {row.name: row for row in settings_table()}
    assert set(rows) == {f"SEATFLOW_{name.upper()}" for name in Settings.model_fields}
    assert rows["SEATFLOW_LEASE_SECONDS"].default == "600"
    assert rows["SEATFLOW_HOME"].default == "(computed)"
    for name, field in Settings.model_fields.items():
        assert rows[f"SEATFLOW_{name.upper()}"].help == field.description


def test_environment_variables_with_the_prefix_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SEATFLOW_LEASE_SECONDS", "120")
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", "postgresql+psycopg://app@db/seatflow")
    monkeypatch.setenv("SEATFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("LEASE_SECONDS", "999")  # without the prefix: not ours
    settings = Settings()
    assert settings.lease_seconds == 120
    assert settings.database_url == "postgresql+psycopg://app@db/seatflow"
    assert settings.resolved_home() == tmp_path


def test_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEATFLOW_PAGE_SIZE", "20")
    assert Settings(page_size=30).page_size == 30


def test_defaults_without_environment(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.lease_seconds == 600
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'seatflow.db'}"
    assert settings.resolved_media_dir() == tmp_path / "media"


@pytest.mark.parametrize(
    ("value", "complaint"),
    [("abc", "valid integer"), ("5", "greater than or equal to 10")],
)
def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch, value: str, complaint: str) -> None:
    monkeypatch.setenv("SEATFLOW_LEASE_SECONDS", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert "lease_seconds" in message
    assert complaint in message
    assert repr(value) in message  # the offending value is shown too


@pytest.mark.parametrize(("url", "says"), [
    ("foo://x", "Seatflow runs on SQLite or PostgreSQL"),
    ("mysql://app@db/seatflow", "Seatflow runs on SQLite or PostgreSQL"),
    ("not a url", "not a database URL"),
    ("postgresql+nodriver://app:hunter2@db/seatflow", "its driver cannot be loaded"),
])
def test_a_database_url_seatflow_cannot_use_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, url: str, says: str
) -> None:
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", url)
    with pytest.raises(ValidationError) as caught:
        Settings()
    error = caught.value.errors()[0]
    assert error["loc"] == ("database_url",) and says in error["msg"]
    assert "hunter2" not in error["msg"], "the password is never shown"


@pytest.mark.parametrize("url", ["", "sqlite:////srv/seatflow/seatflow.db", "postgresql+psycopg://app@db/seatflow"])
def test_sqlite_and_postgresql_urls_are_accepted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SEATFLOW_DATABASE_URL", url)
    assert Settings().database_url == url
