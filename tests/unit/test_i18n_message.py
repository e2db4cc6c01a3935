"""Msg: an English message that can still be said in the reader's language (seatflow.i18n.message)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from seatflow.errors import NotFound, ValidationFailed
from seatflow.i18n import message as message_module
from seatflow.i18n.message import Msg, from_data, localize, to_data
from seatflow.quality.sampling import code_letter

AQL_MSGID = "aql: must be a number, got {got!r}"


def test_a_msg_is_the_english_text() -> None:
    m = Msg(AQL_MSGID, got="x")
    assert isinstance(m, str)
    assert m == "aql: must be a number, got 'x'"
    assert "must be a number" in m and m.startswith("aql:")
    assert m.msgid == AQL_MSGID and m.params == {"got": "x"}
    assert Msg("item_ids: the lot lists an item twice") == "item_ids: the lot lists an item twice"


def test_it_is_said_in_chinese_with_its_values() -> None:
    m = Msg(AQL_MSGID, got="x")
    assert m.in_locale("zh_CN") == "aql：必须是数字，收到的是 'x'"
    assert localize(m, "zh_CN") == m.in_locale("zh_CN")
    assert localize(m, "en") == "aql: must be a number, got 'x'"


def test_a_msg_inside_a_msg_is_translated_too() -> None:
    inner = Msg(AQL_MSGID, got=3j)
    outer = Msg("{field}: {message}", field="plan", message=inner)
    assert outer == "plan: aql: must be a number, got 3j"
    assert outer.in_locale("zh_CN") == "plan：aql：必须是数字，收到的是 3j"


def test_a_translation_that_lost_a_placeholder_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def gettext(self, message: str) -> str:
            return "坏了 {nothing_like_it}"

    monkeypatch.setattr(message_module, "translations", lambda locale: Broken())
    assert Msg(AQL_MSGID, got=1).in_locale("zh_CN") == "aql: must be a number, got 1"


def test_plain_strings_are_looked_up_and_otherwise_kept() -> None:
    assert localize("The input is not valid", "zh_CN") == "输入无效"  # a title marked with N_
    assert localize("no such message, ever", "zh_CN") == "no such message, ever"
    assert localize("", "zh_CN") == ""


def test_pickling_keeps_the_message_id() -> None:
    m = pickle.loads(pickle.dumps(Msg(AQL_MSGID, got=[1])))
    assert isinstance(m, Msg) and m.in_locale("zh_CN") == "aql：必须是数字，收到的是 [1]"


def test_an_error_problem_is_said_in_the_asked_language() -> None:
    with pytest.raises(ValidationFailed) as caught:
        code_letter(0)
    exc = caught.value
    assert exc.detail == "lot_size: must be a whole number of 1 or more, got 0"
    body: dict[str, Any] = exc.to_problem("/x", "zh_CN")
    assert body["title"] == "输入无效"
    assert body["detail"] == "lot_size：必须是 1 或更大的整数，收到的是 0"
    assert body["field"] == "lot_size"  # machine-readable parts stay as they are
    english = exc.to_problem("/x")
    assert english["title"] == "The input is not valid" and english["detail"] == exc.detail
    # a plain-string detail (not converted yet) passes through unchanged in any language
    assert NotFound("no project 'x'").to_problem(None, "zh_CN")["detail"] == "no project 'x'"


def test_a_stored_message_comes_back_translatable_with_its_values() -> None:
    inner = Msg("batch {batch_id} not found in project {project}", batch_id=7, project="acme-text")
    outer = Msg("{where}: {field}: {message}", where="line 3", field="label", message=inner)
    back = from_data(json.loads(json.dumps(to_data(outer))))
    assert isinstance(back, Msg) and back == outer
    said = back.in_locale("zh_CN")
    assert said == outer.in_locale("zh_CN") and "项目 acme-text 中找不到批次 7" in said
    assert from_data("plain text") == "plain text" and from_data(None) is None and to_data("plain") == "plain"
    # a stored message whose values no longer fit its text (a placeholder renamed since): its English text
    assert from_data({"msgid": "batch {batch_id} not found", "params": {"other": 1}}) == "batch {batch_id} not found"
