"""`project create --file`, `project update` and `status`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from seatflow.domain.clock import center_zone
from seatflow.errors import SeatflowError
from seatflow.i18n.cli import _
from seatflow.services import projects, status
from seatflow.services._tx import transact

from ._common import CLI_ACTOR, database, fail, new_app, print_table, said, settings

project_app = new_app(_("Projects: a client's work of one work type, with its workflow and SLA."))


def read_spec(path: Path) -> dict[str, Any]:
    """A project spec from a YAML or JSON file; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(_("{file}: not UTF-8 text").format(file=path)) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(_("{file}:{line}: not valid JSON ({message})").format(
                file=path, line=exc.lineno, message=exc.msg)) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise fail(_("{where}: not valid YAML ({message})").format(where=where, message=problem)) from None
    if not isinstance(data, dict):
        raise fail(_("{file}: a project file must be a mapping of fields (slug, name, client, work_type, ...)")
                   .format(file=path))
    return data


def _names_field_only_once(exc: SeatflowError) -> bool:
    """True when the error has a field its message does not start with (most messages name their field
    first, ``label_schema.classes[1]: ...``; then "field '...':" in front would say it twice)."""
    return bool(exc.field) and not exc.detail.startswith((f"{exc.field}:", f"{exc.field} "))


@project_app.command("create", help=_("Create a project from a YAML or JSON file."))
def project_create(
    file: Annotated[Path, typer.Option("--file", "-f", help=_("project.yaml or project.json"), exists=True,
                                       dir_okay=False)],
) -> None:
    spec = read_spec(file)
    with database(settings()) as db:
        try:
            pid = transact(db, lambda c: projects.create_project(c, None, spec))
        except SeatflowError as exc:
            if _names_field_only_once(exc):
                raise fail(_("{file}: field {field!r}: {message}").format(
                    file=file, field=exc.field, message=said(exc.detail))) from None
            raise fail(f"{file}: {said(exc.detail)}") from None
    typer.echo(_("created project {slug} (id {id})").format(slug=spec["slug"], id=pid))


@project_app.command("update", help=_(
    "Change a project: name, instructions, SLA, price, billing, lease length; pause or resume it."))
def project_update(
    slug: Annotated[str, typer.Argument(help=_("The project's slug (or id)."))],
    name: Annotated[str | None, typer.Option("--name", help=_("New name."))] = None,
    instructions_file: Annotated[Path | None, typer.Option(
        "--instructions-file", help=_("A UTF-8 text file with the new instructions."), exists=True,
        dir_okay=False)] = None,
    sla_minutes: Annotated[int | None, typer.Option("--sla-minutes", help=_("New SLA in minutes."))] = None,
    no_sla: Annotated[bool, typer.Option("--no-sla", help=_("Remove the SLA."))] = False,
    unit_price: Annotated[str | None, typer.Option("--unit-price", help=_("New price per delivered unit."))] = None,
    billing_mode: Annotated[str | None, typer.Option("--billing-mode", help=_("unit or hours."))] = None,
    hourly_rate: Annotated[str | None, typer.Option("--hourly-rate", help=_(
        "Price per handling hour (billing mode hours)."))] = None,
    lease_seconds: Annotated[int | None, typer.Option("--lease-seconds", help=_(
        "The project's own lease length, 10 to 86400 seconds."))] = None,
    pause: Annotated[bool, typer.Option("--pause", help=_("Pause: dispatch hands out no new tasks of it."))] = False,
    resume: Annotated[bool, typer.Option("--resume", help=_("Resume a paused project."))] = False,
) -> None:
    if sla_minutes is not None and no_sla:
        raise fail(_("give --sla-minutes or --no-sla, not both"))
    if pause and resume:
        raise fail(_("give --pause or --resume, not both"))
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if instructions_file is not None:
        try:
            changes["instructions"] = instructions_file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise fail(_("{file}: not UTF-8 text").format(file=instructions_file)) from None
    if sla_minutes is not None or no_sla:
        changes["sla_minutes"] = None if no_sla else sla_minutes
    if unit_price is not None:
        changes["unit_price"] = unit_price
    if billing_mode is not None:
        changes["billing_mode"] = billing_mode
    if hourly_rate is not None:
        changes["hourly_rate"] = hourly_rate
    if lease_seconds is not None:
        changes["lease_seconds"] = lease_seconds
    if pause or resume:
        changes["status"] = "paused" if pause else "active"
    if not changes:
        raise fail(_("nothing to change: give at least one option (see seatflow project update --help)"))

    def run(conn: Any) -> tuple[Any, Any]:
        before = projects.get_project(conn, CLI_ACTOR, slug)
        return before, projects.update_project(conn, None, slug, changes, tz=center_zone(conf))

    conf = settings()
    with database(conf) as db:
        try:
            before, after = transact(db, run)
        except SeatflowError as exc:
            if _names_field_only_once(exc):
                raise fail(_("project {slug}: field {field!r}: {message}").format(
                    slug=slug, field=exc.field, message=said(exc.detail))) from None
            raise fail(_("project {slug}: {message}").format(slug=slug, message=said(exc.detail))) from None
    changed = [f for f in projects.CHANGEABLE if _key(getattr(before, f)) != _key(getattr(after, f))]
    if not changed:
        typer.echo(_("project {slug}: nothing changed").format(slug=after.slug))
        return
    typer.echo(_("project {slug} changed:").format(slug=after.slug))
    for f in changed:
        typer.echo(_("  {field}: {old} -> {new}").format(
            field=f, old=_shown(getattr(before, f)), new=_shown(getattr(after, f))))
    if "status" in changed:
        typer.echo(_("running servers follow within 10 seconds") if after.status == "active" else
                   _("running servers hand out no new tasks of it within 10 seconds; leases held now may "
                     "still be submitted"))


