"""JSONL and CSV with a column mapping, in and out.

Reading maps the input's columns (CSV) or keys (JSONL; dotted paths reach inside objects, e.g.
``meta.url``) onto a record with ``--map SOURCE=TARGET``. Targets:

- ``external_id``, ``priority``, ``deadline``: the item's own fields;
- ``payload.FIELD`` (dotted: ``payload.meta.camera``): a payload field;
- ``answer`` (JSON) or ``answer.FIELD`` (e.g. ``answer.class``): the known answer, stored as gold or as a
  model's prediction (``--as``); ``model`` and ``score``: the prediction's model name and score;
- ``-``: drop the column.

Unmapped columns keep today's meaning: ``external_id``/``priority``/``deadline``/``payload`` (JSON) are
the item's, ``answer``/``model``/``score`` as above, every other column is a payload field of that
name. JSONL lines exported by Seatflow import as they are (``item_id``, ``answers``... are ignored, and
in such a line ``aggregate`` and ``confidence`` too).
Records are independent (no cross references), so a bad record is found by the importer's checking
pass and nothing is written.

Writing: JSONL is one object per done item (the same lines as ``GET .../export.jsonl``); CSV has
``external_id, item_id, batch_id, done_at``, one ``answer.FIELD`` column per field of the work type's
answer (objects and lists as JSON) and the ``payload`` as JSON; for class and decision work with
overlap > 1 (or dynamic overlap) also ``aggregate.label``, ``aggregate.answers`` and ``confidence``
(empty where an item has no aggregate).
JSONL lines carry ``aggregate`` and ``confidence`` when the item has an aggregate (overlap > 1 or
dynamic overlap on class work).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from seatflow.errors import ImportFailed
from seatflow.i18n.message import Msg
from seatflow.services.imports import read_csv, read_jsonl
from seatflow.worktypes import get_work_type

from ._common import (
    Entry,
    ExportContext,
    ExportRow,
    FormatRecord,
    ImportContext,
    RecordSource,
    answer_in_force,
    attach,
    bad,
)

ITEM_FIELDS = ("external_id", "priority", "deadline", "media")
ANSWER_FIELDS = ("answer", "model", "score")
EXPORT_ONLY = ("item_id", "batch_id", "answers", "done_at")
# Also ignored in a line that is one of Seatflow's own JSONL exports (it has item_id and answers); in any
# other input they are payload fields like any other.
EXPORTED_EXTRAS = ("aggregate", "confidence")


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["url=payload.image", "id=external_id"]`` -> a mapping; a malformed pair names itself."""
    out: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise ImportFailed(Msg("--map {pair!r}: write SOURCE=TARGET, e.g. url=payload.image", pair=pair),
                               field="map")
        if not (target in ITEM_FIELDS or target in ANSWER_FIELDS or target == "-" or target == "payload"
                or target.startswith(("payload.", "answer."))):
            raise ImportFailed(Msg("--map {pair!r}: unknown target {target!r}; use external_id, priority, deadline, "
                                   "payload.FIELD, answer, answer.FIELD, model, score or -", pair=pair, target=target),
                               field="map")
        out[source] = target
    return out


