"""The daily report of a client: per project, what was delivered that day (a calendar day in the
center's time zone, ``SEATFLOW_TIMEZONE``, default UTC), the share done within the deadline,
quality (review acceptance, gold accuracy) and the backlog at the time of the report; as data, a page,
a PDF, and optionally an email (SMTP settings in config.py)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from email.message import EmailMessage
from typing import Any

from babel.numbers import format_decimal, format_percent
from sqlalchemy import Connection

from seatflow.billing import pdf
from seatflow.billing.repository import client_projects
from seatflow.billing.service import resolve_client
from seatflow.config import Settings
from seatflow.domain.actors import Actor
from seatflow.domain.clock import day_bounds, local_today, utcnow, zone_name
from seatflow.errors import ValidationFailed
from seatflow.i18n import translations
from seatflow.i18n.message import Msg

from .repository import Filter
from .service import Dashboard, Scope, ScopeKind, compute

BABEL = {"zh_CN": "zh_Hans_CN", "en": "en"}


def N_(message: str) -> str:
    return message


@dataclass(frozen=True)
class ProjectDay:
    project: str
    name: str
    numbers: Dashboard


@dataclass
class DailyReport:
    client: str
    client_name: str
    day: date
    generated_at: datetime
    projects: list[ProjectDay] = field(default_factory=list)
    tz: tzinfo = UTC  # the zone whose calendar day ``day`` is

    @property
    def zone(self) -> str:
        return zone_name(self.tz)

    @property
    def delivered(self) -> int:
        return sum(p.numbers.delivered for p in self.projects)

    @property
    def sla_met(self) -> int:
        return sum(p.numbers.sla_met for p in self.projects)

    @property
    def sla_share(self) -> float | None:
        return self.sla_met / self.delivered if self.delivered else None

    @property
    def backlog(self) -> int:
        return sum(p.numbers.backlog for p in self.projects)

    @property
    def backlog_overdue(self) -> int:
        return sum(p.numbers.backlog_overdue for p in self.projects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client, "client_name": self.client_name, "date": self.day.isoformat(),
            "timezone": self.zone,
            "generated_at": self.generated_at.isoformat(),
            "totals": {"delivered": self.delivered, "sla_met": self.sla_met, "sla_attainment": self.sla_share,
                       "backlog": self.backlog, "backlog_overdue": self.backlog_overdue},
            "projects": [{
                "project": p.project, "name": p.name, "delivered": p.numbers.delivered,
                "sla_met": p.numbers.sla_met, "sla_attainment": p.numbers.sla_share,
                "reviews": p.numbers.reviews, "acceptance_rate": p.numbers.acceptance_rate,
                "gold_answers": p.numbers.gold_answers, "gold_accuracy": p.numbers.gold_accuracy,
                "backlog": p.numbers.backlog, "backlog_overdue": p.numbers.backlog_overdue,
                "backlog_oldest_seconds": p.numbers.backlog_oldest_seconds,
            } for p in self.projects],
        }


def parse_day(text: str | None, *, today: date) -> date:
    if not text:
        return today
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(Msg("date must be a day written YYYY-MM-DD, e.g. 2026-11-27; got {got!r}", got=text),
                               field="date") from None


def daily_report(conn: Connection, actor: Actor | None, client_slug: str | None, day: str | date | None = None,
                 *, now: datetime | None = None, tz: tzinfo = UTC) -> DailyReport:
    """The client's report of ``day``, a calendar day in ``tz`` (the center's zone; today there by default).
    Managers any client, a client user its own."""
    now = now or utcnow()
    the_day = day if isinstance(day, date) else parse_day(day, today=local_today(now, tz))
    client = resolve_client(conn, actor, client_slug)
    start, end = day_bounds(the_day, tz)  # 23 or 25 hours on a day the clocks change
    report = DailyReport(client=client.slug, client_name=client.name, day=the_day, generated_at=now, tz=tz)
    for p in client_projects(conn, client.id):
        sc = Scope(ScopeKind.PROJECT, p.slug, p.name, Filter(project_ids=frozenset({int(p.id)})))
        numbers = compute(conn, sc, start=start, end=end, step="hour", now=now)
        report.projects.append(ProjectDay(project=p.slug, name=p.name, numbers=numbers))
    return report


def _fmt_pct(value: float | None, locale: str) -> str:
    return "—" if value is None else format_percent(value, locale=BABEL[locale], decimal_quantization=False,
                                                    format="#,##0.0%")


def report_pdf(report: DailyReport, locale: str) -> bytes:
    t = translations(locale)
    _ = t.gettext
    num = lambda n: format_decimal(n, locale=BABEL[locale])  # noqa: E731
    header = [_(N_("Project")), _(N_("Delivered items")), _(N_("Within deadline")), _(N_("Review acceptance")),
              _(N_("Gold accuracy")), _(N_("Backlog")), _(N_("Overdue"))]
    rows = [[p.name, num(p.numbers.delivered), _fmt_pct(p.numbers.sla_share, locale),
             _fmt_pct(p.numbers.acceptance_rate, locale), _fmt_pct(p.numbers.gold_accuracy, locale),
             num(p.numbers.backlog), num(p.numbers.backlog_overdue)] for p in report.projects]
    rows.append([_(N_("Total")), num(report.delivered), _fmt_pct(report.sla_share, locale), "", "",
                 num(report.backlog), num(report.backlog_overdue)])
    return pdf.render(
        title=_(N_("Daily report")) + f" · {report.client_name} · {report.day.isoformat()}",
        lines=[_(N_("Delivered %(n)s items; %(share)s within the deadline.")) % {
                   "n": num(report.delivered), "share": _fmt_pct(report.sla_share, locale)},
               _(N_("Backlog at the time of the report: %(n)s items, %(late)s overdue.")) % {
                   "n": num(report.backlog), "late": num(report.backlog_overdue)}],
        tables=[pdf.PdfTable(heading=_(N_("Per project")), header=header, rows=rows,
                             numeric=(1, 2, 3, 4, 5, 6), total_row=True)],
        footer=_(N_("Days are calendar days in the time zone %(zone)s. Generated %(at)s by Seatflow.")) % {
            "zone": report.zone, "at": report.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")},
    )


def send_report(settings: Settings, report: DailyReport, to: str, locale: str) -> None:
    """Email the report (a short text and the PDF) through the configured SMTP server."""
    if not settings.smtp_host:
        raise ValidationFailed(Msg("no SMTP server is configured: set SEATFLOW_SMTP_HOST (and _PORT, _FROM)"),
                               field="smtp_host")
    if "@" not in to or any(c in to for c in "\r\n ,;"):
        raise ValidationFailed(Msg("email must be one address like ops@example.com; got {got!r}", got=to),
                               field="email")
    t = translations(locale)
    _ = t.gettext
    msg = EmailMessage()
    msg["Subject"] = _(N_("Daily report")) + f" · {report.client_name} · {report.day.isoformat()}"
    msg["From"] = settings.smtp_from or "seatflow@localhost"
    msg["To"] = to
    msg.set_content(
        _(N_("Delivered %(n)s items; %(share)s within the deadline.")) % {
            "n": report.delivered, "share": _fmt_pct(report.sla_share, locale)} + "\n"
        + _(N_("Backlog at the time of the report: %(n)s items, %(late)s overdue.")) % {
            "n": report.backlog, "late": report.backlog_overdue} + "\n")
    msg.add_attachment(report_pdf(report, locale), maintype="application", subtype="pdf",
                       filename=f"daily-{report.client}-{report.day.isoformat()}.pdf")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)
