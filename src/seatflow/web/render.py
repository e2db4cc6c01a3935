"""Jinja2 rendering in the reader's language.

Templates call ``_("text %(name)s", name=...)``: the message is translated first, then filled in,
so a translator may move the placeholder. Every string a person reads goes through ``_`` (or is
marked with ``N_`` in Python and translated when rendered), and ``scripts/i18n_extract`` finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from seatflow import __version__
from seatflow.domain.actors import Actor
from seatflow.i18n import LANG_COOKIE, LOCALES, accepted_locale, translations
from seatflow.i18n.message import Msg

from .labels import N_, role_label, work_type_label

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# Each language is named in itself (an endonym), so it is never translated.
LANGUAGE_NAMES = {"zh_CN": "简体中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}
BABEL_LOCALE = {"zh_CN": "zh_Hans_CN", "en": "en"}

Translate = Callable[..., str]
__all__ = ["N_", "LANG_COOKIE", "pick_locale", "render", "safe_next", "translator"]

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a typo in a template fails the page test instead of rendering blank
    trim_blocks=True,
    lstrip_blocks=True,
)


def pick_locale(request: Request, actor: Actor | None, lang: str | None = None) -> str:
    """An explicit choice (``lang``), else the user's own setting, the language cookie,
    the browser's Accept-Language, and finally the server's ``default_locale``."""
    if lang in LOCALES:
        return str(lang)
    if actor is not None and actor.locale in LOCALES:
        return actor.locale
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LOCALES:
        return str(cookie)
    accepted = accepted_locale(request.headers.get("accept-language", ""))
    if accepted:
        return accepted
    default = getattr(getattr(request.app.state, "settings", None), "default_locale", "zh_CN")
    return default if default in LOCALES else "zh_CN"


def translator(locale: str) -> Translate:
    """``_(message, **values)``: translate, then fill in ``%(name)s`` placeholders; a ``Msg`` (an error a
    service raised) is said in ``locale`` with its own values."""
    t = translations(locale)

    def _(message: str, **values: Any) -> str:
        if isinstance(message, Msg):  # a service's message, with its values already in it
            return message.in_locale(locale)
        text = t.gettext(message) if message else message
        return text % values if values else text

    return _


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form; anything else (another site, a scheme) falls back."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    actor: Actor | None,
    lang: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = pick_locale(request, actor, lang)
    _ = translator(locale)
    babel_locale = BABEL_LOCALE[locale]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = _env.get_template(template).render(
        request=request,
        actor=actor,
        locale=locale,
        html_lang=HTML_LANG[locale],
        languages=LANGUAGE_NAMES,
        here=here,
        version=__version__,
        _=_,
        role_label=lambda role: role_label(role, _),
        work_type_label=lambda name: work_type_label(name, _),
        num=lambda n: format_decimal(n, locale=babel_locale),
        percent=lambda x: format_percent(x, locale=babel_locale),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Content-Language": HTML_LANG[locale]})
