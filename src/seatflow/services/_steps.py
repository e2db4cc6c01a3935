"""Listeners told, inside the same transaction, that an answer or a verdict moved an item on.

The work engine (``services/answers.py``) stays free of any one work type's rules: after a submit
or a review has written its rows, it calls :func:`notify` with a :class:`Step`. A work type's own
service registers a listener for its projects (moderation records the client-facing decision and
its outbox event there). A listener runs in the caller's transaction: what it writes commits with
the answer, and when it raises, the answer is rolled back with it (so a listener may also refuse a
step, e.g. a senior accepting an escalation without deciding it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class Step:
    """One submit or review that was just recorded."""

    action: str  # "submit" or "review"
    work_type: str
    client_id: int
    project_id: int
    item_id: int
    task_id: int
    task_kind: str  # kind of the task that was answered: "annotate" or "review"
    stage: int
    slot: int
    actor_id: int
    at: datetime
    label_schema: Any
    workflow: Any
    submission_id: int  # the answer given (submit) or the answer reviewed (review)
    next_step: str  # "review", "accepted", "rework"
    item_done: bool
    answer: dict[str, Any] | None = None  # submit: the parsed answer
    review_id: int | None = None
    verdict: str | None = None
    fixed_answer: dict[str, Any] | None = None
    reviewed_answer: dict[str, Any] | None = None  # review: the answer under review


Listener = Callable[[Connection, Step], None]
_LISTENERS: dict[str, list[Listener]] = {}


def listen(work_type: str, listener: Listener) -> None:
    """Call ``listener`` after every submit and review on projects of ``work_type`` (once per function)."""
    chain = _LISTENERS.setdefault(work_type, [])
    if listener not in chain:
        chain.append(listener)


def notify(conn: Connection, step: Step) -> None:
    for listener in _LISTENERS.get(step.work_type, ()):
        listener(conn, step)


# The built-in listeners register themselves on import.
from . import moderation_flow  # noqa: E402,F401
