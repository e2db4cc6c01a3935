"""`quality worker|project|set|reinstate|notices`: quality control read-outs and actions from the server."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from seatflow.domain.clock import utcnow
from seatflow.i18n.cli import _
from seatflow.services import aggregation, quality
from seatflow.services._tx import transact

from ._common import CLI_ACTOR, database, fail, new_app, print_table, settings

quality_app = new_app(_("Quality control: gold accuracy, review acceptance, suspensions, a project's settings."))


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _interval(part: dict[str, Any]) -> str:
    if not part["n"]:
        return "-"
    return f"{_pct(part['rate'])} [{_pct(part['low'])}, {_pct(part['high'])}] n={part['n']}"


@quality_app.command("worker", help=_("A worker's rolling gold accuracy and review acceptance (95% Wilson "
                                      "intervals) and standing, per project."))
def worker(
    username: Annotated[str, typer.Argument(help=_("The worker's username."))],
    project: Annotated[str | None, typer.Option("--project", help=_("Only this project (slug)."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    with database(settings()) as db, db.read() as conn:
        data = quality.worker_quality(conn, CLI_ACTOR, username, project)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    table = Table(title=_("Quality of {worker}").format(worker=data["worker"]["username"]))
    for header in (_("project"), _("standing"), _("gold accuracy"), _("review acceptance")):
        table.add_column(header)
    for p in data["projects"]:
        table.add_row(p["project"]["slug"], _standing(p["standing"]), _interval(p["gold"]), _interval(p["review"]))
    print_table(table)


def _standing(state: str) -> str:
    """A worker's standing on a project in the CLI's language (the codes stay in --json)."""
    names = {"active": _("active"), "testing": _("testing"), "qualified": _("qualified"), "failed": _("failed"),
             "suspended": _("suspended"), "reinstated": _("reinstated")}
    return names.get(state, state)


@quality_app.command("project", help=_("A project's quality settings, gold totals and per-worker table."))
def project(
    slug: Annotated[str, typer.Argument(help=_("The project's slug."))],
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    with database(settings()) as db, db.read() as conn:
        data = quality.project_quality(conn, CLI_ACTOR, slug)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    s = data["settings"]
    suspension = _("suspends a worker when a sequential test on their gold answers finds accuracy {threshold} "
                   "or less rather than {ok} or more (at least {min_gold} gold answers)").format(
        threshold=_pct(s["min_accuracy"]), ok=_pct(s["ok_accuracy"]), min_gold=s["min_gold"],
    ) if s["min_accuracy"] is not None else _("never suspends")
    typer.echo(_("{project}: {gold} gold items, gold rate {rate}; {suspension}; qualification test: {test}").format(
        project=slug, gold=data["gold_items"], rate=_pct(s["effective_gold_rate"]), suspension=suspension,
        test=_("{n} items, pass mark {mark}").format(n=s["qualification_items"], mark=_pct(s["pass_mark"]))
        if s["qualification_items"] else _("none")))
    table = Table(title=_("Workers"))
    for header in (_("worker"), _("standing"), _("gold accuracy"), _("review acceptance")):
        table.add_column(header)
    for w in data["workers"]:
        table.add_row(w["username"], _standing(w["standing"]), _interval(w["gold"]), _interval(w["review"]))
    print_table(table)


@quality_app.command("set", help=_("Change a project's quality settings, e.g. gold_rate=0.1 min_accuracy=0.5 "
                                   "qualification_items=10 (unnamed settings keep their value)."))
def set_settings(
    slug: Annotated[str, typer.Argument(help=_("The project's slug."))],
    pairs: Annotated[list[str] | None, typer.Argument(help=_("NAME=VALUE (VALUE in JSON, e.g. 0.1 or null)"))]
    = None,
    reset: Annotated[bool, typer.Option("--reset", help=_("Back to the defaults."))] = False,
) -> None:
    with database(settings()) as db:
        if reset:
            new: dict[str, Any] | None = None
        else:
            with db.read() as conn:
                current = dict(quality._project(conn, slug).quality or {})
            for pair in pairs or []:
                name, sep, value = pair.partition("=")
                if not sep or not name.strip():
                    raise fail(_("{pair!r}: write NAME=VALUE, e.g. gold_rate=0.1").format(pair=pair))
                try:
                    current[name.strip()] = json.loads(value)
                except json.JSONDecodeError:
                    raise fail(_("{pair!r}: the value is not JSON (a number, true/false, null, ...)").format(
                        pair=pair)) from None
            new = current
        data = transact(db, lambda c: quality.set_settings(c, CLI_ACTOR, slug, new))
    typer.echo(json.dumps(data["settings"], ensure_ascii=False))


@quality_app.command("reinstate", help=_("Let a suspended worker (or one who failed the test) work on a "
                                         "project again."))
def reinstate(
    slug: Annotated[str, typer.Argument(help=_("The project's slug."))],
    username: Annotated[str, typer.Argument(help=_("The worker's username."))],
    note: Annotated[str | None, typer.Option("--note", help=_("Why (kept in the event log)."))] = None,
) -> None:
    with database(settings()) as db:
        transact(db, lambda c: quality.reinstate(c, CLI_ACTOR, slug, username, note=note, now=utcnow()))
    typer.echo(_("{worker} may work on {project} again").format(worker=username, project=slug))


@quality_app.command("aggregate", help=_("Aggregate every item of a class or decision project again, all answers "
                                         "at once (majority, one_coin, dawid_skene or glad), and store the result."))
def aggregate(
    slug: Annotated[str, typer.Argument(help=_("The project's slug."))],
    method: Annotated[str, typer.Option("--method", help=_("majority, one_coin, dawid_skene or glad."))]
    = "dawid_skene",
) -> None:
    with database(settings()) as db:
        data = transact(db, lambda c: aggregation.aggregate_project(c, CLI_ACTOR, slug, method))
    typer.echo(_("{items} items of {project} aggregated from {answers} answers ({method})").format(**data))


@quality_app.command("notices", help=_("Suspensions and failed qualification tests the team leads are told about."))
def notices(
    all_: Annotated[bool, typer.Option("--all", help=_("Also the acknowledged ones."))] = False,
) -> None:
    with database(settings()) as db, db.read() as conn:
        rows = quality.notices(conn, CLI_ACTOR, open_only=not all_)
    if not rows:
        typer.echo(_("no notices"))
        return
    for r in rows:
        typer.echo(f"{r['created_at']}  {r['project']}  {r['worker']}  {describe_notice(r['kind'], r['data'])}")


def describe_notice(kind: str, data: dict[str, Any] | None) -> str:
    """A notice in words (translated)."""
    d = data or {}
    if kind == "suspended" and d.get("ok_accuracy") is not None:  # the sequential test's conclusion
        return _("suspended: {passed} of {n} check items right, enough evidence that the accuracy is {threshold} "
                 "or less rather than {ok} or more").format(
            passed=d.get("passed"), n=d.get("gold_answers"), threshold=_pct(d.get("threshold")),
            ok=_pct(d.get("ok_accuracy")))
    if kind == "suspended":  # a notice written before the sequential test
        return _("suspended: {passed} of {n} recent check items right ({accuracy}); the threshold is "
                 "{threshold}").format(passed=d.get("passed"), n=d.get("gold_answers"),
                                       accuracy=_pct(d.get("accuracy")), threshold=_pct(d.get("threshold")))
    if kind == "qualification_failed":
        return _("failed the qualification test: {passed} of {n} right, pass mark {mark}").format(
            passed=d.get("passed"), n=d.get("test_answers"), mark=_pct(d.get("pass_mark")))
    return kind
