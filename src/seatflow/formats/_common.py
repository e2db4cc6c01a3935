"""What every format shares: import modes, the context a reader or writer works in, records that say where
they came from, warnings that are listed rather than fatal, and file entries that writers stream out."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from seatflow.errors import ImportFailed
from seatflow.i18n.message import Msg
from seatflow.media import MediaStore, is_remote
from seatflow.services.imports import Record

MAX_WARNING_EXAMPLES = 5


class Mode(StrEnum):
    """What annotations found in the input become."""

    ITEMS = "items"  # items only; annotations in the input are ignored (and counted in a warning)
    PREDICTIONS = "predictions"  # payload.predictions: a model's pre-annotation, shown for correction
    GOLD = "gold"  # payload.gold: the known answer of a gold (honeypot) item


@dataclass
class FormatRecord(Record):
    """A record that names its origin in the input, e.g. ``instances.json images[3] (id 17)``."""

    where: str = ""
    origins: dict[str, list[str]] = field(default_factory=dict)  # "boxes" -> ["annotation id 5", ...]


class Warnings:
    """Problems that do not stop an import (a shape the project cannot hold, a setting that did not map).

    Counted per kind, with the first few places shown; the CLI and the API list them.
    """

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, message: Msg, where: str | None = None) -> None:
        entry = self.kinds.setdefault(kind, {"message": message, "count": 0, "examples": []})
        entry["count"] += 1
        if where and len(entry["examples"]) < MAX_WARNING_EXAMPLES:
            entry["examples"].append(where)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def lines(self) -> list[Msg]:
        """One line per kind of warning, as a ``Msg`` (the CLI says it in its language)."""
        out = []
        for entry in self.kinds.values():
            message, count, examples = entry["message"], entry["count"], entry["examples"]
            if count > 1 and examples:
                text = Msg("{message} ({count} times, e.g. {examples})", message=message, count=count,
                           examples=", ".join(examples))
            elif count > 1:
                text = Msg("{message} ({count} times)", message=message, count=count)
            elif examples:
                text = Msg("{message} ({example})", message=message, example=examples[0])
            else:
                text = message
            out.append(text)
        return out

    def as_list(self) -> list[dict[str, Any]]:
        return [{"message": e["message"], "count": e["count"], "examples": list(e["examples"])}
                for e in self.kinds.values()]


@dataclass
class ImportContext:
    """What a reader needs to know about the project it reads for."""

    project_slug: str
    work_type: str
    schema: dict[str, Any]  # the project's label schema as stored
    mode: Mode = Mode.ITEMS
    model: str | None = None  # model name for predictions (a format's own name when absent)
    media: MediaStore | None = None  # where image files found beside the input are copied
    mapping: dict[str, str] = field(default_factory=dict)  # csv/jsonl: source column -> target field
    warnings: Warnings = field(default_factory=Warnings)

    # -- schema helpers (image projects) ---------------------------------------------------------
    @property
    def tools(self) -> list[str]:
        return list(self.schema.get("tools") or [])

    @property
    def labels(self) -> list[str]:
        return [lb["name"] for lb in self.schema.get("labels") or []]

    @property
    def keypoint_names(self) -> list[str]:
        kp = self.schema.get("keypoints") or {}
        return list(kp.get("names") or [])

    @property
    def keypoint_label(self) -> str | None:
        kp = self.schema.get("keypoints") or {}
        label = kp.get("label")
        return str(label) if label is not None else None


class RecordSource:
    """A re-readable source of records. The importer reads it twice: once to check everything, once to
    write. ``write`` is False on the checking pass: nothing outside the source (media) is touched then."""

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - most sources hold nothing
        """Remove staging files."""

    def __enter__(self) -> RecordSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FnSource(RecordSource):
    def __init__(self, fn: Callable[[bool], Iterator[FormatRecord]]) -> None:
        self.fn = fn

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        return self.fn(write)


def json_error(exc: Exception) -> str:
    """A JSON parser's complaint on one line. ijson's C backend gives bytes over three lines (the message,
    the text around the place and a caret); the error must stay one readable line."""
    message: Any = exc.args[0] if exc.args else ""
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    lines = str(message).strip().splitlines()
    text = lines[0].strip() if lines else type(exc).__name__
    if "UTF8" in text or "UTF-8" in text:
        return Msg("{why}; save the file as UTF-8", why=text)
    return text


def bad(where: str, message: Msg, *, file: Path | str, line: int | None = None, field: str | None = None) -> NoReturn:
    """Stop the import: the message starts with the place in the input (file, line or element, field)."""
    text = (Msg("{where}: {field}: {message}", where=where, field=field, message=message) if field
            else Msg("{where}: {message}", where=where, message=message))
    raise ImportFailed(text, file=str(file), line=line, field=field)


def attach(payload: dict[str, Any], answer: dict[str, Any], ctx: ImportContext, where: str, *,
           model: str | None = None, score: float | None = None, default_model: str = "import",
           annotated: bool = False) -> None:
    """Put an answer found in the input where the import mode says (or count it as ignored).

    ``annotated``: the input says this item was labelled, so an empty answer ("nothing here") is
    still a gold answer; an empty prediction is never stored.
    """
    if not any(answer.get(k) for k in answer):
        if ctx.mode is Mode.GOLD and annotated:
            payload["gold"] = {}
        return
    if ctx.mode is Mode.ITEMS:
        ctx.warnings.add("ignored-annotations", Msg("annotations were not imported (--as items); use --as "
                             "predictions or --as gold to keep them"), where)
        return
    if ctx.mode is Mode.GOLD:
        payload["gold"] = strip_scores(answer)
        return
    pred = dict(answer)
    pred["model"] = model or ctx.model or default_model
    if score is not None:
        pred["score"] = score
    payload["predictions"] = pred


def strip_scores(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without the model's per-shape scores (a gold answer is a plain answer)."""
    out = {k: v for k, v in answer.items() if k not in ("model", "score")}
    for part in ("boxes", "keypoints", "polygons"):
        if part in out:
            out[part] = [{k: v for k, v in shape.items() if k != "score"} for shape in out[part]]
    return out


