"""The workflow state machine: stages, task/submission/item states and the legal transitions.

A project's workflow is one annotate stage (with an overlap ``n``) followed by zero or more
review stages (each with a sample rate). Every annotate slot produces a chain of answers:
an answer is reviewed by each review stage that samples it; a rejection sends the answer back
for rework (to its author by default) and the reworked answer returns to the stage that
rejected it, always reviewed. An item is done when each of its ``n`` slots has an accepted
answer. Everything here is pure: the services apply these decisions inside one transaction.

Dynamic overlap (``annotate(overlap=1..5, confidence=0.95)``): an item starts with the lower
number of slots; each time all its slots have an accepted answer, the services aggregate them
(class/decision work, services/aggregation.py) and :func:`overlap_next` says whether the item is
done (the aggregate's posterior confidence reached the target, or the upper number of answers is
reached) or needs one more slot.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from seatflow.errors import Conflict, ValidationFailed
from seatflow.i18n.message import N_, Msg


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
    title = N_("That change is not allowed in the current state")


def task_transition(state: TaskState | str, event: TaskEvent | str) -> TaskState:
    """The state a task moves to on ``event``; raises IllegalTransition when not allowed."""
    st, ev = TaskState(state), TaskEvent(event)
    try:
        return _TASK_TRANSITIONS[st][ev]
    except KeyError:
        raise IllegalTransition(Msg("a task that is {state} cannot {event}", state=st.value, event=ev.value)) from None


@dataclass(frozen=True)
class Stage:
    name: str
    kind: StageKind
    overlap: int = 1  # annotate: the number of answers (with dynamic overlap, the most)
    sample_rate: float = 1.0
    min_overlap: int | None = None  # dynamic overlap: the answers every item gets
    confidence: float | None = None  # dynamic overlap: stop once the aggregate is this sure

    @property
    def dynamic(self) -> bool:
        return self.confidence is not None

    @property
    def start_overlap(self) -> int:
        return self.min_overlap if self.min_overlap is not None else self.overlap

    def overlap_text(self) -> str:
        if self.dynamic:
            return f"overlap={self.start_overlap}..{self.overlap}, confidence={self.confidence:g}"
        return f"overlap={self.overlap}"


@dataclass(frozen=True)
class Workflow:
    stages: tuple[Stage, ...]
    rework_to: Literal["same", "any"] = "same"

    @property
    def overlap(self) -> int:
        return self.stages[0].overlap

    @property
    def dynamic(self) -> bool:
        return self.stages[0].dynamic

    def to_json(self) -> dict[str, Any]:
        stages = []
        for s in self.stages:
            row: dict[str, Any] = {"name": s.name, "kind": s.kind.value, "overlap": s.overlap,
                                   "sample_rate": s.sample_rate}
            if s.dynamic:
                row.update(min_overlap=s.start_overlap, confidence=s.confidence)
            stages.append(row)
        return {"stages": stages, "rework_to": self.rework_to}

    def describe(self) -> str:
        parts = []
        for s in self.stages:
            arg = s.overlap_text() if s.kind is StageKind.ANNOTATE else f"sample_rate={s.sample_rate:g}"
            parts.append(f"{s.kind.value}({arg})")
        return " -> ".join([*parts, "done"])


_STAGE_RE = re.compile(r"^\s*(annotate|review)\s*(?:\((.*)\))?\s*$")


def _stage_from_text(text: str, index: int) -> dict[str, Any]:
    m = _STAGE_RE.match(text)
    if not m:
        raise ValidationFailed(
            Msg("workflow stage {n} {text!r} is not understood; write e.g. "
                "'annotate(overlap=2) -> review(sample_rate=0.2)'", n=index + 1, text=text),
            field=f"workflow.stages[{index}]",
        )
    out: dict[str, Any] = {"kind": m.group(1)}
    for arg in filter(None, (a.strip() for a in (m.group(2) or "").split(","))):
        key, _, value = arg.partition("=")
        key, value = key.strip(), value.strip()
        if key == "overlap" and ".." in value:  # dynamic overlap: MIN..MAX
            low, _, high = value.partition("..")
            out["min_overlap"], value = low.strip(), high.strip()
        out[key] = value
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
        raise ValidationFailed(Msg("workflow must be a text, a list of stages or a mapping"), field="workflow")
    if rework_to not in ("same", "any"):
        raise ValidationFailed(Msg("workflow.rework_to must be 'same' or 'any'"), field="workflow.rework_to")
    if not raw:
        raise ValidationFailed(Msg("workflow needs at least an annotate stage"), field="workflow.stages")
    stages: list[Stage] = []
    for i, s in enumerate(raw):
        field = f"workflow.stages[{i}]"
        if isinstance(s, str):
            s = _stage_from_text(s, i)
        if not isinstance(s, dict):
            raise ValidationFailed(Msg("{field} must be a mapping", field=field), field=field)
        try:
            kind = StageKind(s.get("kind", ""))
        except ValueError:
            raise ValidationFailed(Msg("{field}.kind must be 'annotate' or 'review'", field=field),
                                   field=f"{field}.kind") from None
        if (i == 0) != (kind is StageKind.ANNOTATE):
            raise ValidationFailed(
                Msg("the first stage must be annotate and only the first; later stages are reviews"),
                field=f"{field}.kind",
            )
        try:
            overlap = int(s.get("overlap", 1))
            rate = float(s.get("sample_rate", 1.0))
        except (TypeError, ValueError):
            raise ValidationFailed(
                Msg("{field}: overlap must be a whole number, sample_rate a number", field=field), field=field
            ) from None
        if not 1 <= overlap <= 20:
            raise ValidationFailed(Msg("{field}.overlap must be between 1 and 20", field=field),
                                   field=f"{field}.overlap")
        if not 0.0 <= rate <= 1.0:
            raise ValidationFailed(Msg("{field}.sample_rate must be between 0 and 1", field=field),
                                   field=f"{field}.sample_rate")
        low, confidence = _dynamic_overlap(s, field, overlap, kind)
        name = str(s.get("name") or (kind.value if i == 0 else f"review{i}" if i > 1 else "review"))
        stages.append(Stage(name=name, kind=kind, overlap=overlap, sample_rate=rate, min_overlap=low,
                            confidence=confidence))
    return Workflow(stages=tuple(stages), rework_to=rework_to)  # type: ignore[arg-type]


def _dynamic_overlap(s: dict[str, Any], field: str, overlap: int, kind: StageKind) -> tuple[int | None, float | None]:
    """(min_overlap, confidence) of an annotate stage with dynamic overlap; (None, None) otherwise."""
    has_min, has_conf = s.get("min_overlap") is not None, s.get("confidence") is not None
    if not has_min and not has_conf:
        return None, None
    if kind is not StageKind.ANNOTATE:
        raise ValidationFailed(Msg("{field}: only the annotate stage has an overlap", field=field),
                               field=f"{field}.overlap")
    if not has_conf:
        raise ValidationFailed(Msg("{field}: overlap=MIN..MAX needs a target, e.g. confidence=0.95", field=field),
                               field=f"{field}.confidence")
    try:
        low = int(s["min_overlap"]) if has_min else 1
        confidence = float(s["confidence"])
    except (TypeError, ValueError):
        raise ValidationFailed(Msg("{field}: overlap=MIN..MAX takes whole numbers, confidence a number", field=field),
                               field=f"{field}.overlap") from None
    if not 1 <= low <= overlap:
        raise ValidationFailed(Msg("{field}.overlap: the least overlap ({low}) must be from 1 to the most ({most})",
                                   field=field, low=low, most=overlap), field=f"{field}.overlap")
    if not 0.5 <= confidence < 1.0:
        raise ValidationFailed(Msg("{field}.confidence must be at least 0.5 and below 1", field=field),
                               field=f"{field}.confidence")
    return low, confidence


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
    return [NewTask(stage=0, kind=StageKind.ANNOTATE, slot=slot) for slot in range(wf.stages[0].start_overlap)]


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


OverlapStep = Literal["done", "wait", "more"]


def overlap_next(wf: Workflow, *, accepted: int, open_tasks: int, confidence: float | None) -> OverlapStep:
    """After an answer was accepted: is the item done, still waiting for open tasks, or does it need one more answer?

    Fixed overlap: done when every slot is accepted. Dynamic overlap: once every open slot is
    answered and at least the least overlap is accepted, done when the aggregate's ``confidence``
    reached the target or the most answers are in; else one more slot. An item whose answers
    cannot be aggregated (``confidence`` None) is done at the least overlap.
    """
    stage = wf.stages[0]
    if open_tasks > 0:
        return "wait"
    if not stage.dynamic:
        return "done" if accepted >= stage.overlap else "wait"
    if accepted < stage.start_overlap:
        return "wait"
    assert stage.confidence is not None
    if accepted >= stage.overlap or confidence is None or confidence >= stage.confidence:
        return "done"
    return "more"
