"""Translations: gettext catalogs (.po) for en and zh_CN, compiled in memory at first use."""

from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("zh_CN", "en")
LANG_COOKIE = "seatflow_lang"  # the language a person chose on a page (see seatflow.web.pages)
_DIR = Path(__file__).parent


@lru_cache(maxsize=8)
def translations(locale: str) -> gettext.NullTranslations:
    po = _DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def accepted_locale(header: str) -> str | None:
    """The first supported language of an Accept-Language header, honouring q-values."""
    choices: list[tuple[float, int, str]] = []
    for pos, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        tag = tag.strip().lower().replace("_", "-")
        if tag.startswith("zh"):
            choices.append((q, pos, "zh_CN"))
        elif tag.startswith("en"):
            choices.append((q, pos, "en"))
    choices = [c for c in choices if c[0] > 0]
    if not choices:
        return None
    choices.sort(key=lambda c: (-c[0], c[1]))
    return choices[0][2]
