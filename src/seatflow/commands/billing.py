"""`billing statement` and `report daily`: a client's monthly statement and daily report from the server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seatflow.billing import service
from seatflow.billing.documents import statement_pdf
from seatflow.dashboards import daily
from seatflow.domain.clock import center_zone
from seatflow.i18n.cli import _, cli_locale

from ._common import CLI_ACTOR, database, new_app, print_table, settings

billing_app = new_app(_("Billing: a client's monthly statement of delivered units x unit price."))
report_app = new_app(_("Reports: a client's daily report (delivered, SLA, quality, backlog)."))


@billing_app.command("statement", help=_("A client's statement for one month: delivered units x unit price per "
                                         "project, rework and gold left out. Writes CSV and PDF on request."))
def statement(
    client: Annotated[str, typer.Option("--client", help=_("The client's slug."))],
    month: Annotated[str, typer.Option("--month", help=_(
        "The month, YYYY-MM: a calendar month in the center's time zone (SEATFLOW_TIMEZONE)."))],
    csv_path: Annotated[Path | None, typer.Option("--csv", help=_("Write the statement as CSV to this file."))] = None,
    pdf_path: Annotated[Path | None, typer.Option("--pdf", help=_("Write the statement as PDF to this file."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    conf = settings()
    period = service.parse_month(month, tz=center_zone(conf))  # checked before the database is opened
    with database(conf) as db, db.read() as conn:
        st = service.statement(conn, CLI_ACTOR, client, period, currency=conf.billing_currency)
    if csv_path is not None:
        csv_path.write_text(service.statement_csv(st), encoding="utf-8")
    if pdf_path is not None:
        pdf_path.write_bytes(statement_pdf(st, cli_locale()))
    if as_json:
        typer.echo(json.dumps(st.as_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(title=_("Statement {client} {month}").format(client=st.client, month=st.month.label))
    hours = st.has_hours  # the billed-by and hours columns show when a project is billed by time
    names = [_("Project"), _("Units"), _("Unit price"), _("Amount"), _("Reworked"), _("Gold answers")]
    if hours:
        names[2:3] = [_("Billed by"), _("Hours"), _("Unit price or hourly rate")]
    for name in names:
        table.add_column(name, justify="left" if name in (_("Project"), _("Billed by")) else "right")
    for line in st.lines:
        if hours:
            by = [_("by time") if line.by_hours else _("per unit"), "-" if line.hours is None else str(line.hours),
                  str(line.hourly_rate if line.by_hours else line.unit_price)]
        else:
            by = [str(line.unit_price)]
        table.add_row(line.project, str(line.units), *by, str(line.amount), str(line.reworked),
                      str(line.gold_answers))
    total_by = ["", str(st.total_hours), ""] if hours else [""]
    table.add_row(_("Total"), str(st.total_units), *total_by, f"{st.total_amount} {st.currency}", "", "")
    print_table(table)


@report_app.command("daily", help=_("A client's daily report; prints it, writes a PDF, or emails it (SMTP settings)."))
def daily_command(
    client: Annotated[str, typer.Option("--client", help=_("The client's slug."))],
    date: Annotated[str | None, typer.Option("--date", help=_(
        "The day, YYYY-MM-DD, in the center's time zone (SEATFLOW_TIMEZONE); today by default."))] = None,
    pdf_path: Annotated[Path | None, typer.Option("--pdf", help=_("Write the report as PDF to this file."))] = None,
    email: Annotated[str | None, typer.Option(
        "--email", help=_("Email the report (with the PDF) to this address."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    conf = settings()
    with database(conf) as db, db.read() as conn:
        report = daily.daily_report(conn, CLI_ACTOR, client, date, tz=center_zone(conf))
    if pdf_path is not None:
        pdf_path.write_bytes(daily.report_pdf(report, cli_locale()))
    if email:
        daily.send_report(conf, report, email, cli_locale())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        table = Table(title=_("Daily report {client} {day}").format(client=report.client, day=report.day.isoformat()))
        for name in (_("Project"), _("Delivered items"), _("Within deadline"), _("Backlog"), _("Overdue")):
            table.add_column(name, justify="left" if name == _("Project") else "right")

        def pct(x: float | None) -> str:
            return "-" if x is None else f"{x * 100:.1f}%"

        for p in report.projects:
            table.add_row(p.project, str(p.numbers.delivered), pct(p.numbers.sla_share), str(p.numbers.backlog),
                          str(p.numbers.backlog_overdue))
        table.add_row(_("Total"), str(report.delivered), pct(report.sla_share), str(report.backlog),
                      str(report.backlog_overdue))
        print_table(table)
    if email:
        typer.echo(_("sent to {to}").format(to=email), err=True)
