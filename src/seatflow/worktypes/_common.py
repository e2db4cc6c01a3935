"""Small helpers shared by the built-in work types (messages, uniqueness checks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from pydantic import BaseModel, ConfigDict

from seatflow.errors import ValidationFailed


class Strict(BaseModel):
    """Base for the built-in models: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


def fail(field: str, message: str) -> NoReturn:
    """Raise ValidationFailed whose message starts with the field, so it reads well on its own."""
    raise ValidationFailed(f"{field}: {message}", field=field)


def num(value: float) -> str:
    """A coordinate as a person writes it: ``10`` rather than ``10.0``, at most two decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def names(values: Iterable[str]) -> str:
    """``"dog, bird"`` or ``"(none)"``."""
    joined = ", ".join(values)
    return joined or "(none)"


def check_unique(values: Iterable[str], field: str, what: str) -> None:
    """Fail on the first blank or repeated value; ``field`` gets ``[i]`` appended."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        if not value.strip():
            fail(f"{field}[{i}]", f"the {what} must not be empty")
        if value in seen:
            fail(f"{field}[{i}]", f"the {what} {value!r} appears twice; each {what} must be unique")
        seen.add(value)


def not_in(value: str, known: Iterable[str], what: str) -> str:
    """``"'cat' is not a label of this project; labels are: dog, bird"``."""
    known = list(known)
    article = "an" if what[:1] in "aeiou" else "a"
    plural = f"{what}es" if what.endswith("s") else f"{what}s"
    if not known:
        return f"{value!r} is not {article} {what} of this project; it defines no {plural}"
    return f"{value!r} is not {article} {what} of this project; {plural} are: {names(known)}"


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def mean_or_one(scores: list[float]) -> float:
    """Mean of the available components; two answers with nothing to compare agree fully."""
    return sum(scores) / len(scores) if scores else 1.0
