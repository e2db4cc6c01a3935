"""Printed statements and reports (PDF) with reportlab.

Text uses reportlab's built-in CID font STSong-Light (Adobe's Chinese font, which every PDF reader
has), so Chinese and Latin text print without shipping a font file. A document is a title, a few
lines under it and tables; the caller passes every text already translated.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


@dataclass(frozen=True)
class PdfTable:
    heading: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: Sequence[int] = ()  # column indexes aligned right
    total_row: bool = False  # the last row is a total: bold rule above it
    first_share: float = 0.3  # the first column's share of the width; the others split the rest
    padding: float | None = None  # cell padding left and right in points (None: reportlab's 6)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(*, title: str, lines: Sequence[str], tables: Sequence[PdfTable], footer: str = "",
           author: str = "Seatflow") -> bytes:
    """The PDF bytes of a titled document with ``lines`` under the title and ``tables`` below."""
    font = _font()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=title, author=author, invariant=1)
    h1 = ParagraphStyle("h1", fontName=font, fontSize=16, leading=22, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14)
    small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.grey)
    cell = ParagraphStyle("cell", fontName=font, fontSize=9, leading=12)
    story: list = [Paragraph(_escape(title), h1)]
    story += [Paragraph(_escape(line), body) for line in lines]
    for t in tables:
        story.append(Paragraph(_escape(t.heading), h2))
        data = [[Paragraph(_escape(h), cell) for h in t.header]]
        data += [[_escape(str(v)) if i in t.numeric else Paragraph(_escape(str(v)), cell) for i, v in enumerate(row)]
                 for row in t.rows]
        width = A4[0] - 36 * mm
        first = width * t.first_share
        rest = (width - first) / max(1, len(t.header) - 1)
        table = Table(data, repeatRows=1, hAlign="LEFT", colWidths=[first] + [rest] * (len(t.header) - 1))
        style = [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
            ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#9ca3af")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f9fafb")]),
        ]
        style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i in t.numeric]
        if t.padding is not None:
            style += [("LEFTPADDING", (0, 0), (-1, -1), t.padding), ("RIGHTPADDING", (0, 0), (-1, -1), t.padding)]
        if t.total_row and t.rows:
            style.append(("LINEABOVE", (0, -1), (-1, -1), 1.0, colors.black))
        table.setStyle(TableStyle(style))
        story.append(table)
    if footer:
        story += [Spacer(1, 8 * mm), Paragraph(_escape(footer), small)]
    doc.build(story)
    return buf.getvalue()
