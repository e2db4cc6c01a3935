"""Text annotation: document classes (single or multi label) and labelled spans.

Span offsets are Python string indices (Unicode code points) into ``payload.text``, ``end``
exclusive, so ``text[start:end]`` is the span's text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from seatflow.i18n.message import Msg

from ._common import Strict, check_unique, fail, jaccard, mean_or_one, not_in
from .base import WorkType, first_error, register


class TextSchema(Strict):
    classes: list[str] | None = None
    multi_label: bool = False
    span_labels: list[str] | None = None


class TextPayload(Strict):
    text: str = Field(min_length=1)
    predictions: dict[str, Any] | None = None  # a model's pre-annotation: an answer plus "model" and "score"
    gold: dict[str, Any] | None = None  # the known answer of a gold item; never shown to workers
    meta: dict[str, Any] = Field(default_factory=dict)


class Span(Strict):
    start: int
    end: int
    label: str


class TextAnswer(Strict):
    classes: list[str] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)


class TextPredictions(TextAnswer):
    model: str | None = Field(default=None, max_length=200)
    score: float | None = Field(default=None, ge=0, le=1)


class TextAnnotation(WorkType):
    name = "text_annotation"
    title = "Text annotation"
    schema_model = TextSchema
    payload_model = TextPayload
    answer_model = TextAnswer

    def check_schema(self, schema: BaseModel) -> None:
        assert isinstance(schema, TextSchema)
        if not schema.classes and not schema.span_labels:
            fail("label_schema", Msg("define classes, span_labels or both; the project has nothing to label"))
        check_unique(schema.classes or [], "label_schema.classes", "class")
        check_unique(schema.span_labels or [], "label_schema.span_labels", "span label")

    def check_payload(self, payload: BaseModel, schema: BaseModel) -> None:
        assert isinstance(payload, TextPayload)
        if not payload.text.strip():
            fail("payload.text", Msg("the text is blank; there is nothing to annotate"))
        for prefix, data, model in (("payload.predictions", payload.predictions, TextPredictions),
                                    ("payload.gold", payload.gold, TextAnswer)):
            if data is not None:
                try:
                    parsed = model.model_validate(data)
                except ValidationError as exc:
                    raise first_error(exc, prefix) from None
                self._check(parsed, schema, payload, prefix)

    def check_answer(self, answer: BaseModel, schema: BaseModel, payload: BaseModel) -> None:
        self._check(answer, schema, payload, "answer")

    def _check(self, answer: BaseModel, schema: BaseModel, payload: BaseModel, f: str) -> None:
        assert isinstance(answer, TextAnswer) and isinstance(schema, TextSchema)
        assert isinstance(payload, TextPayload)
        classes = schema.classes or []
        seen: set[str] = set()
        for i, cls in enumerate(answer.classes):
            if cls not in classes:
                fail(f"{f}.classes[{i}]", not_in(cls, classes, "class"))
            if cls in seen:
                fail(f"{f}.classes[{i}]", Msg("the class {cls!r} is chosen twice", cls=cls))
            seen.add(cls)
        if len(answer.classes) > 1 and not schema.multi_label:
            fail(f"{f}.classes", Msg("choose one class only; this project is not multi-label (got {got})",
                                     got=", ".join(answer.classes)))
        labels = schema.span_labels or []
        n = len(payload.text)
        for i, span in enumerate(answer.spans):
            sf = f"{f}.spans[{i}]"
            if span.label not in labels:
                fail(f"{sf}.label", not_in(span.label, labels, "span label"))
            if span.start < 0:
                fail(f"{sf}.start", Msg("start must be 0 or more, got {start}", start=span.start))
            if span.end <= span.start:
                fail(f"{sf}.end", Msg("end ({end}) must be greater than start ({start})", end=span.end,
                                      start=span.start))
            if span.end > n:
                fail(f"{sf}.end", Msg("end ({end}) is past the end of the text ({n} characters)", end=span.end,
                                      n=n))
        by_label = sorted(range(len(answer.spans)),
                          key=lambda k: (answer.spans[k].label, answer.spans[k].start, k))
        for prev, cur in zip(by_label, by_label[1:], strict=False):
            p, c = answer.spans[prev], answer.spans[cur]
            if p.label == c.label and c.start < p.end:
                other = f"{f}.spans[{prev}]"
                fail(f"{f}.spans[{cur}]",
                     Msg("{label} span {start}-{end} overlaps {label} span {other_start}-{other_end} "
                         "({other}); merge or shorten them", label=c.label, start=c.start, end=c.end,
                         other_start=p.start, other_end=p.end, other=other))

    def compare(self, a: BaseModel, b: BaseModel, schema: BaseModel) -> float:
        """Mean of class agreement (exact, or Jaccard when multi-label) and exact-match span F1."""
        assert isinstance(a, TextAnswer) and isinstance(b, TextAnswer) and isinstance(schema, TextSchema)
        scores: list[float] = []
        if a.classes or b.classes:
            if schema.multi_label:
                scores.append(jaccard(a.classes, b.classes))
            else:
                scores.append(1.0 if set(a.classes) == set(b.classes) else 0.0)
        if a.spans or b.spans:
            sa = {(s.start, s.end, s.label) for s in a.spans}
            sb = {(s.start, s.end, s.label) for s in b.spans}
            scores.append(2 * len(sa & sb) / (len(sa) + len(sb)))
        return mean_or_one(scores)

    def demo_schema(self) -> dict[str, Any]:
        """Customer reviews: overall sentiment plus named entities and products."""
        return {
            "classes": ["positive", "neutral", "negative"],
            "multi_label": False,
            "span_labels": ["PER", "ORG", "LOC", "PRODUCT"],
        }


TEXT_ANNOTATION = register(TextAnnotation())
