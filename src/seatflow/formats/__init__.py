"""Interchange formats, in and out: one small module per format.

Each module has ``NAME``, ``SUFFIX`` (of a single-file export), ``MULTI_FILE`` (exported as a zip or a
folder), ``WORK_TYPES`` (the work types it fits; empty: all), a reader ``read(path, ctx)`` returning a
re-readable :class:`~seatflow.formats._common.RecordSource` of import records, and a writer
``write(rows, ctx)`` yielding the export's files as streamed :class:`~seatflow.formats._common.Entry`.
Imports go through :mod:`seatflow.formats.importer` (check everything, then write); exports through
:mod:`seatflow.services.exports`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg

IMPORT_FORMATS = ("coco", "yolo", "voc", "labelstudio", "jsonl", "csv", "manifest")
EXPORT_FORMATS = ("jsonl", "csv", "coco", "yolo", "voc", "labelstudio")
_MODULES = {"coco": "coco", "yolo": "yolo", "voc": "voc", "labelstudio": "labelstudio", "jsonl": "csvjsonl",
            "csv": "csvjsonl", "manifest": "manifest"}


def get_format(name: str) -> Any:
    """The module of a format; jsonl and csv share one (see ``csvjsonl``)."""
    if name not in _MODULES:
        raise ValidationFailed(Msg("unknown format {name!r}; known: {known}", name=name,
                                   known=", ".join(IMPORT_FORMATS)),
                               field="format")
    module = import_module(f"{__name__}.{_MODULES[name]}")
    if name in ("jsonl", "csv"):
        return getattr(module, name.upper())
    return module


def export_format(name: str) -> Any:
    if name not in EXPORT_FORMATS:
        raise ValidationFailed(Msg("unknown export format {name!r}; known: {known}", name=name,
                                   known=", ".join(EXPORT_FORMATS)),
                               field="format")
    return get_format(name)
