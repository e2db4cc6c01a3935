"""The work-type plugin contract and its registry.

A work type declares pydantic models for the project's label schema (or policy), an item's
payload and a worker's answer; it validates an answer against the project's schema (a box inside
the image, a label that exists, a keypoint count that matches) and compares two answers (used by
quality control). Adding a work type means adding one module that calls :func:`register`
(plus its UI template), nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg
from seatflow.i18n.pydantic_errors import describe


def field_path(prefix: str, loc: tuple[int | str, ...] | list[int | str]) -> str:
    """Join a location into a field path: ``("boxes", 2, "x")`` -> ``"answer.boxes[2].x"``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def first_error(exc: ValidationError, prefix: str) -> ValidationFailed:
    """The first of pydantic's errors as a ValidationFailed naming its field under ``prefix``."""
    err = exc.errors()[0]
    field = field_path(prefix, tuple(err.get("loc", ())))
    return ValidationFailed(Msg("{field}: {message}", field=field, message=describe(err)), field=field)


class WorkType(ABC):
    """One kind of work. Subclasses set the class attributes and implement the checks."""

    name: ClassVar[str]  # stable identifier stored in projects.work_type, e.g. "image_annotation"
    title: ClassVar[str]  # English title (translated by the UI through i18n)
    schema_model: ClassVar[type[BaseModel]]  # the project's label schema / policy
    payload_model: ClassVar[type[BaseModel]]  # one item's payload
    answer_model: ClassVar[type[BaseModel]]  # one worker's answer

    # -- parsing: raise ValidationFailed naming the field ------------------------------------
    def parse_schema(self, data: Any) -> BaseModel:
        try:
            schema = self.schema_model.model_validate(data)
        except ValidationError as exc:
            raise first_error(exc, "label_schema") from None
        self.check_schema(schema)
        return schema

    def parse_payload(self, data: Any, schema: BaseModel) -> BaseModel:
        try:
            payload = self.payload_model.model_validate(data)
        except ValidationError as exc:
            raise first_error(exc, "payload") from None
        self.check_payload(payload, schema)
        return payload

    def parse_answer(self, data: Any, schema: BaseModel, payload: BaseModel) -> BaseModel:
        try:
            answer = self.answer_model.model_validate(data)
        except ValidationError as exc:
            raise first_error(exc, "answer") from None
        self.check_answer(answer, schema, payload)
        return answer

    # -- semantic checks ---------------------------------------------------------------------
    def check_schema(self, schema: BaseModel) -> None:  # noqa: B027
        """Raise ValidationFailed(field="label_schema...") when the schema contradicts itself (optional)."""

    def check_payload(self, payload: BaseModel, schema: BaseModel) -> None:  # noqa: B027
        """Raise ValidationFailed when the payload does not fit the project (optional)."""

    @abstractmethod
    def check_answer(self, answer: BaseModel, schema: BaseModel, payload: BaseModel) -> None:
        """Raise ValidationFailed(field=...) when the answer does not fit the schema/payload."""

    @abstractmethod
    def compare(self, a: BaseModel, b: BaseModel, schema: BaseModel) -> float:
        """Agreement of two answers in [0, 1]; 1 means the same answer."""

    def escalates(self, answer: BaseModel) -> bool:
        """True when this answer hands the item up to the senior queue instead of deciding it."""
        return False

    def media_of(self, payload: BaseModel) -> list[str]:
        """Media references (paths or URLs) the item needs; used by import and prefetch."""
        return []

    def demo_schema(self) -> dict[str, Any]:
        """A sensible label schema/policy for the demo center."""
        raise NotImplementedError


REGISTRY: dict[str, WorkType] = {}


W = TypeVar("W", bound=WorkType)


def register(work_type: W) -> W:
    if work_type.name in REGISTRY:
        raise ValueError(f"work type {work_type.name!r} is registered twice")
    REGISTRY[work_type.name] = work_type
    return work_type


def get_work_type(name: str) -> WorkType:
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValidationFailed(Msg("unknown work type {name!r}; known: {known}", name=name, known=known),
                               field="work_type") from None
