"""The workflow state machine: stages, task/submission/item states and the legal transitions.

A project's workflow is one annotate stage (with an overlap ``n``) followed by zero or more
review stages (each with a sample rate). Every annotate slot produces a chain of answers:
an answer is reviewed by each review stage that samples it; a rejection sends the answer back
for rework (to its author by default) and the reworked answer returns to the stage that
rejected it, always reviewed. An item is done when each of its ``n`` slots has an accepted
answer. Everything here is pure: the services apply these decisions inside one transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from seatflow.errors import Conflict, ValidationFailed


class StageKind(StrEnum):
    ANNOTATE = "annotate"
    REVIEW = "review"


class TaskState(StrEnum):
    READY = "ready"
    LEASED = "leased"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskEvent(StrEnum):
    LEASE = "lease"
    SUBMIT = "submit"
    EXPIRE = "expire"
    RELEASE = "release"
    CANCEL = "cancel"


class SubmissionState(StrEnum):
    PENDING = "pending"  # waiting for a review stage
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # superseded by a rework


class ItemState(StrEnum):
    ACTIVE = "active"
    DONE = "done"


class Verdict(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


_TASK_TRANSITIONS: dict[TaskState, dict[TaskEvent, TaskState]] = {
    TaskState.READY: {TaskEvent.LEASE: TaskState.LEASED, TaskEvent.CANCEL: TaskState.CANCELLED},
    TaskState.LEASED: {
        TaskEvent.SUBMIT: TaskState.DONE,
        TaskEvent.EXPIRE: TaskState.READY,
        TaskEvent.RELEASE: TaskState.READY,
        TaskEvent.CANCEL: TaskState.CANCELLED,
    },
    TaskState.DONE: {},
    TaskState.CANCELLED: {},
}


class IllegalTransition(Conflict):
    code = "illegal-transition"
    title = "That change is not allowed in the current state"


def task_transition(state: TaskState | str, event: TaskEvent | str) -> TaskState:
    """The state a task moves to on ``event``; raises IllegalTransition when not allowed."""
    st, ev = TaskState(state), TaskEvent(event)
    try:
        return _TASK_TRANSITIONS[st][ev]
    except KeyError:
        raise IllegalTransition(f"a task that is {st.value} cannot {ev.value}") from None


@dataclass(frozen=True)
class Stage:
    name: str
    kind: StageKind
    overlap: int = 1
    sample_rate: float = 1.0


@dataclass(frozen=True)
class Workflow:
    stages: tuple[Stage, ...]
    rework_to: Literal["same", "any"] = "same"

    @property
    def overlap(self) -> int:
        return self.stages[0].overlap

    def to_json(self) -> dict[str, Any]:
        return {
            "stages": [
                {"name": s.name, "kind": s.kind.value, "overlap": s.overlap, "sample_rate": s.sample_rate}
                for s in self.stages
            ],
            "rework_to": self.rework_to,
        }

    def describe(self) -> str:
        parts = []
        for s in self.stages:
            arg = f"overlap={s.overlap}" if s.kind is StageKind.ANNOTATE else f"sample_rate={s.sample_rate:g}"
            parts.append(f"{s.kind.value}({arg})")
        return " -> ".join([*parts, "done"])


_STAGE_RE = re.compile(r"^\s*(annotate|review)\s*(?:\((.*)\))?\s*$")


def _stage_from_text(text: str, index: int) -> dict[str, Any]:
    m = _STAGE_RE.match(text)
    if not m:
        raise ValidationFailed(
            f"workflow stage {index + 1} {text!r} is not understood; write e.g. "
            "'annotate(overlap=2) -> review(sample_rate=0.2)'",
            field=f"workflow.stages[{index}]",
        )
    out: dict[str, Any] = {"kind": m.group(1)}
    for arg in filter(None, (a.strip() for a in (m.group(2) or "").split(","))):
        key, _, value = arg.partition("=")
        out[key.strip()] = value.strip()
    return out


def parse_workflow(data: Any) -> Workflow:
    """Accept 'annotate(overlap=2) -> review(sample_rate=0.2)', a list of stages, or a dict."""
    rework_to = "same"
    if isinstance(data, str):
        texts = [t for t in (p.strip() for p in data.split("->")) if t and t != "done"]
        raw: list[Any] = [_stage_from_text(t, i) for i, t in enumerate(texts)]
    elif isinstance(data, dict):
        raw = list(data.get("stages") or [])
        rework_to = data.get("rework_to", "same")
    elif isinstance(data, list):
        raw = list(data)
    else:
        raise ValidationFailed("workflow must be a text, a list of stages or a mapping", field="workflow")
    if rework_to not in ("same", "any"):
        raise ValidationFailed("workflow.rework_to must be 'same' or 'any'", field="workflow.rework_to")
    if not raw:
        raise ValidationFailed("workflow needs at least an annotate stage", field="workflow.stages")
    stages: list[Stage] = []
    for i, s in enumerate(raw):
        field = f"workflow.stages[{i}]"
        if isinstance(s, str):
            s = _stage_from_text(s, i)
        if not isinstance(s, dict):
            raise ValidationFailed(f"{field} must be a mapping", field=field)
        try:
            kind = StageKind(s.get("kind", ""))
        except ValueError:
            raise ValidationFailed(f"{field}.kind must be 'annotate' or 'review'", field=f"{field}.kind") from None
        if (i == 0) != (kind is StageKind.ANNOTATE):
            raise ValidationFailed(
                "the first stage must be annotate and only the first; later stages are reviews",
                field=f"{field}.kind",
            )
        try:
            overlap = int(s.get("overlap", 1))
            rate = float(s.get("sample_rate", 1.0))
        except (TypeError, ValueError):
            raise ValidationFailed(
                f"{field}: overlap must be a whole number, sample_rate a number", field=field
            ) from None
        if not 1 <= overlap <= 20:
            raise ValidationFailed(f"{field}.overlap must be between 1 and 20", field=f"{field}.overlap")
        if not 0.0 <= rate <= 1.0:
            raise ValidationFailed(f"{field}.sample_rate must be between 0 and 1", field=f"{field}.sample_rate")
        name = str(s.get("name") or (kind.value if i == 0 else f"review{i}" if i > 1 else "review"))
        stages.append(Stage(name=name, kind=kind, overlap=overlap, sample_rate=rate))
    return Workflow(stages=tuple(stages), rework_to=rework_to)  # type: ignore[arg-type]


# --- decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    stage: int
    kind: StageKind
    slot: int
    target_submission_id: int | None = None
    assignee_id: int | None = None


@dataclass(frozen=True)
class Accept:
    """The answer is final for its slot."""


Decision = NewTask | Accept


def sample_draw(*parts: object) -> float:
    """A reproducible number in [0, 1) for sampling decisions (same inputs, same draw)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def senior_stage(wf: Workflow) -> int:
    """The stage number of the senior queue: a review stage after the workflow's own stages.

    Escalated answers (see :meth:`WorkType.escalates`) and appeals are reviewed there, by people
    with the project's ``review`` skill; an answer accepted there is final (no later stage samples
    it), and a rework sent back from there is accepted unless it escalates again.
    """
    return len(wf.stages)


