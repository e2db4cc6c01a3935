"""The moderation policy's pre-screen rules and keyword lists, and the payload's media fields."""

from __future__ import annotations

from typing import Any

import pytest

from seatflow.errors import ValidationFailed
from seatflow.worktypes import get_work_type

WT = get_work_type("moderation")


def policy(**extra: Any) -> Any:
    return WT.parse_schema({**WT.demo_schema(), **extra})


def test_defaults_boost_high_scores_and_never_decide_alone() -> None:
    rules = policy().prescreen
    assert rules.boost_above == 0.6 and rules.boost == 100
    assert rules.auto_reject_above is None and rules.audit_rate == 0.1
    assert policy().keywords == {}


def test_keywords_and_auto_rejection() -> None:
    p = policy(keywords={"fraud": ["free money", "转账"]},
               prescreen={"auto_reject_above": 0.9, "auto_reject_reasons": ["sexual"], "audit_rate": 0.25})
    assert p.keywords["fraud"] == ["free money", "转账"]
    assert p.prescreen.auto_reject_reasons == ["sexual"] and p.prescreen.audit_rate == 0.25


@pytest.mark.parametrize(
    ("extra", "field", "text"),
    [
        ({"keywords": {"spam": ["x"]}}, "label_schema.keywords.spam", "'spam' is not a reason code"),
        ({"keywords": {"fraud": ["ok", " "]}}, "label_schema.keywords.fraud[1]", "must not be empty"),
        ({"prescreen": {"auto_reject_above": 0.9, "auto_reject_reasons": ["nsfw"]}},
         "label_schema.prescreen.auto_reject_reasons[0]", "'nsfw' is not a reason code"),
        ({"prescreen": {"auto_reject_above": 0.9}}, "label_schema.prescreen.auto_reject_reasons",
         "needs the reason codes"),
        ({"prescreen": {"audit_rate": 1.5}}, "label_schema.prescreen.audit_rate", "must be at most 1"),
        ({"prescreen": {"boost_above": -0.1}}, "label_schema.prescreen.boost_above", "must be at least 0"),
        ({"prescreen": {"threshold": 0.5}}, "label_schema.prescreen.threshold", "unknown field"),
    ],
)
def test_bad_rules_name_the_field(extra: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        policy(**extra)
    assert info.value.field == field
    assert text in info.value.detail


def test_media_of_lists_the_media_thumbnails_and_strip() -> None:
    p = policy()
    payload = WT.parse_payload({"kind": "video", "media": "m/a.mp4", "thumbnails": ["m/t0.jpg", "m/t1.jpg"],
                                "strip": "m/strip.jpg", "duration_seconds": 2.5}, p)
    assert WT.media_of(payload) == ["m/a.mp4", "m/t0.jpg", "m/t1.jpg", "m/strip.jpg"]