def finite(value: Any, where: str, field: str, *, file: Path | str, line: int | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        bad(where, Msg("expected a number, got {got!r}", got=value), file=file, line=line, field=field)
    return float(value)


def clean_number(value: float) -> float | int:
    """6 decimals at most (sub-micro-pixel noise of conversions removed); integral values as ints."""
    r = round(value, 6)
    return int(r) if float(r).is_integer() else r


# -- export side ---------------------------------------------------------------------------------


@dataclass
class ExportRow:
    """One done item as the writers see it."""

    item_id: int
    external_id: str
    batch_id: int | None
    payload: dict[str, Any]
    answers: list[dict[str, Any]]  # accepted answers: {"answer": ..., "slot": ..., ("worker_id": ...)}
    done_at: str | None
    aggregate: dict[str, Any] | None = None  # items.aggregate (overlap / dynamic overlap on class work)
    confidence: float | None = None  # items.confidence: the aggregate's posterior

    @property
    def answer(self) -> dict[str, Any] | None:
        """The item's answer: a decided appeal's outcome, else the first accepted one."""
        if self.answers and "appeal_id" in self.answers[-1]:
            return self.answers[-1]["answer"]
        return self.answers[0]["answer"] if self.answers else None


def clean_aggregate(aggregate: Any, confidence: Any) -> tuple[dict[str, Any] | None, float | None]:
    """A stored aggregate and confidence as exports state them: the aggregate when it is a mapping with
    a class ``label``, the confidence when it is a number from 0 to 1; otherwise None (never an error:
    an export or a delivery must not fail on one odd row)."""
    if not isinstance(aggregate, dict) or not isinstance(aggregate.get("label"), str):
        return None, None
    ok = isinstance(confidence, int | float) and not isinstance(confidence, bool) and 0.0 <= confidence <= 1.0
    return aggregate, float(confidence) if ok else None


def answer_in_force(answers: list[dict[str, Any]]) -> Any:
    """The single answer an export states for an item: a decided appeal's outcome (which comes last in the
    result), or the only accepted answer; None when several answers stand side by side (overlap)."""
    if answers and "appeal_id" in answers[-1]:
        return answers[-1]["answer"]
    return answers[0]["answer"] if len(answers) == 1 else None


@dataclass
class ExportContext:
    project_slug: str
    project_name: str
    work_type: str
    schema: dict[str, Any]
    batch_id: int | None = None
    media: MediaStore | None = None  # set: image files are bundled (YOLO, VOC)
    aggregated: bool = False  # class work with overlap > 1 (or dynamic): items carry an aggregate (CSV columns)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: Warnings = field(default_factory=Warnings)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def labels(self) -> list[str]:
        return [lb["name"] for lb in self.schema.get("labels") or []]

    @property
    def keypoint_names(self) -> list[str]:
        kp = self.schema.get("keypoints") or {}
        return list(kp.get("names") or [])

    @property
    def keypoint_label(self) -> str | None:
        kp = self.schema.get("keypoints") or {}
        return kp.get("label")


@dataclass
class Entry:
    """One file of an export: its path inside the export and its bytes, streamed."""

    path: str
    chunks: Iterable[bytes]


def media_file_name(row: ExportRow) -> str:
    """The image's path inside an export: the name it was imported under, else its external id."""
    meta = row.payload.get("meta") or {}
    name = meta.get("file_name") or row.external_id
    image = str(row.payload.get("image") or "")
    suffix = PurePosixPath(image.split("?")[0]).suffix if image else ""
    path = PurePosixPath(str(name).replace("\\", "/"))
    parts = [p for p in path.parts if p not in ("", ".", "..", "/")]
    clean = "/".join(parts) or f"item-{row.item_id}"
    if not PurePosixPath(clean).suffix and suffix:
        clean += suffix
    return clean


def media_entry(row: ExportRow, ctx: ExportContext, prefix: str) -> Entry | None:
    """The item's image bundled into the export, when asked for and kept in the media store."""
    image = str(row.payload.get("image") or "")
    if ctx.media is None or not image:
        return None
    if is_remote(image):
        ctx.warnings.add("remote-media", Msg("images referenced by URL were not bundled; the export names their URL"),
                         row.external_id)
        return None
    if not ctx.media.exists(image):
        ctx.warnings.add("missing-media", Msg("images missing from the media store were not bundled"), row.external_id)
        return None
    ctx.count("media_files")
    return Entry(f"{prefix}{media_file_name(row)}", ctx.media.open_chunks(image))


def pair_keypoints(answer: dict[str, Any], default_label: str | None) -> list[tuple[dict[str, Any] | None,
                                                                                      dict[str, Any] | None]]:
    """Objects of an image answer as (box, keypoint set) pairs.

    A keypoint set belongs to the n-th box of its label when it is the n-th set of that label (imports
    write them in that order); a set without such a box stands alone, and so does a box without a set.
    """
    boxes = list(answer.get("boxes") or [])
    sets = list(answer.get("keypoints") or [])
    by_label: dict[str, list[int]] = {}
    for i, box in enumerate(boxes):
        by_label.setdefault(box["label"], []).append(i)
    taken: dict[int, dict[str, Any]] = {}
    alone: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for kps in sets:
        label = kps.get("label") or default_label or ""
        n = seen.get(label, 0)
        seen[label] = n + 1
        candidates = by_label.get(label, [])
        if n < len(candidates):
            taken[candidates[n]] = kps
        else:
            alone.append(kps)
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [
        (box, taken.get(i)) for i, box in enumerate(boxes)]
    pairs += [(None, kps) for kps in alone]
    return pairs


def points_extent(points: Iterable[Iterable[float]]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []
    for p in points:
        q = list(p)
        if len(q) >= 3 and q[2] == 0:
            continue
        xs.append(q[0])
        ys.append(q[1])
    if not xs:
        return None
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