def initial_tasks(wf: Workflow) -> list[NewTask]:
    return [NewTask(stage=0, kind=StageKind.ANNOTATE, slot=slot) for slot in range(wf.overlap)]


def after_answer(
    wf: Workflow,
    *,
    item_id: int,
    slot: int,
    submission_id: int,
    from_stage: int = 1,
    forced: bool = False,
    reviewer_id: int | None = None, draw_id: int | None = None,
    escalate: bool = False,
) -> Decision:
    """What follows an annotation answer: a review at the first stage that samples it, or accept.

    ``from_stage`` is the first review stage to consider (a rework returns to the stage that
    rejected it, with ``forced`` so that it is always reviewed there, by ``reviewer_id`` — the
    reviewer who rejected it — when rework goes back to its author). ``draw_id`` (default: the
    submission id) seeds the sampling draw, so a caller can decide before the answer has an id.
    ``escalate``: the answer hands the item up; it goes to the senior queue (:func:`senior_stage`),
    before any sampling or forced review.
    """
    if escalate:
        return NewTask(stage=senior_stage(wf), kind=StageKind.REVIEW, slot=slot, target_submission_id=submission_id)
    for r in range(from_stage, len(wf.stages)):
        stage = wf.stages[r]
        if forced and r == from_stage:
            assignee = reviewer_id if wf.rework_to == "same" else None
            return NewTask(
                stage=r, kind=StageKind.REVIEW, slot=slot, target_submission_id=submission_id, assignee_id=assignee
            )
        if sample_draw(item_id, r, submission_id if draw_id is None else draw_id) < stage.sample_rate:
            return NewTask(stage=r, kind=StageKind.REVIEW, slot=slot, target_submission_id=submission_id)
    return Accept()


def after_review(
    wf: Workflow, *, verdict: Verdict, item_id: int, slot: int, review_stage: int, submission_id: int, author_id: int
) -> Decision:
    """What follows a review: the next sampled review stage or accept; or rework on reject."""
    if verdict is Verdict.REJECT:
        return NewTask(
            stage=0,
            kind=StageKind.ANNOTATE,
            slot=slot,
            target_submission_id=submission_id,
            assignee_id=author_id if wf.rework_to == "same" else None,
        )
    return after_answer(wf, item_id=item_id, slot=slot, submission_id=submission_id, from_stage=review_stage + 1)


def item_is_done(wf: Workflow, accepted_slots: int) -> bool:
    return accepted_slots >= wf.overlap
