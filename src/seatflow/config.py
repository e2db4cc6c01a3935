"""Settings: one declared table (name, default, help) that drives validation, `--help` and the docs.

Every setting is read from the environment with the ``SEATFLOW_`` prefix, or from an optional
``seatflow.toml``/``.env``-style file named by ``SEATFLOW_CONFIG``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from seatflow.domain.clock import zone
from seatflow.i18n.message import N_, Msg


@dataclass(frozen=True)
class SettingDoc:
    name: str
    default: str
    help: str


def _default_home() -> str:
    return platformdirs.user_data_dir("seatflow", appauthor=False)


class Settings(BaseSettings):
    """All of Seatflow's settings. The field descriptions are the documentation."""

    model_config = SettingsConfigDict(env_prefix="SEATFLOW_", env_file=None, extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path(_default_home()),
        description=N_("Directory for the embedded database, media and secrets (never the source tree)."),
    )
    database_url: str = Field(
        default="",
        description=N_("SQLAlchemy URL. Empty means SQLite at $SEATFLOW_HOME/seatflow.db; "
        "postgresql+psycopg://user@host/db selects PostgreSQL."),
    )
    media_dir: str = Field(default="", description=N_("Local media folder. Empty means $SEATFLOW_HOME/media."))
    media_backend: Literal["local", "s3"] = Field(
        default="local", description=N_("Where media files are kept: the local media folder, or an S3-compatible "
        "bucket (needs the [s3] extra: boto3).")
    )
    media_url_seconds: int = Field(
        default=900, ge=10, le=604800, description=N_("How long a media link handed to a browser stays valid.")
    )
    s3_bucket: str = Field(default="", description=N_("S3 bucket of the media (SEATFLOW_MEDIA_BACKEND=s3)."))
    s3_prefix: str = Field(default="", description=N_("Key prefix inside the S3 bucket, e.g. seatflow/media."))
    s3_endpoint_url: str = Field(
        default="", description=N_("Endpoint of an S3-compatible server (MinIO, Ceph...). Empty means AWS S3.")
    )
    s3_region: str = Field(default="", description=N_("S3 region. Empty means boto3's default."))
    secret_key: str = Field(
        default="",
        description=N_("Key that signs session cookies. Empty means a random key kept in $SEATFLOW_HOME/secret.key."),
    )
    lease_seconds: int = Field(default=600, ge=10, le=86400, description=N_("Default lease length of a task."))
    reap_interval_seconds: float = Field(
        default=5.0, gt=0, description=N_("How often expired leases are returned to the queue.")
    )
    import_batch_size: int = Field(default=2000, ge=1, le=100000, description=N_("Rows per insert batch on import."))
    page_size: int = Field(default=50, ge=1, le=1000, description=N_("Default page size of API lists."))
    max_page_size: int = Field(default=500, ge=1, le=10000, description=N_("Largest page size a list accepts."))
    default_locale: str = Field(default="zh_CN", description=N_("Interface language of new users (zh_CN or en)."))
    db_pool_size: int = Field(default=10, ge=1, le=200, description=N_("Connections per app process (PostgreSQL)."))
    token_cache_seconds: float = Field(
        default=30.0, ge=0,
        description=N_("How long an API token lookup is cached in-process (a disabled user's token stops "
        "working within this time)."),
    )
    media_max_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024,
        description=N_("Largest media file (bytes) the moderation API takes, uploaded or fetched from a URL."),
    )
    media_fetch_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description=N_("Time allowed to fetch a media URL given to the moderation API."),
    )
    media_fetch_private: bool = Field(
        default=False,
        description=N_("Let the moderation API fetch media URLs on private, loopback or link-local addresses "
        "(off: only public addresses, so a client cannot make the server read its own network)."),
    )
    media_jobs_in_process: bool = Field(
        default=True,
        description=N_("Process ingested media (thumbnails, keyframes, pre-screen) in a thread of each app "
        "process. Turn it off when `python -m seatflow.jobs.media` runs as a worker of its own."),
    )
    media_job_interval_seconds: float = Field(
        default=1.0, gt=0, le=60,
        description=N_("How often the media job looks for new media when nothing woke it."),
    )
    video_keyframes: int = Field(
        default=8, ge=1, le=32, description=N_("Keyframe thumbnails in the strip shown for a video."),
    )
    prescreen_model: str = Field(
        default="nudenet", pattern="^(nudenet|off)$",
        description=N_("Machine pre-screen of images and videos: 'nudenet' (NudeNet's ONNX detector, "
        "shipped in its wheel, on the CPU) or 'off'."),
    )
    delivery_in_process: bool = Field(
        default=True,
        description=N_("Deliver webhooks from a thread inside each app process. Turn it off when "
        "`seatflow worker deliver` runs as a process of its own."),
    )
    delivery_concurrency: int = Field(
        default=8, ge=1, le=256, description=N_("Webhook requests one deliverer keeps in flight at once.")
    )
    delivery_poll_seconds: float = Field(
        default=0.5, gt=0, le=60,
        description=N_("How often a deliverer looks for due events when nothing woke it (events made in "
        "the same process wake it at once)."),
    )
    delivery_claim_seconds: float = Field(
        default=60.0, ge=1, le=3600,
        description=N_("How long an event taken by a deliverer stays its own; after that (a crashed "
        "deliverer) another one takes it. Must exceed the webhook timeout."),
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description=N_("Time a receiver has to answer a webhook request.")
    )
    webhook_max_attempts: int = Field(
        default=15, ge=1, le=100,
        description=N_("Attempts before an event is dead (kept in the delivery log; replay it by hand)."),
    )
    webhook_backoff_base_seconds: float = Field(
        default=2.0, gt=0, le=3600,
        description=N_("First retry delay of a failed webhook; doubles per attempt, with full jitter."),
    )
    webhook_backoff_cap_seconds: float = Field(
        default=3600.0, gt=0, le=86400, description=N_("Longest delay between two attempts of a webhook.")
    )
    billing_currency: str = Field(
        default="CNY", min_length=1, max_length=8, description=N_("Currency code printed on billing statements.")
    )
    timezone: str = Field(
        default="UTC",
        description=N_("The center's time zone, an IANA name such as Asia/Shanghai: billing months, daily reports, "
        "dashboards, the staffing planner and a person's work today follow its clock and calendar days."),
    )
    smtp_host: str = Field(default="", description=N_("SMTP server that sends daily reports. Empty means no email."))
    smtp_port: int = Field(default=25, ge=1, le=65535, description=N_("Port of the SMTP server."))
    smtp_user: str = Field(default="", description=N_("SMTP login. Empty means no login."))
    smtp_password: str = Field(default="", description=N_("SMTP password (with SEATFLOW_SMTP_USER)."))
    smtp_from: str = Field(
        default="", description=N_("Sender address of report emails. Empty means seatflow@localhost.")
    )
    smtp_starttls: bool = Field(default=False, description=N_("Upgrade the SMTP connection with STARTTLS."))
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description=N_("How long to wait for the SMTP server before giving up.")
    )

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        """Empty, or a URL of SQLite or PostgreSQL whose driver is installed: a wrong one is named here
        (a configuration error) rather than failing deep inside SQLAlchemy when the engine is made."""
        value = value.strip()
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        example = "postgresql+psycopg://user@host/dbname"
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(Msg("not a database URL; write e.g. {example}, or empty for SQLite in SEATFLOW_HOME",
                                 example=example)) from None
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(Msg("{url!r}: Seatflow runs on SQLite or PostgreSQL; write e.g. {example}, or empty for "
                                 "SQLite in SEATFLOW_HOME", url=shown, example=example))
        try:
            url.get_dialect().import_dbapi()
        except (NoSuchModuleError, ImportError) as exc:
            raise ValueError(Msg("{url!r}: its driver cannot be loaded ({why}); for PostgreSQL use "
                                 "postgresql+psycopg://...", url=shown, why=str(exc))) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        zone(value)  # a ValueError naming the value when it is no time zone
        return value.strip()

    @model_validator(mode="after")
    def _claim_outlasts_timeout(self) -> Settings:
        if self.delivery_claim_seconds <= self.webhook_timeout_seconds:
            raise ValueError(Msg(
                "delivery_claim_seconds ({claim:g}) must exceed webhook_timeout_seconds ({timeout:g}), or a slow "
                "receiver gets each event twice", claim=self.delivery_claim_seconds,
                timeout=self.webhook_timeout_seconds,
            ))
        return self

    def resolved_home(self) -> Path:
        return Path(os.path.expanduser(str(self.home)))

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home() / 'seatflow.db'}"

    def resolved_media_dir(self) -> Path:
        if self.media_dir:
            return Path(os.path.expanduser(self.media_dir))
        return self.resolved_home() / "media"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        home = self.resolved_home()
        home.mkdir(parents=True, exist_ok=True)
        path = home / "secret.key"
        if not path.exists():
            import secrets

            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()


def settings_table() -> list[SettingDoc]:
    """The settings as (name, default, help) rows, for `seatflow settings` and the docs."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = N_("(computed)")  # said in the reader's language by `seatflow settings`
        else:
            default = repr(field.default)
        rows.append(SettingDoc(name=f"SEATFLOW_{name.upper()}", default=default, help=field.description or ""))
    return rows


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
