"""Moderation decision: approve, reject with the policy's reason codes, or escalate."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from seatflow.i18n.message import Msg

from ._common import Strict, check_unique, fail, not_in
from .base import WorkType, register

NOTE_MAX = 2000


class Reason(Strict):
    code: str
    title: str
    severity: int = Field(ge=1, le=5)  # 5 is the gravest


class PrescreenRules(Strict):
    """What the machine pre-screen score does to an item (scores are in [0, 1])."""

    boost_above: float | None = Field(default=0.6, ge=0.0, le=1.0)  # route these first ...
    boost: int = Field(default=100, ge=0, le=1000)  # ... by raising their priority this much
    auto_reject_above: float | None = Field(default=None, ge=0.0, le=1.0)  # None: never decide alone
    auto_reject_reasons: list[str] = Field(default_factory=list)  # reason codes of an auto-rejection
    audit_rate: float = Field(default=0.1, ge=0.0, le=1.0)  # share of auto-rejections a person checks


class Policy(Strict):
    reasons: list[Reason] = Field(min_length=1)
    escalation: bool = True  # may a moderator hand an item up to a senior?
    keywords: dict[str, list[str]] = Field(default_factory=dict)  # reason code -> words that flag a text
    prescreen: PrescreenRules = Field(default_factory=PrescreenRules)


class ModerationPayload(Strict):
    kind: Literal["image", "video", "text"]
    media: str | None = None  # required for image and video: path in the media folder or URL
    text: str | None = None  # required for text
    meta: dict[str, Any] = Field(default_factory=dict)
    prescreen_score: float | None = Field(default=None, ge=0.0, le=1.0)  # machine risk score
    prescreen_labels: list[str] = Field(default_factory=list)  # what the pre-screen saw (labels, reason codes)
    duration_seconds: float | None = Field(default=None, ge=0.0)  # video length, from media processing
    thumbnails: list[str] = Field(default_factory=list)  # keyframe (video) or preview (image) images
    strip: str | None = None  # the keyframes side by side in one image (video)


class ModerationAnswer(Strict):
    decision: Literal["approve", "reject", "escalate"]
    reasons: list[str] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=NOTE_MAX)


class Moderation(WorkType):
    name = "moderation"
    title = "Moderation decision"
    schema_model = Policy
    payload_model = ModerationPayload
    answer_model = ModerationAnswer

    def check_schema(self, schema: BaseModel) -> None:
        assert isinstance(schema, Policy)
        codes = [r.code for r in schema.reasons]
        check_unique(codes, "label_schema.reasons", "reason code")
        for code, words in schema.keywords.items():
            if code not in codes:
                fail(f"label_schema.keywords.{code}", not_in(code, codes, "reason code"))
            for i, word in enumerate(words):
                if not word.strip():
                    fail(f"label_schema.keywords.{code}[{i}]", Msg("a keyword must not be empty"))
        rules = schema.prescreen
        for i, code in enumerate(rules.auto_reject_reasons):
            if code not in codes:
                fail(f"label_schema.prescreen.auto_reject_reasons[{i}]", not_in(code, codes, "reason code"))
        if rules.auto_reject_above is not None and not rules.auto_reject_reasons and not schema.keywords:
            fail("label_schema.prescreen.auto_reject_reasons",
                 Msg("auto-rejection needs the reason codes to give (e.g. ['sexual'])"))

    def check_payload(self, payload: BaseModel, schema: BaseModel) -> None:
        assert isinstance(payload, ModerationPayload)
        if payload.kind == "image" and not (payload.media or "").strip():
            fail("payload.media", Msg("an image item needs media: a path in the media folder or a URL"))
        if payload.kind == "video" and not (payload.media or "").strip():
            fail("payload.media", Msg("a video item needs media: a path in the media folder or a URL"))
        if payload.kind == "text" and not (payload.text or "").strip():
            fail("payload.text", Msg("a text item needs the text to moderate"))

    def check_answer(self, answer: BaseModel, schema: BaseModel, payload: BaseModel) -> None:
        assert isinstance(answer, ModerationAnswer) and isinstance(schema, Policy)
        codes = [r.code for r in schema.reasons]
        if answer.decision == "approve" and answer.reasons:
            fail("answer.reasons", Msg("an approved item has no reasons; remove {reasons} or reject the item",
                                       reasons=", ".join(answer.reasons)))
        if answer.decision == "reject" and not answer.reasons:
            fail("answer.reasons", Msg("a rejection needs at least one reason code from the policy"))
        if answer.decision == "escalate" and not schema.escalation:
            fail("answer.decision", Msg("this project does not allow escalation; approve or reject the item"))
        seen: set[str] = set()
        for i, code in enumerate(answer.reasons):
            if code not in codes:
                fail(f"answer.reasons[{i}]", not_in(code, codes, "reason code"))
            if code in seen:
                fail(f"answer.reasons[{i}]", Msg("the reason {code!r} is given twice", code=code))
            seen.add(code)

    def compare(self, a: BaseModel, b: BaseModel, schema: BaseModel) -> float:
        """1 for the same decision (and, for rejections, the same reasons); 0.5 for two rejections
        with different reasons; otherwise 0."""
        assert isinstance(a, ModerationAnswer) and isinstance(b, ModerationAnswer)
        if a.decision != b.decision:
            return 0.0
        if a.decision == "reject" and set(a.reasons) != set(b.reasons):
            return 0.5
        return 1.0

    def severity(self, answer: BaseModel, schema: BaseModel) -> int:
        """The gravest severity among the answer's reasons (0 when there are none)."""
        assert isinstance(answer, ModerationAnswer) and isinstance(schema, Policy)
        by_code = {r.code: r.severity for r in schema.reasons}
        return max((by_code.get(code, 0) for code in answer.reasons), default=0)

    def escalates(self, answer: BaseModel) -> bool:
        assert isinstance(answer, ModerationAnswer)
        return answer.decision == "escalate"

    def media_of(self, payload: BaseModel) -> list[str]:
        assert isinstance(payload, ModerationPayload)
        refs = [payload.media] if payload.media else []
        refs += payload.thumbnails
        if payload.strip:
            refs.append(payload.strip)
        return refs

    def demo_schema(self) -> dict[str, Any]:
        """A short-video platform's pre-publication policy."""
        return {
            "reasons": [
                {"code": "minors", "title": "Endangers or sexualises minors", "severity": 5},
                {"code": "violence", "title": "Graphic violence or gore", "severity": 4},
                {"code": "sexual", "title": "Sexual content or nudity", "severity": 4},
                {"code": "fraud", "title": "Scam, fraud or illegal sale", "severity": 3},
                {"code": "copyright", "title": "Uses others' content without rights", "severity": 2},
            ],
            "escalation": True,
        }


MODERATION = register(Moderation())
