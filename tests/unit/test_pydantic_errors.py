"""seatflow.i18n.pydantic_errors: pydantic's errors said in the catalog's words (and so in Chinese too)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seatflow.i18n.message import Msg
from seatflow.i18n.pydantic_errors import describe


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = 0
    ratio: float = 0.0
    name: str = Field("", max_length=3)
    flag: bool = False
    tags: list[int] = Field(default_factory=list, max_length=2)
    mode: Literal["fast", "slow"] = "fast"
    level: int = Field(1, ge=1, le=5)
    at: Any = None
    nested: dict[str, int] = Field(default_factory=dict)
    odd: int = 1

    @field_validator("odd")
    @classmethod
    def _odd(cls, v: int) -> int:
        if v % 2 == 0:
            raise ValueError(Msg("must be at least {limit}", limit=3))  # any catalog message of ours
        return v


def _error(data: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return dict(caught.value.errors()[0])


@pytest.mark.parametrize(("data", "english", "chinese"), [
    ({"count": "many"}, "must be a whole number", "必须是整数"),
    ({"count": 1.5}, "must be a whole number, not a fraction", "必须是整数，不能带小数"),
    ({"ratio": "half"}, "must be a number", "必须是数字"),
    ({"name": 7}, "must be text (a string)", "必须是文本（字符串）"),
    ({"name": "abcd"}, "must be at most 3 characters long", "最多只能有 3 个字符"),
    ({"flag": "maybe"}, "must be true or false", "必须是 true 或 false"),
    ({"tags": "x"}, "must be a list", "必须是列表"),
    ({"tags": [1, 2, 3]}, "must have at most 2 entries, not 3", "最多只能有 2 项，现在是 3 项"),
    ({"mode": "medium"}, "must be one of 'fast', 'slow'", "必须是以下之一：'fast', 'slow'"),
    ({"level": 0}, "must be at least 1", "不能小于 1"),
    ({"level": 9}, "must be at most 5", "不能大于 5"),
    ({"nested": 3}, "must be an object", "必须是对象"),
    ({"extra": 1}, "unknown field; remove it", "未知字段；请删除"),
    ({"odd": 2}, "must be at least 3", "不能小于 3"),  # a validator's own Msg comes through as it is
])
def test_errors_are_said_in_both_languages(data: dict[str, Any], english: str, chinese: str) -> None:
    said = describe(_error(data))
    assert isinstance(said, Msg) and said == english
    assert said.in_locale("zh_CN") == chinese


def test_an_error_kind_without_words_of_ours_keeps_pydantics_text() -> None:
    err = {"type": "uuid_parsing", "msg": "Input should be a valid UUID, invalid length", "loc": ("id",)}
    assert describe(err) == "Input should be a valid UUID, invalid length"
    assert describe({"type": "value_error", "msg": "Value error, too odd", "ctx": {"error": 3}}) == "too odd"
    assert describe({"type": "mystery"}) == "invalid value"
