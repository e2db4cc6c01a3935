"""Jinja2 rendering with the user's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from seatflow.domain.actors import Actor

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)


def pick_locale(request: Request, actor: Actor | None, lang: str | None = None) -> str:
    if lang in ("en", "zh_CN"):
        return lang
    if actor is not None:
        return actor.locale
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "zh_CN"


def render(request: Request, template: str, context: dict[str, Any], *, actor: Actor | None,
           lang: str | None = None, status_code: int = 200) -> HTMLResponse:
    from seatflow.i18n import translations

    locale = pick_locale(request, actor, lang)
    t = translations(locale)
    html = _env.get_template(template).render(
        request=request, actor=actor, locale=locale, _=t.gettext, gettext=t.gettext, ngettext=t.ngettext,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
