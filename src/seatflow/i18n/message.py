"""Messages that are English strings and can still be said in the reader's language.

Services raise errors long before anyone knows who will read them: an API client, a page in
Chinese, the CLI under ``SEATFLOW_LANG=zh_CN``. ``Msg("lot_size: must be 1 or more, got {got!r}",
got=value)`` is a ``str`` holding the English text (so logs, tests and ``in`` checks see English),
which also keeps its message id and values; ``localize(text, locale)`` says it in ``locale`` at the
edge that knows the reader. Values that are themselves ``Msg`` are translated too, so a message can
wrap another (``Msg("{field}: {why}", field=f, why=Msg(...))``).

``Msg`` is an extraction keyword of scripts/i18n_extract: its first argument is a catalog message
with ``str.format`` placeholders, which the translation must keep (tests/unit/test_i18n.py).
"""

from __future__ import annotations

from typing import Any

from . import translations


class Msg(str):
    """An English message (``str.format`` placeholders filled in) that can be translated later."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Msg:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def in_locale(self, locale: str) -> str:
        values = {k: localize(v, locale) if isinstance(v, Msg) else v for k, v in self.params.items()}
        text = translations(locale).gettext(self.msgid)
        if not values:
            return text
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that lost a placeholder: say it in English
            return self.msgid.format(**values)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (multiprocessing) keep the message id and values
        return (_rebuild, (self.msgid, self.params))


def _rebuild(msgid: str, params: dict[str, Any]) -> Msg:
    return Msg(msgid, **params)


def to_data(text: Any) -> Any:
    """``text`` as JSON-ready data to store: a ``Msg`` keeps its message id and values (``from_data`` makes
    it a ``Msg`` again, to be said in whoever's language reads it later); anything else is returned as it is."""
    if isinstance(text, Msg):
        return {"msgid": text.msgid, "params": {k: to_data(v) for k, v in text.params.items()}}
    return text


def from_data(data: Any) -> Any:
    """The inverse of :func:`to_data`; stored plain strings (and data written before messages were kept) stay as
    they are. A message whose values no longer fit its text comes back as its English text."""
    if isinstance(data, dict) and isinstance(data.get("msgid"), str):
        params = {k: from_data(v) for k, v in (data.get("params") or {}).items()}
        try:
            return Msg(data["msgid"], **params)
        except (KeyError, IndexError, ValueError):
            return data["msgid"]
    return data


def localize(text: str, locale: str) -> str:
    """``text`` in ``locale``: a ``Msg`` is translated; a plain string is looked up as it is
    (a message marked with ``N_``) and otherwise left alone."""
    if isinstance(text, Msg):
        return text.in_locale(locale)
    if not text:
        return text
    return translations(locale).gettext(text)


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a literal for the catalog without translating it here."""
    return message