def _get(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    if path in data:
        return True, data[path]
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _put(target: dict[str, Any], path: list[str], value: Any) -> None:
    cur = target
    for part in path[:-1]:
        nxt = cur.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ValueError(part)
        cur = nxt
    cur[path[-1]] = value


def _json_cell(value: Any, where: str, field: str, file: Path) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            bad(where, Msg("is not valid JSON ({why})", why=exc.msg), file=file, field=field)
    return value


def shape(rec_data: dict[str, Any], ctx: ImportContext, where: str, file: Path, from_csv: bool) -> dict[str, Any]:
    """One input row -> ``{"external_id", "payload", ...}`` with the answer attached as the mode says."""
    mapping = ctx.mapping
    item: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    answer: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    used_sources: set[str] = set()
    for source, target in mapping.items():
        found, value = _get(rec_data, source)
        if not found:
            continue
        used_sources.add(source.split(".")[0] if source not in rec_data else source)
        _assign(target, value, item, payload, answer, extra, where, file, source)
    exported = not from_csv and "item_id" in rec_data and "answers" in rec_data
    for key, value in rec_data.items():
        if key in used_sources or key in mapping or key in EXPORT_ONLY or (exported and key in EXPORTED_EXTRAS):
            continue
        if key == "payload":
            value = _json_cell(value, where, "payload", file) if from_csv else value
            if not isinstance(value, dict):
                bad(where, Msg("must be a JSON object"), file=file, field="payload")
            payload = {**value, **payload}
        elif key in ITEM_FIELDS or key in ANSWER_FIELDS:
            _assign(key, value, item, payload, answer, extra, where, file, key)
        else:
            payload.setdefault(key, value)
    attach(payload, answer, ctx, where, model=extra.get("model"), score=extra.get("score"),
           default_model="import", annotated="answer" in extra)
    item["payload"] = payload
    return item


def _assign(target: str, value: Any, item: dict[str, Any], payload: dict[str, Any], answer: dict[str, Any],
            extra: dict[str, Any], where: str, file: Path, source: str) -> None:
    if target == "-":
        return
    if target in ITEM_FIELDS:
        item[target] = value
    elif target == "payload":
        value = _json_cell(value, where, source, file)
        if not isinstance(value, dict):
            bad(where, Msg("must be a JSON object to be the payload"), file=file, field=source)
        payload.update(value)
    elif target.startswith("payload."):
        try:
            _put(payload, target.split(".")[1:], value)
        except ValueError as exc:
            bad(where, Msg("cannot set {target}: {part} is not an object", target=target, part=str(exc)), file=file,
                field=source)
    elif target == "answer":
        value = _json_cell(value, where, source, file)
        if value in (None, ""):
            return
        if not isinstance(value, dict):
            bad(where, Msg("the answer must be a JSON object"), file=file, field=source)
        answer.update(value)
        extra["answer"] = True
    elif target.startswith("answer."):
        if value == "":
            return
        if isinstance(value, str) and value[:1] in "[{":
            value = _json_cell(value, where, source, file)
        _put(answer, target.split(".")[1:], value)
        extra["answer"] = True
    elif target == "model":
        if value not in (None, ""):
            extra["model"] = str(value)
    elif target == "score":
        if value in (None, ""):
            return
        try:
            extra["score"] = float(value)
        except (TypeError, ValueError):
            bad(where, Msg("must be a number from 0 to 1, got {got!r}", got=value), file=file, field=source)


class _Source(RecordSource):
    def __init__(self, path: Path, ctx: ImportContext, from_csv: bool) -> None:
        if path.is_dir():
            raise ImportFailed(Msg("{path}: name a .{suffix} file, not a folder", path=str(path),
                                   suffix="csv" if from_csv else "jsonl"),
                               file=str(path))
        self.path, self.ctx, self.from_csv = path, ctx, from_csv

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        reader = read_csv if self.from_csv else read_jsonl
        for rec in reader(self.path):
            where = f"{self.path.name}:{rec.line}"
            data = shape(rec.data, self.ctx, where, self.path, self.from_csv)
            yield FormatRecord(rec.source, rec.line, data)


# -- writing -------------------------------------------------------------------------------------


def jsonl_line(row: ExportRow) -> str:
    line = {"external_id": row.external_id, "item_id": row.item_id, "batch_id": row.batch_id,
            "payload": row.payload, "answers": row.answers, "answer": answer_in_force(row.answers),
            "done_at": row.done_at}
    if row.aggregate is not None:
        line["aggregate"] = row.aggregate
        line["confidence"] = row.confidence
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def _jsonl_chunks(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[bytes]:
    buf: list[str] = []
    for row in rows:
        buf.append(jsonl_line(row))
        ctx.count("items")
        if len(buf) >= 256:
            yield "".join(buf).encode()
            buf.clear()
    if buf:
        yield "".join(buf).encode()


def answer_columns(work_type: str) -> list[str]:
    model = get_work_type(work_type).answer_model
    return [f.alias or name for name, f in model.model_fields.items()]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _csv_chunks(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[bytes]:
    cols = answer_columns(ctx.work_type)
    aggregated = ctx.aggregated  # class work with overlap: the aggregate's columns
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["external_id", "item_id", "batch_id", "done_at", *(f"answer.{c}" for c in cols), "payload",
                *(["aggregate.label", "aggregate.answers", "confidence"] if aggregated else [])])
    n = 0
    for row in rows:
        answer = row.answer or {}
        agg = row.aggregate or {}
        w.writerow([row.external_id, row.item_id, row.batch_id or "", row.done_at or "",
                    *(_cell(answer.get(c)) for c in cols), _cell(row.payload),
                    *([_cell(agg.get("label")), _cell(agg.get("answers")), _cell(row.confidence)]
                      if aggregated else [])])
        ctx.count("items")
        n += 1
        if n % 256 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


class _Format:
    MULTI_FILE = False
    WORK_TYPES: tuple[str, ...] = ()

    def __init__(self, name: str) -> None:
        self.NAME = name
        self.SUFFIX = f".{name}"

    def read(self, path: Path, ctx: ImportContext) -> RecordSource:
        return _Source(path, ctx, self.NAME == "csv")

    def write(self, rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[Entry]:
        chunks = _csv_chunks(rows, ctx) if self.NAME == "csv" else _jsonl_chunks(rows, ctx)
        yield Entry(f"{ctx.project_slug}{self.SUFFIX}", chunks)


JSONL = _Format("jsonl")
CSV = _Format("csv")
