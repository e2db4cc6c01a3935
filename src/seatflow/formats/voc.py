"""Pascal VOC XML (one ``<annotation>`` file per image), in and out.

Reading: a folder (``Annotations/*.xml`` or any ``*.xml`` below it) or one XML file. Each file is
one item and references nothing else, so records stream one file at a time; XML is parsed with
defusedxml (no entity expansion). ``filename`` is the external id; the image is copied into the
media store when it lies in ``JPEGImages/`` or beside the XML. VOC pixel indexes are 1-based and
inclusive, so a box ``xmin..xmax`` becomes ``x = xmin - 1``, ``w = xmax - xmin + 1`` (and back on
export). ``difficult``, ``truncated``, ``occluded`` and ``pose`` become box attributes when the
project defines attributes of those names; otherwise they are dropped with a listed warning.

Writing: ``Annotations/<name>.xml`` per done item, ``ImageSets/Main/default.txt`` (the names,
spilled to a temporary file while streaming), ``labels.txt`` and, with media, ``JPEGImages/<name>``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse as parse_xml

from seatflow.errors import ImportFailed
from seatflow.i18n.message import Msg

from ._common import (
    Entry,
    ExportContext,
    ExportRow,
    FormatRecord,
    ImportContext,
    RecordSource,
    attach,
    bad,
    clean_number,
    media_entry,
    media_file_name,
)

NAME = "voc"
SUFFIX = ".zip"
MULTI_FILE = True
WORK_TYPES = ("image_annotation",)
FLAGS = ("difficult", "truncated", "occluded")


class VocSource(RecordSource):
    def __init__(self, path: Path, ctx: ImportContext) -> None:
        self.ctx = ctx
        if path.is_file():
            self.root = path.parent
            self.files = [path]
        elif path.is_dir():
            self.root = path
            ann = path / "Annotations"
            self.files = sorted((ann if ann.is_dir() else path).rglob("*.xml"))
            if not self.files:
                raise ImportFailed(Msg("{path}: no .xml annotation files (Annotations/*.xml)", path=str(path)),
                                   file=str(path))
        else:
            raise ImportFailed(Msg("{path}: no such file or folder", path=str(path)), file=str(path))
        self.attrs = {a["name"]: a for a in ctx.schema.get("attributes") or []}

    def _image_file(self, xml: Path, folder: str | None, filename: str) -> Path | None:
        for cand in (self.root / "JPEGImages" / filename, xml.parent / filename,
                     self.root / (folder or "") / filename, xml.parent.parent / "JPEGImages" / filename):
            try:
                if cand.is_file() and self.root.resolve() in cand.resolve().parents:
                    return cand
            except OSError:
                continue
        return None

    def records(self, *, write: bool) -> Iterator[FormatRecord]:
        for n, xml in enumerate(self.files, start=1):
            shown = xml.relative_to(self.root).as_posix() if self.root in xml.parents else xml.name
            try:
                tree = parse_xml(str(xml))
            except ParseError as exc:
                line = exc.position[0] if exc.position else None
                bad(f"{shown}:{line}" if line else shown, Msg("not valid XML ({why})", why=str(exc)), file=xml,
                    line=line)
            except DefusedXmlException as exc:
                bad(shown, Msg("refused: {why}", why=str(exc)), file=xml)
            root = tree.getroot()
            if root.tag != "annotation":
                bad(shown, Msg("the root element must be <annotation>, got <{tag}>", tag=root.tag), file=xml)
            filename = (root.findtext("filename") or "").strip()
            if not filename:
                bad(shown, Msg("is missing"), file=xml, field="filename")
            width = _int(root.findtext("size/width"), shown, "size/width", xml)
            height = _int(root.findtext("size/height"), shown, "size/height", xml)
            media = self.ctx.media
            local = self._image_file(xml, (root.findtext("folder") or "").strip() or None, filename) \
                if media is not None else None
            if local is not None and media is not None:
                ref = f"{self.ctx.project_slug}/{filename}"
                if write:
                    media.put_file(ref, str(local))
            else:
                ref = filename
                if not write:
                    self.ctx.warnings.add("voc-no-files", Msg("image files were not found (JPEGImages/ or beside the "
                                                              "XML); items refer to their filename in the media "
                                                              "store"), shown)
            payload: dict[str, Any] = {"image": ref, "width": width, "height": height,
                                       "meta": {"file_name": filename}}
            boxes = []
            for k, obj in enumerate(root.findall("object")):
                where = f"{shown} object[{k}]"
                label = (obj.findtext("name") or "").strip()
                if not label:
                    bad(where, Msg("is missing"), file=xml, field="name")
                xmin, ymin, xmax, ymax = (_num(obj.findtext(f"bndbox/{t}"), where, f"bndbox/{t}", xml)
                                          for t in ("xmin", "ymin", "xmax", "ymax"))
                if xmax < xmin or ymax < ymin:
                    bad(where, Msg("xmax/ymax ({xmax}, {ymax}) must not be below xmin/ymin ({xmin}, {ymin})", xmax=xmax,
                                   ymax=ymax, xmin=xmin, ymin=ymin),
                        file=xml, field="bndbox")
                box: dict[str, Any] = {"label": label, "x": clean_number(xmin - 1), "y": clean_number(ymin - 1),
                                       "w": clean_number(xmax - xmin + 1), "h": clean_number(ymax - ymin + 1)}
                attrs = self._attributes(obj, where, write)
                if attrs:
                    box["attributes"] = attrs
                boxes.append(box)
            answer: dict[str, Any] = {}
            if boxes:
                if "bbox" in self.ctx.tools:
                    answer["boxes"] = boxes
                elif not write:
                    self.ctx.warnings.add("voc-no-bbox", Msg("boxes were not imported: the project has no bbox tool"),
                                          shown)
            attach(payload, answer, self.ctx, shown, default_model="voc", annotated=True)
            yield FormatRecord(str(xml), n, {"external_id": filename, "payload": payload}, where=shown)

    def _attributes(self, obj: Any, where: str, write: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for flag in FLAGS:
            text = obj.findtext(flag)
            if text is None or not text.strip():
                continue
            if self.attrs.get(flag, {}).get("type") == "bool":
                out[flag] = text.strip() in ("1", "true", "True")
            elif text.strip() not in ("0", "") and not write:
                self.ctx.warnings.add(f"voc-{flag}", Msg("<{flag}> was dropped: the project has no yes/no attribute "
                                                         "{flag!r}", flag=flag), where)
        pose = (obj.findtext("pose") or "").strip()
        if pose and pose != "Unspecified":
            attr = self.attrs.get("pose")
            if attr and (attr["type"] == "text" or pose in (attr.get("choices") or [])):
                out["pose"] = pose
            elif not write:
                self.ctx.warnings.add("voc-pose", Msg("<pose> was dropped: the project has no attribute 'pose' "
                                                      "with that value"), where)
        return out


def _int(text: str | None, where: str, field: str, file: Path) -> int:
    try:
        value = float((text or "").strip())
    except ValueError:
        bad(where, Msg("must be a whole number of pixels, got {got!r}", got=text), file=file, field=field)
    if not value.is_integer() or value <= 0:
        bad(where, Msg("must be a whole number of pixels above 0, got {got!r}", got=text), file=file, field=field)
    return int(value)


def _num(text: str | None, where: str, field: str, file: Path) -> float:
    try:
        return float((text or "").strip())
    except ValueError:
        bad(where, Msg("must be a number, got {got!r}", got=text), file=file, field=field)


def read(path: Path, ctx: ImportContext) -> RecordSource:
    return VocSource(path, ctx)


# -- writing -------------------------------------------------------------------------------------


def _text(parent: Element, tag: str, value: Any) -> Element:
    el = SubElement(parent, tag)
    el.text = str(value)
    return el


def _n(value: float) -> str:
    v = clean_number(value)
    return str(v)


def xml_of(row: ExportRow, ctx: ExportContext, file_name: str) -> bytes:
    root = Element("annotation")
    _text(root, "folder", "JPEGImages")
    _text(root, "filename", file_name)
    src = SubElement(root, "source")
    _text(src, "database", f"Seatflow {ctx.project_slug}")
    size = SubElement(root, "size")
    _text(size, "width", row.payload.get("width"))
    _text(size, "height", row.payload.get("height"))
    _text(size, "depth", 3)
    _text(root, "segmented", 0)
    answer = row.answer or {}
    for box in answer.get("boxes") or []:
        obj = SubElement(root, "object")
        _text(obj, "name", box["label"])
        attrs = box.get("attributes") or {}
        _text(obj, "pose", attrs.get("pose", "Unspecified"))
        for flag in FLAGS:
            if flag in attrs or flag != "occluded":
                _text(obj, flag, int(bool(attrs.get(flag, False))))
        bb = SubElement(obj, "bndbox")
        _text(bb, "xmin", _n(box["x"] + 1))
        _text(bb, "ymin", _n(box["y"] + 1))
        _text(bb, "xmax", _n(box["x"] + box["w"]))
        _text(bb, "ymax", _n(box["y"] + box["h"]))
        ctx.count("objects")
    if answer.get("polygons") or answer.get("keypoints"):
        ctx.warnings.add("voc-shapes",
                         Msg("polygons and keypoints are not part of Pascal VOC detection files; use COCO"),
                         row.external_id)
    return tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write(rows: Iterable[ExportRow], ctx: ExportContext) -> Iterator[Entry]:
    names = tempfile.TemporaryFile(mode="w+b")
    try:
        for row in rows:
            file_name = media_file_name(row)
            p = PurePosixPath(file_name)
            stem = p.with_suffix("").as_posix() if p.suffix else p.as_posix()
            yield Entry(f"Annotations/{stem}.xml", [xml_of(row, ctx, file_name)])
            names.write(f"{stem}\n".encode())
            ctx.count("images")
            image = media_entry(row, ctx, "JPEGImages/")
            if image is not None:
                yield image
        names.seek(0)
        yield Entry("ImageSets/Main/default.txt", iter(lambda: names.read(1 << 16), b""))
        yield Entry("labels.txt", ["".join(f"{n}\n" for n in ctx.labels).encode()])
    finally:
        names.close()
