"""Small helpers shared by the built-in work types (messages, uniqueness checks).

A worker reads these messages in the workspace when an answer is refused, in their language: every
message is a :class:`~seatflow.i18n.message.Msg` whole sentence (no English grammar assembled here).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NoReturn

from pydantic import BaseModel, ConfigDict

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import N_, Msg


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
# One whole sentence per kind (message ids, said with Msg where they are used)
_BLANK: dict[str, str] = {
    "tool": N_("the tool must not be empty"),
    "label name": N_("the label name must not be empty"),
    "keypoint name": N_("the keypoint name must not be empty"),
    "class": N_("the class must not be empty"),
    "attribute name": N_("the attribute name must not be empty"),
    "span label": N_("the span label must not be empty"),
    "reason code": N_("the reason code must not be empty"),
    "disposition code": N_("the disposition code must not be empty"),
    "canned reply key": N_("the canned reply key must not be empty"),
}
_TWICE: dict[str, str] = {
    "tool": N_("the tool {value!r} appears twice; each tool must be unique"),
    "label name": N_("the label name {value!r} appears twice; each label name must be unique"),
    "keypoint name": N_("the keypoint name {value!r} appears twice; each keypoint name must be unique"),
    "class": N_("the class {value!r} appears twice; each class must be unique"),
    "attribute name": N_("the attribute name {value!r} appears twice; each attribute name must be unique"),
    "span label": N_("the span label {value!r} appears twice; each span label must be unique"),
    "reason code": N_("the reason code {value!r} appears twice; each reason code must be unique"),
    "disposition code": N_("the disposition code {value!r} appears twice; each disposition code must be unique"),
    "canned reply key": N_("the canned reply key {value!r} appears twice; each canned reply key must be unique"),
}


def check_unique(values: Iterable[str], field: str, what: Unique) -> None:
    """Fail on the first blank or repeated value; ``field`` gets ``[i]`` appended. ``what`` says which
    message to give (a key, not words: each kind has its own sentences)."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if not value.strip():
            fail(f"{field}[{i}]", Msg(_BLANK[what]))
        if value in seen:
            fail(f"{field}[{i}]", Msg(_TWICE[what], value=value))
        seen.add(value)


Known = Literal["label", "class", "attribute", "span label", "reason code", "disposition", "canned reply"]
_NOT_IN: dict[str, str] = {
    "label": N_("{value!r} is not a label of this project; labels are: {known}"),
    "class": N_("{value!r} is not a class of this project; classes are: {known}"),
    "attribute": N_("{value!r} is not an attribute of this project; attributes are: {known}"),
    "span label": N_("{value!r} is not a span label of this project; span labels are: {known}"),
    "reason code": N_("{value!r} is not a reason code of this project; reason codes are: {known}"),
    "disposition": N_("{value!r} is not a disposition of this project; dispositions are: {known}"),
    "canned reply": N_("{value!r} is not a canned reply of this project; canned replies are: {known}"),
}
_DEFINES_NONE: dict[str, str] = {
    "label": N_("{value!r} is not a label of this project; it defines no labels"),
    "class": N_("{value!r} is not a class of this project; it defines no classes"),
    "attribute": N_("{value!r} is not an attribute of this project; it defines no attributes"),
    "span label": N_("{value!r} is not a span label of this project; it defines no span labels"),
    "reason code": N_("{value!r} is not a reason code of this project; it defines no reason codes"),
    "disposition": N_("{value!r} is not a disposition of this project; it defines no dispositions"),
    "canned reply": N_("{value!r} is not a canned reply of this project; it defines no canned replies"),
}


def not_in(value: str, known: Iterable[str], what: Known) -> Msg:
    """``"'cat' is not a label of this project; labels are: dog, bird"``: a whole sentence for each
    kind of ``what`` (a key, not words), with the project's values or saying it defines none."""
    listed = list(known)
    if not listed:
        return Msg(_DEFINES_NONE[what], value=value)
    return Msg(_NOT_IN[what], value=value, known=names(listed))


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def mean_or_one(scores: list[float]) -> float:
    """Mean of the available components; two answers with nothing to compare agree fully."""
    return sum(scores) / len(scores) if scores else 1.0