def _key(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, (Decimal, float)) else value


def _shown(value: Any) -> str:
    """A field's value for the change list: money with 4 decimals, long text shortened, none as '-'."""
    if value is None:
        return "-"
    if isinstance(value, (Decimal, float)):
        return str(Decimal(str(value)).quantize(Decimal("0.0001")))
    text = " ".join(str(value).split())
    if not text:
        return '""'
    return text if len(text) <= 60 else text[:57] + "..."


@project_app.command("from-labelstudio", help=_(
    "Create a project from a Label Studio labeling config (XML); lists what did not map."))
def project_from_labelstudio(
    config: Annotated[Path, typer.Argument(help=_("The labeling config, e.g. config.xml"), exists=True,
                                           dir_okay=False)],
    client: Annotated[str, typer.Option("--client", help=_("Client slug."))],
    slug: Annotated[str, typer.Option("--slug", help=_("Slug of the new project."))],
    name: Annotated[str | None, typer.Option(help=_("Project name (default: the slug)."))] = None,
    workflow: Annotated[str, typer.Option(help=_("Workflow, e.g. 'annotate(overlap=1) -> review(sample_rate=0.1)'."))]
    = "annotate(overlap=1)",
) -> None:
    from seatflow.formats.labelstudio import translate_config

    try:
        text = config.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(_("{file}: not UTF-8 text").format(file=config)) from None
    try:
        tr = translate_config(text, source=str(config))
    except SeatflowError as exc:
        raise fail(exc.detail) from None
    spec = {"slug": slug, "name": name or slug, "client": client, "work_type": tr.work_type,
            "label_schema": tr.label_schema, "workflow": workflow}
    with database(settings()) as db:
        try:
            pid = transact(db, lambda c: projects.create_project(c, None, spec))
        except SeatflowError as exc:
            raise fail(f"{config}: {said(exc.detail)}") from None
    typer.echo(_("created project {slug} (id {id}), a {work_type} project").format(slug=slug, id=pid,
                                                                                  work_type=tr.work_type))
    typer.echo(json.dumps(tr.label_schema, ensure_ascii=False))
    if tr.unmapped:
        typer.echo(_("not mapped from {file}:").format(file=config.name))
        for line in tr.unmapped:
            typer.echo(f"  - {said(line)}")
    typer.echo(_("next: seatflow import {slug} EXPORT.json --format labelstudio --as gold").format(slug=slug))


def status_command(
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    with database(settings()) as db, db.read() as conn:
        rows = status.project_status(conn, None)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(_("no projects yet: create one with `seatflow project create --file project.yaml`"))
        return
    table = Table(title=_("Projects"))
    for header in (_("project"), _("client"), _("work type")):
        table.add_column(header)
    for header in (_("items"), _("backlog"), _("in progress"), _("done"), _("at risk"), _("overdue")):
        table.add_column(header, justify="right")
    for r in rows:
        table.add_row(r.slug, r.client, r.work_type, str(r.items), str(r.backlog), str(r.in_progress), str(r.done),
                      str(r.at_risk), str(r.overdue))
    print_table(table)
