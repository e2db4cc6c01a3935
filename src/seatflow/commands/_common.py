"""What every command shares: settings, the database, consoles, and turning errors into one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from seatflow.config import Settings, load_settings
from seatflow.domain.actors import Actor, Role
from seatflow.errors import SeatflowError
from seatflow.i18n import cli_chrome
from seatflow.i18n.cli import _, cli_locale
from seatflow.i18n.message import N_, localize
from seatflow.i18n.pydantic_errors import describe
from seatflow.store.engine import Database, make_engine
from seatflow.store.migrate import current_revision, head_revision, upgrade

# The CLI runs on the server itself and is trusted; services that need an actor get this one.
CLI_ACTOR = Actor(id=0, username="cli", role=Role.ADMIN, locale="en")


class CliFailure(SeatflowError):
    """A user error found by the CLI itself (a file that can't be read, a busy port, ...)."""

    code = "cli"
    title = N_("Command failed")


def fail(message: str) -> CliFailure:
    """``raise fail(...)``: stop the command with a one-line message and exit code 1."""
    return CliFailure(message)


class SeatflowGroup(TyperGroup):
    """The command group: user errors become one line on stderr and an exit code, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        cli_chrome.use(cli_locale())  # Click's and Typer's own words ("Usage:", "Missing option") too
        return super().main(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SeatflowError as exc:
            _die(exc.detail, 1)
        except ValidationError as exc:  # settings from the environment
            err = exc.errors()[0]
            name = "SEATFLOW_" + "_".join(str(p) for p in err.get("loc", ())).upper()
            message = said(describe(err))  # in the CLI's language (our own check's message too)
            _die(_("configuration error: {name}: {message}").format(name=name, message=message), 2)
        except OperationalError as exc:
            _die(_("database error: {message}").format(message=str(exc.orig or exc).strip().splitlines()[0]), 1)
        except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
            _die(f"{exc.filename}: {exc.strerror}", 1)


def said(text: str) -> str:
    """``text`` in the CLI's language: a service's ``Msg`` is translated (see seatflow.i18n.message)."""
    return localize(text, cli_locale())


def _die(message: str, code: int) -> None:
    typer.echo(_("error: {message}").format(message=said(message)), err=True)
    raise typer.Exit(code)


def new_app(help_text: str, **kwargs: Any) -> typer.Typer:
    return typer.Typer(help=help_text, cls=SeatflowGroup, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]},
                       **kwargs)


def out() -> Console:
    """A console on stdout, made per call so that redirected streams (tests, pipes) are honoured.

    No markup: table cells hold data (setting help "needs the [s3] extra", token names, external ids,
    inspection comments) that rich took for style tags and dropped."""
    return Console(highlight=False, soft_wrap=False, markup=False)


def print_table(table: Table) -> None:
    """Print a table on stdout, never cutting a figure or a name short.

    Rich fits a table to the terminal (80 columns when stdout is a pipe or a file) by cutting cells
    with an ellipsis: ``seatflow status`` in 80 columns showed 1,000,000 items as '10000…' and slugs
    as 'proje…'. Here cells wrap instead, a right-aligned column (figures) is at least as wide as
    its widest figure, and output that goes to a pipe or a file is as wide as the table needs.
    """
    for column in table.columns:
        column.overflow = "fold"  # a long cell wraps onto more lines; nothing is dropped
        if column.justify == "right":  # a figure is never split: its column is at least as wide as it
            column.min_width = max([len(str(c)) for c in column.cells] + [1])
    console = out()
    if not console.is_terminal:
        console.width = table.__rich_measure__(console, console.options.update_width(100_000)).maximum
    console.print(table)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def settings() -> Settings:
    return load_settings()


def safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def database(conf: Settings, *, migrate: bool = False) -> Iterator[Database]:
    """The configured database. ``migrate`` brings it to the newest schema; otherwise it must be there."""
    url = conf.resolved_database_url()
    parsed = make_url(url)
    if not migrate and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            raise fail(_("there is no database at {path}; create it with `seatflow init` "
                         "(or set SEATFLOW_HOME / SEATFLOW_DATABASE_URL)").format(path=parsed.database))
    db = Database(make_engine(url, pool_size=conf.db_pool_size))
    try:
        if migrate:
            upgrade(db.engine)
        else:
            current, head = current_revision(db.engine), head_revision()
            if current is None:
                raise fail(_("the database {url} has no Seatflow schema; run `seatflow init` or "
                             "`seatflow db upgrade`").format(url=safe_url(url)))
            if current != head:
                raise fail(_("the database {url} is at schema {current}, the code needs {head}; "
                             "run `seatflow db upgrade`").format(url=safe_url(url), current=current, head=head))
        yield db
    finally:
        db.dispose()
