"""The `seatflow` command line. Commands live in ``seatflow.commands``; this module assembles them.

Every command calls the same services as the API; ``seatflow get PATH`` runs one request against
the very app the server runs. User errors end with one line on stderr and exit code 1 (2 for a
wrong option or configuration), never with a traceback.
"""

from __future__ import annotations

from seatflow.i18n.cli import _

from .commands import accounts, data, db, projects, server
from .commands._common import new_app

app = new_app(_("Seatflow: the delivery platform of a service-outsourcing center."))

app.command("init")(accounts.init)
app.command("serve")(server.serve)
app.command("demo")(server.demo)
app.add_typer(db.db_app, name="db")
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.client_app, name="client")
app.add_typer(accounts.team_app, name="team")
app.command("grant")(accounts.grant)
app.add_typer(accounts.token_app, name="token")
app.add_typer(projects.project_app, name="project")
app.command("import")(data.import_command)
app.command("export")(data.export_command)
app.command("status")(projects.status_command)
app.command("settings")(server.settings_command)
app.command("get")(server.get)


def main() -> None:
    app(prog_name="seatflow")


if __name__ == "__main__":
    main()
