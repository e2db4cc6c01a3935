"""pydantic's validation errors said in the catalog's words, so a reader gets them in their language.

pydantic words its errors in English ("Input should be a valid integer"). Every place that turns a
``ValidationError`` into a message for a person (the API's 422 problems, answers checked against a work
type, gold scoring, the CLI's settings) asks :func:`describe` for one error's message: a ``Msg`` for the
error kinds a request or a file commonly has, with pydantic's values (limits, expected literals) filled
in; pydantic's own text for the rare rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .message import Msg

_PLAIN: dict[str, Msg] = {}
for _kinds, _msg in (
    (("missing",), Msg("this field is required")),
    (("extra_forbidden",), Msg("unknown field; remove it")),
    (("int_parsing", "int_type"), Msg("must be a whole number")),
    (("int_from_float",), Msg("must be a whole number, not a fraction")),
    (("float_parsing", "float_type", "decimal_parsing", "decimal_type"), Msg("must be a number")),
    (("string_type",), Msg("must be text (a string)")),
    (("bool_parsing", "bool_type"), Msg("must be true or false")),
    (("list_type", "tuple_type", "set_type"), Msg("must be a list")),
    (("dict_type", "model_type", "model_attributes_type"), Msg("must be an object")),
    (("datetime_parsing", "datetime_type", "datetime_from_date_parsing", "timezone_aware"),
     Msg("must be a date and time with its time zone, e.g. 2026-11-27T09:00:00+08:00")),
    (("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"),
     Msg("must be a date, e.g. 2026-11-27")),
    (("url_parsing", "url_type", "url_scheme"), Msg("must be a URL, e.g. https://example.com/a.jpg")),
):
    for _kind in _kinds:
        _PLAIN[_kind] = _msg


def _expected(ctx: Mapping[str, Any]) -> str:
    # pydantic joins the choices with an English "or": 'a', 'b' or 'c'
    return str(ctx.get("expected", "")).replace("' or '", "', '")


_WITH_VALUES: dict[str, Callable[[Mapping[str, Any]], Msg]] = {
    "literal_error": lambda c: Msg("must be one of {expected}", expected=_expected(c)),
    "enum": lambda c: Msg("must be one of {expected}", expected=_expected(c)),
    "greater_than_equal": lambda c: Msg("must be at least {limit}", limit=c.get("ge")),
    "greater_than": lambda c: Msg("must be more than {limit}", limit=c.get("gt")),
    "less_than_equal": lambda c: Msg("must be at most {limit}", limit=c.get("le")),
    "less_than": lambda c: Msg("must be less than {limit}", limit=c.get("lt")),
    "string_too_long": lambda c: Msg("must be at most {n} characters long", n=c.get("max_length")),
    "string_too_short": lambda c: Msg("must be at least {n} characters long", n=c.get("min_length")),
    "too_long": lambda c: Msg("must have at most {n} entries, not {got}", n=c.get("max_length"),
                              got=c.get("actual_length")),
    "too_short": lambda c: Msg("must have at least {n} entries, not {got}", n=c.get("min_length"),
                               got=c.get("actual_length")),
}


def describe(err: Mapping[str, Any]) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``), without its field."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in _WITH_VALUES:
        return _WITH_VALUES[kind](ctx)
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, BaseException) and cause.args and isinstance(cause.args[0], str):
            return cause.args[0]  # a validator's own message (a Msg where it is ours)
    text = str(err.get("msg") or "")
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ") or Msg("invalid value")
