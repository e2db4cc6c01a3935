"""Translations for the command line.

The CLI speaks English unless ``SEATFLOW_LANG`` (or, failing that, ``LANG``) names Chinese
(``zh``, ``zh_CN``, ``zh_CN.UTF-8``, ...). Messages are plain ``_("...")`` literals so that the
catalog tools can extract them; placeholders are filled with ``.format()`` after translation.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from . import translations


def cli_locale() -> str:
    """``"zh_CN"`` or ``"en"`` from SEATFLOW_LANG, else LANG; English by default."""
    raw = os.environ.get("SEATFLOW_LANG") or os.environ.get("LANG") or ""
    return "zh_CN" if raw.strip().lower().startswith("zh") else "en"


def gettext_for_cli() -> Callable[[str], str]:
    """The gettext function of the CLI's current language."""
    return translations(cli_locale()).gettext


def _(message: str) -> str:
    """Translate one CLI message into the CLI's language."""
    return gettext_for_cli()(message)
