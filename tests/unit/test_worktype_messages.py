"""The work types' refusal messages: one whole sentence for every kind of value, in both languages."""

from __future__ import annotations

from typing import get_args

import pytest

from seatflow.errors import ValidationFailed
from seatflow.worktypes import _common as c


@pytest.mark.parametrize("what", get_args(c.Unique))
def test_every_kind_of_unique_value_has_its_sentences(what: str) -> None:
    with pytest.raises(ValidationFailed) as blank:
        c.check_unique(["a", " "], "schema.x", what)  # type: ignore[arg-type]
    assert blank.value.field == "schema.x[1]" and "must not be empty" in blank.value.detail
    with pytest.raises(ValidationFailed) as twice:
        c.check_unique(["a", "a"], "schema.x", what)  # type: ignore[arg-type]
    assert "'a' appears twice" in twice.value.detail
    for exc in (blank.value, twice.value):
        zh = exc.to_problem(None, "zh_CN")["detail"]
        assert zh.startswith(f"{exc.field}：") and zh != exc.detail


@pytest.mark.parametrize("what", get_args(c.Known))
def test_every_kind_of_known_value_has_its_sentences(what: str) -> None:
    listed = c.not_in("x", ["a", "b"], what)  # type: ignore[arg-type]
    none = c.not_in("x", [], what)  # type: ignore[arg-type]
    assert listed.startswith("'x' is not a") and listed.endswith(": a, b")
    assert none.startswith("'x' is not a") and "it defines no" in none
    assert "'x'" in listed.in_locale("zh_CN") and listed.in_locale("zh_CN") != listed
    assert none.in_locale("zh_CN") != none
