"""The `seatflow` command line. Commands live in ``seatflow.commands``; this module assembles them.

Every command calls the same services as the API; ``seatflow get PATH`` runs one request against
the very app the server runs. User errors end with one line on stderr and exit code 1 (2 for a
wrong option or configuration), never with a traceback.
"""

from __future__ import annotations

from seatflow.i18n.cli import _

from .commands import acceptance as acceptance_cmd  # also adds quality report|suspicious
from .commands import accounts, billing, data, db, projects, quality, server, staffing, worker
from .commands._common import new_app

app = new_app(_("Seatflow: the delivery platform of a service-outsourcing center."))

app.command(
    "init", help=_("Create SEATFLOW_HOME and the database, migrate it, and add an admin with a random password.")
)(accounts.init)
app.command("serve", help=_("Run the web server (migrates the database first)."))(server.serve)
app.command("demo", help=_("Build a demo center in SEATFLOW_HOME (reused when it exists) and serve it."))(server.demo)
app.add_typer(db.db_app, name="db")
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.client_app, name="client")
app.add_typer(accounts.team_app, name="team")
app.command("grant", help=_("Qualify a user to work on a project."))(accounts.grant)
app.add_typer(accounts.token_app, name="token")
app.add_typer(projects.project_app, name="project")
app.command("import", help=_("Import items into a project. Re-running skips items already there (by external_id)."))(
    data.import_command)
app.command("export", help=_("Export a project's accepted results as JSONL, streamed (progress on stderr)."))(
    data.export_command)
app.command("status", help=_("Projects: items, backlog, in progress, done, SLA at risk and overdue."))(
    projects.status_command)
app.command("settings", help=_("List every setting with its default, current value and meaning."))(
    server.settings_command)
app.add_typer(worker.worker_app, name="worker")
app.add_typer(quality.quality_app, name="quality")
app.add_typer(acceptance_cmd.inspect_app, name="inspect")
app.add_typer(staffing.staffing_app, name="staffing")
app.add_typer(billing.billing_app, name="billing")
app.add_typer(billing.report_app, name="report")
app.command("get", help=_("Run one GET request in-process against the app and print the JSON response."))(
    server.get)

def main() -> None:
    app(prog_name="seatflow")


if __name__ == "__main__":
    main()
