"""`inspect start|show|judge`: acceptance inspection of a delivered batch; `quality report` and
`quality suspicious` (added to the `quality` group).

The CLI acts as a named user (``--by``): an inspection records who started it and who judged each
item, and a rejection's findings reach the workers as that user's review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from seatflow.domain.actors import Actor
from seatflow.domain.clock import utcnow
from seatflow.i18n.cli import _
from seatflow.services import acceptance, accounts, quality_report
from seatflow.services._tx import transact
from seatflow.store import catalog
from seatflow.store.engine import Database

from ._common import CLI_ACTOR, database, fail, new_app, print_table, settings
from .quality import quality_app

inspect_app = new_app(_("Acceptance inspection of a delivered batch (ISO 2859-1 single sampling, normal "
                        "inspection)."))

By = Annotated[str, typer.Option("--by", help=_("Act as this user (a manager, admin or the client's user)."))]


def _actor(db: Database, username: str) -> Actor:
    with db.read() as conn:
        row = catalog.user_by_username(conn, username)
    if row is None or not row.active:
        raise fail(_("--by: no active user {username!r}").format(username=username))
    return accounts.actor_of(row)


def _state(state: str) -> str:
    """An inspection's state in the CLI's language (the codes stay in --json)."""
    names = {"open": _("being inspected"), "accepted": _("accepted"), "rejected": _("rejected")}
    return names.get(state, state)


def _verdict(verdict: str | None) -> str:
    return {"ok": _("ok"), "defective": _("defective")}.get(verdict or "", verdict or "-")


def _show(data: dict[str, Any]) -> None:
    p = data["plan"]
    typer.echo(_("inspection {id} of batch {batch} ({state}): lot {lot}, AQL {aql:g}, level {level}, code {code}, "
                 "sample {n}, Ac {ac}, Re {re}, seed {seed}").format(
        id=data["id"], batch=data["batch"]["id"], state=_state(data["state"]), lot=p["lot_size"], aql=p["aql"],
        level=p["level"], code=p["code"], n=p["sample_size"], ac=p["ac"], re=p["re"], seed=data["seed"]))
    table = Table(title=_("Sample"))
    for header in (_("item"), _("external id"), _("verdict"), _("error tags"), _("comment")):
        table.add_column(header)
    for s in data.get("sample", []):
        table.add_row(str(s["item_id"]), s["external_id"], _verdict(s["verdict"]), ", ".join(s["error_tags"]),
                      s["comment"] or "")
    print_table(table)
    if data["state"] != "open":
        typer.echo(_("{state}: {defects} defective in the sample").format(state=_state(data["state"]),
                                                                         defects=data["defects"]))


@inspect_app.command("start", help=_("Start the inspection of a delivered batch and draw its sample."))
def start(
    batch: Annotated[int, typer.Option("--batch", help=_("The batch's id."))],
    by: By,
    aql: Annotated[float, typer.Option("--aql", help=_("Acceptable quality level (ISO 2859-1's values)."))] = 1.0,
    level: Annotated[str, typer.Option("--level", help=_("General inspection level: I, II or III."))] = "II",
    on_reject: Annotated[str, typer.Option("--on-reject", help=_("Rework on rejection: defective or lot."))]
    = "defective",
    seed: Annotated[str | None, typer.Option("--seed", help=_("Seed of the sample."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    with database(settings()) as db:
        actor = _actor(db, by)
        data = transact(db, lambda c: acceptance.start(c, actor, batch, aql=aql, level=level, seed=seed,
                                                       on_reject=on_reject, now=utcnow()))
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _show(data)


@inspect_app.command("show", help=_("An inspection's plan, sample and verdicts."))
def show(
    inspection: Annotated[int, typer.Argument(help=_("The inspection's id."))],
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
) -> None:
    with database(settings()) as db, db.read() as conn:
        data = acceptance.get(conn, CLI_ACTOR, inspection)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _show(data)


@inspect_app.command("judge", help=_("Judge a sampled item ok or defective; the last verdict decides the batch."))
def judge(
    inspection: Annotated[int, typer.Argument(help=_("The inspection's id."))],
    item: Annotated[int, typer.Argument(help=_("The sampled item's id."))],
    verdict: Annotated[str, typer.Argument(help=_("ok or defective"))],
    by: By,
    tag: Annotated[list[str] | None, typer.Option("--tag", help=_("An error tag (repeat for more)."))] = None,
    comment: Annotated[str | None, typer.Option("--comment", help=_("What is wrong."))] = None,
) -> None:
    with database(settings()) as db:
        actor = _actor(db, by)
        data = transact(db, lambda c: acceptance.judge(c, actor, inspection, item, verdict=verdict,
                                                       error_tags=tag or None, comment=comment, now=utcnow()))
    typer.echo(_("inspection {id}: {judged} of {n} judged, {state}").format(
        id=data["id"], judged=data["judged"], n=len(data["sample"]), state=_state(data["state"])))


@quality_app.command("report", help=_("The quality report of a project or batch: gold accuracy, agreement, "
                                      "findings, inspections and the per-worker table."))
def report(
    project: Annotated[str, typer.Option("--project", help=_("The project's slug."))],
    batch: Annotated[int | None, typer.Option("--batch", help=_("One batch of the project."))] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help=_("Write to this file (.csv or .json)."))] = None,
) -> None:
    with database(settings()) as db, db.read() as conn:
        data = quality_report.report(conn, CLI_ACTOR, project, batch)
    if out_file is None:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if out_file.suffix.lower() not in (".csv", ".json"):
        raise fail(_("--out: name a .csv or .json file, got {path}").format(path=out_file))
    text = quality_report.as_csv(data) if out_file.suffix.lower() == ".csv" else \
        json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    out_file.write_text(text, encoding="utf-8")
    typer.echo(_("wrote {path}").format(path=out_file))


@quality_app.command("suspicious", help=_("Flag answers that disagree with the aggregate or a model's "
                                          "probabilities, and route them to review."))
def suspicious(
    project: Annotated[str, typer.Argument(help=_("The project's slug."))],
    by: By,
    batch: Annotated[int | None, typer.Option("--batch", help=_("One batch of the project."))] = None,
    threshold: Annotated[float, typer.Option("--threshold", help=_("Flag below this probability."))] = 0.2,
    method: Annotated[str, typer.Option("--method", help=_("majority or dawid_skene"))] = "majority",
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("Flag only; create no review tasks."))] = False,
) -> None:
    with database(settings()) as db:
        actor = _actor(db, by)
        data = transact(db, lambda c: acceptance.flag_suspicious(
            c, actor, project, batch_id=batch, threshold=threshold, method=method, route=not dry_run, now=utcnow()))
    table = Table(title=_("Suspicious answers"))
    for header in (_("item"), _("worker"), _("answer"), _("expected"), _("probability"), _("reason"), _("review")):
        table.add_column(header)
    for f in data["flagged"]:
        table.add_row(f["external_id"], f["worker"], f["label"], f["expected"], f"{f['probability']:.2f}",
                      f["reason"], f["review"])
    print_table(table)
    typer.echo(_("{n} flagged, {routed} sent to review, {pending} already waiting for review").format(
        n=len(data["flagged"]), routed=data["routed"], pending=data["already_in_review"]))
