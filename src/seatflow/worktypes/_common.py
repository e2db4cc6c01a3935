"""Small helpers shared by the built-in work types (messages, uniqueness checks).

A worker reads these messages in the workspace when an answer is refused, in their language: every
message is a :class:`~seatflow.i18n.message.Msg` whole sentence (no English grammar assembled here).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg


class Strict(BaseModel):
    """Base for the built-in models: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


def fail(field: str, message: Msg) -> NoReturn:
    """Raise ValidationFailed whose message starts with the field, so it reads well on its own."""
    raise ValidationFailed(Msg("{field}: {message}", field=field, message=message), field=field)


def num(value: float) -> str:
    """A coordinate as a person writes it: ``10`` rather than ``10.0``, at most two decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def names(values: Iterable[str]) -> str:
    """``"dog, bird"`` or ``"(none)"``."""
    joined = ", ".join(values)
    return joined or Msg("(none)")


Unique = Literal["tool", "label name", "keypoint name", "class", "attribute name", "span label", "reason code",
                 "disposition code", "canned reply key"]


def _blank(what: Unique) -> Msg:
    if what == "tool":
        return Msg("the tool must not be empty")
    if what == "label name":
        return Msg("the label name must not be empty")
    if what == "keypoint name":
        return Msg("the keypoint name must not be empty")
    if what == "class":
        return Msg("the class must not be empty")
    if what == "attribute name":
        return Msg("the attribute name must not be empty")
    if what == "span label":
        return Msg("the span label must not be empty")
    if what == "reason code":
        return Msg("the reason code must not be empty")
    if what == "disposition code":
        return Msg("the disposition code must not be empty")
    return Msg("the canned reply key must not be empty")


def _twice(what: Unique, value: str) -> Msg:
    if what == "tool":
        return Msg("the tool {value!r} appears twice; each tool must be unique", value=value)
    if what == "label name":
        return Msg("the label name {value!r} appears twice; each label name must be unique", value=value)
    if what == "keypoint name":
        return Msg("the keypoint name {value!r} appears twice; each keypoint name must be unique", value=value)
    if what == "class":
        return Msg("the class {value!r} appears twice; each class must be unique", value=value)
    if what == "attribute name":
        return Msg("the attribute name {value!r} appears twice; each attribute name must be unique", value=value)
    if what == "span label":
        return Msg("the span label {value!r} appears twice; each span label must be unique", value=value)
    if what == "reason code":
        return Msg("the reason code {value!r} appears twice; each reason code must be unique", value=value)
    if what == "disposition code":
        return Msg("the disposition code {value!r} appears twice; each disposition code must be unique",
                   value=value)
    return Msg("the canned reply key {value!r} appears twice; each canned reply key must be unique", value=value)


def check_unique(values: Iterable[str], field: str, what: Unique) -> None:
    """Fail on the first blank or repeated value; ``field`` gets ``[i]`` appended. ``what`` says which
    message to give (a key, not words: each kind has its own sentences)."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if not value.strip():
            fail(f"{field}[{i}]", _blank(what))
        if value in seen:
            fail(f"{field}[{i}]", _twice(what, value))
        seen.add(value)


Known = Literal["label", "class", "attribute", "span label", "reason code", "disposition", "canned reply"]


def not_in(value: str, known: Iterable[str], what: Known) -> Msg:
    """``"'cat' is not a label of this project; labels are: dog, bird"``: a whole sentence for each
    kind of ``what`` (a key, not words), with the project's values or saying it defines none."""
    listed = list(known)
    if not listed:
        return _defines_none(value, what)
    known_names = names(listed)
    if what == "label":
        return Msg("{value!r} is not a label of this project; labels are: {known}", value=value, known=known_names)
    if what == "class":
        return Msg("{value!r} is not a class of this project; classes are: {known}", value=value, known=known_names)
    if what == "attribute":
        return Msg("{value!r} is not an attribute of this project; attributes are: {known}", value=value,
                   known=known_names)
    if what == "span label":
        return Msg("{value!r} is not a span label of this project; span labels are: {known}", value=value,
                   known=known_names)
    if what == "reason code":
        return Msg("{value!r} is not a reason code of this project; reason codes are: {known}", value=value,
                   known=known_names)
    if what == "disposition":
        return Msg("{value!r} is not a disposition of this project; dispositions are: {known}", value=value,
                   known=known_names)
    return Msg("{value!r} is not a canned reply of this project; canned replies are: {known}", value=value,
               known=known_names)


def _defines_none(value: str, what: Known) -> Msg:
    if what == "label":
        return Msg("{value!r} is not a label of this project; it defines no labels", value=value)
    if what == "class":
        return Msg("{value!r} is not a class of this project; it defines no classes", value=value)
    if what == "attribute":
        return Msg("{value!r} is not an attribute of this project; it defines no attributes", value=value)
    if what == "span label":
        return Msg("{value!r} is not a span label of this project; it defines no span labels", value=value)
    if what == "reason code":
        return Msg("{value!r} is not a reason code of this project; it defines no reason codes", value=value)
    if what == "disposition":
        return Msg("{value!r} is not a disposition of this project; it defines no dispositions", value=value)
    return Msg("{value!r} is not a canned reply of this project; it defines no canned replies", value=value)


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def mean_or_one(scores: list[float]) -> float:
    """Mean of the available components; two answers with nothing to compare agree fully."""
    return sum(scores) / len(scores) if scores else 1.0
