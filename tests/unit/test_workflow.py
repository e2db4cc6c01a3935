"""seatflow.domain.workflow: parsing, the task state machine, and the decisions after an answer or review."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatflow.domain.workflow import (
    Accept,
    IllegalTransition,
    NewTask,
    Stage,
    StageKind,
    TaskEvent,
    TaskState,
    Verdict,
    Workflow,
    after_answer,
    after_review,
    initial_tasks,
    item_is_done,
    parse_workflow,
    sample_draw,
    task_transition,
)
from seatflow.errors import Conflict, ValidationFailed

# --- parse_workflow: the good forms -------------------------------------------------------------------


def test_text_form_with_arguments() -> None:
    got = parse_workflow("annotate(overlap=2) -> review(sample_rate=0.2)")
    assert got == Workflow(stages=(
        Stage(name="annotate", kind=StageKind.ANNOTATE, overlap=2, sample_rate=1.0),
        Stage(name="review", kind=StageKind.REVIEW, overlap=1, sample_rate=0.2),
    ))
    assert got.overlap == 2 and got.rework_to == "same"


@pytest.mark.parametrize("text", [
    "annotate",
    "annotate()",
    "  annotate ( overlap = 1 )  ",
    "annotate -> done",
    "annotate(overlap=1) ->  -> done",
])
def test_text_form_defaults(text: str) -> None:
    assert parse_workflow(text) == Workflow(stages=(Stage("annotate", StageKind.ANNOTATE, 1, 1.0),))


def test_text_form_names_the_review_stages_in_order() -> None:
    got = parse_workflow("annotate(overlap=3) -> review(sample_rate=1) -> review(sample_rate=0.05) -> done")
    assert [s.name for s in got.stages] == ["annotate", "review", "review2"]
    assert [s.kind for s in got.stages] == [StageKind.ANNOTATE, StageKind.REVIEW, StageKind.REVIEW]
    assert [s.sample_rate for s in got.stages] == [1.0, 1.0, 0.05]
    assert got.overlap == 3


def test_list_of_texts_and_of_mappings() -> None:
    assert parse_workflow(["annotate(overlap=2)", "review(sample_rate=0.5)"]) == \
        parse_workflow("annotate(overlap=2) -> review(sample_rate=0.5)")
    got = parse_workflow([{"kind": "annotate", "overlap": 2, "name": "label"},
                          {"kind": "review", "sample_rate": 0.25, "name": "qa"}])
    assert got.stages == (Stage("label", StageKind.ANNOTATE, 2, 1.0), Stage("qa", StageKind.REVIEW, 1, 0.25))


def test_mapping_form_and_rework_to() -> None:
    got = parse_workflow({"stages": ["annotate", {"kind": "review"}], "rework_to": "any"})
    assert got.rework_to == "any"
    assert [s.kind for s in got.stages] == [StageKind.ANNOTATE, StageKind.REVIEW]
    assert parse_workflow({"stages": ["annotate"]}).rework_to == "same"


def test_numbers_in_text_and_mappings_may_be_strings() -> None:
    assert parse_workflow([{"kind": "annotate", "overlap": "3"}, {"kind": "review", "sample_rate": "0.5"}]) \
        == parse_workflow("annotate(overlap=3) -> review(sample_rate=0.5)")


@pytest.mark.parametrize(("overlap", "rate"), [(1, 0.0), (20, 1.0)])
def test_bounds_are_inclusive(overlap: int, rate: float) -> None:
    got = parse_workflow(f"annotate(overlap={overlap}) -> review(sample_rate={rate})")
    assert got.overlap == overlap and got.stages[1].sample_rate == rate


def test_to_json_describe_and_round_trip() -> None:
    got = parse_workflow({"stages": ["annotate(overlap=2)", "review(sample_rate=0.3)", "review"],
                          "rework_to": "any"})
    assert got.to_json() == {
        "stages": [
            {"name": "annotate", "kind": "annotate", "overlap": 2, "sample_rate": 1.0},
            {"name": "review", "kind": "review", "overlap": 1, "sample_rate": 0.3},
            {"name": "review2", "kind": "review", "overlap": 1, "sample_rate": 1.0},
        ],
        "rework_to": "any",
    }
    assert got.describe() == "annotate(overlap=2) -> review(sample_rate=0.3) -> review(sample_rate=1) -> done"
    assert parse_workflow(got.to_json()) == got
    assert parse_workflow(got.describe()) == Workflow(stages=got.stages, rework_to="same")


@settings(max_examples=200)
@given(
    overlap=st.integers(1, 20),
    rates=st.lists(st.floats(0.0, 1.0, allow_nan=False), max_size=4),
    rework=st.sampled_from(["same", "any"]),
)
def test_every_valid_workflow_survives_to_json_and_back(overlap: int, rates: list[float], rework: str) -> None:
    stages = [{"kind": "annotate", "overlap": overlap}] + [{"kind": "review", "sample_rate": r} for r in rates]
    got = parse_workflow({"stages": stages, "rework_to": rework})
    assert len(got.stages) == 1 + len(rates) and got.overlap == overlap and got.rework_to == rework
    assert parse_workflow(got.to_json()) == got
    assert len({s.name for s in got.stages}) == len(got.stages), "stage names must be distinct"


# --- parse_workflow: every bad case names its field ---------------------------------------------------

BAD: list[tuple[Any, str, str]] = [
    # (input, field, a word the message must contain)
    (42, "workflow", "text"),
    (None, "workflow", "text"),
    (("annotate",), "workflow", "text"),
    ("", "workflow.stages", "at least"),
    ("done", "workflow.stages", "at least"),
    ([], "workflow.stages", "at least"),
    ({}, "workflow.stages", "at least"),
    ({"stages": None}, "workflow.stages", "at least"),
    ({"stages": ["annotate"], "rework_to": "nobody"}, "workflow.rework_to", "same"),
    ("label(overlap=2)", "workflow.stages[0]", "not understood"),
    ("annotate(overlap=2", "workflow.stages[0]", "not understood"),
    ("annotate -> approve", "workflow.stages[1]", "not understood"),
    ("annotate -> review -> review(sample_rate=0.1", "workflow.stages[2]", "not understood"),
    ([42], "workflow.stages[0]", "mapping"),
    (["annotate", None], "workflow.stages[1]", "mapping"),
    ([{"overlap": 2}], "workflow.stages[0].kind", "annotate"),
    ([{"kind": "label"}], "workflow.stages[0].kind", "annotate"),
    ("review", "workflow.stages[0].kind", "first stage"),
    ("annotate -> annotate", "workflow.stages[1].kind", "first stage"),
    ("annotate -> review -> annotate", "workflow.stages[2].kind", "first stage"),
    ("annotate(overlap=two)", "workflow.stages[0]", "whole number"),
    ("annotate(overlap=1.5)", "workflow.stages[0]", "whole number"),
    ("annotate(overlap=)", "workflow.stages[0]", "whole number"),
    ("annotate -> review(sample_rate=often)", "workflow.stages[1]", "number"),
    ([{"kind": "annotate", "overlap": None}], "workflow.stages[0]", "whole number"),
    ([{"kind": "annotate", "overlap": [2]}], "workflow.stages[0]", "whole number"),
    ("annotate(overlap=0)", "workflow.stages[0].overlap", "between 1 and 20"),
    ("annotate(overlap=-1)", "workflow.stages[0].overlap", "between 1 and 20"),
    ("annotate(overlap=21)", "workflow.stages[0].overlap", "between 1 and 20"),
    ("annotate -> review(sample_rate=-0.01)", "workflow.stages[1].sample_rate", "between 0 and 1"),
    ("annotate -> review(sample_rate=1.5)", "workflow.stages[1].sample_rate", "between 0 and 1"),
    ("annotate -> review(sample_rate=nan)", "workflow.stages[1].sample_rate", "between 0 and 1"),
    ([{"kind": "annotate"}, {"kind": "review", "sample_rate": 2}], "workflow.stages[1].sample_rate", "between"),
]


@pytest.mark.parametrize(("data", "field", "word"), BAD, ids=[repr(b[0])[:40] for b in BAD])
def test_bad_workflow_names_the_field(data: Any, field: str, word: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_workflow(data)
    assert info.value.field == field
    assert word in info.value.detail
    assert info.value.status == 422


def test_a_stage_that_is_not_understood_is_quoted_with_an_example() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_workflow("annotate -> reveiw(sample_rate=0.2)")
    assert "stage 2 'reveiw(sample_rate=0.2)'" in info.value.detail
    assert "annotate(overlap=2) -> review(sample_rate=0.2)" in info.value.detail


# --- the task state machine -------------------------------------------------------------------------------

LEGAL = {
    (TaskState.READY, TaskEvent.LEASE): TaskState.LEASED,
    (TaskState.READY, TaskEvent.CANCEL): TaskState.CANCELLED,
    (TaskState.LEASED, TaskEvent.SUBMIT): TaskState.DONE,
    (TaskState.LEASED, TaskEvent.EXPIRE): TaskState.READY,
    (TaskState.LEASED, TaskEvent.RELEASE): TaskState.READY,
    (TaskState.LEASED, TaskEvent.CANCEL): TaskState.CANCELLED,
}
PAIRS = [(s, e) for s in TaskState for e in TaskEvent]


@pytest.mark.parametrize(("state", "event"), PAIRS, ids=[f"{s.value}-{e.value}" for s, e in PAIRS])
def test_task_transition_table(state: TaskState, event: TaskEvent) -> None:
    if (state, event) in LEGAL:
        assert task_transition(state, event) is LEGAL[(state, event)]
        assert task_transition(state.value, event.value) is LEGAL[(state, event)]  # plain strings too
    else:
        with pytest.raises(IllegalTransition) as info:
            task_transition(state, event)
        assert info.value.detail == f"a task that is {state.value} cannot {event.value}"
        assert isinstance(info.value, Conflict) and info.value.status == 409
        assert info.value.code == "illegal-transition"


def test_done_and_cancelled_are_final() -> None:
    for final in (TaskState.DONE, TaskState.CANCELLED):
        for event in TaskEvent:
            with pytest.raises(IllegalTransition):
                task_transition(final, event)


def test_unknown_state_or_event_is_refused() -> None:
    with pytest.raises(ValueError):
        task_transition("parked", "lease")
    with pytest.raises(ValueError):
        task_transition("ready", "steal")


@settings(max_examples=300)
@given(st.lists(st.sampled_from(list(TaskEvent)), max_size=30))
def test_any_event_sequence_keeps_a_task_in_a_known_state(events: list[TaskEvent]) -> None:
    """Apply events, skipping the illegal ones: a lease always precedes a submit, nothing leaves done."""
    state, leased = TaskState.READY, False
    for ev in events:
        try:
            new = task_transition(state, ev)
        except IllegalTransition:
            assert (state, ev) not in LEGAL
            continue
        if ev is TaskEvent.SUBMIT:
            assert leased and state is TaskState.LEASED
        leased = new is TaskState.LEASED
        if state in (TaskState.DONE, TaskState.CANCELLED):
            pytest.fail(f"left the final state {state}")
        state = new
    assert state in TaskState


# --- decisions ---------------------------------------------------------------------------------------------


def test_initial_tasks_one_annotate_task_per_slot() -> None:
    assert initial_tasks(parse_workflow("annotate(overlap=3) -> review")) == [
        NewTask(stage=0, kind=StageKind.ANNOTATE, slot=s) for s in range(3)
    ]


def test_after_answer_without_review_accepts() -> None:
    assert after_answer(parse_workflow("annotate"), item_id=1, slot=0, submission_id=9) == Accept()


def test_after_answer_goes_to_a_review_that_always_samples() -> None:
    got = after_answer(parse_workflow("annotate(overlap=2) -> review(sample_rate=1)"), item_id=5, slot=1,
                       submission_id=77)
    assert got == NewTask(stage=1, kind=StageKind.REVIEW, slot=1, target_submission_id=77, assignee_id=None)


def test_after_answer_skips_a_review_that_never_samples() -> None:
    w = parse_workflow("annotate -> review(sample_rate=0) -> review(sample_rate=1)")
    assert after_answer(w, item_id=5, slot=0, submission_id=7) == NewTask(
        stage=2, kind=StageKind.REVIEW, slot=0, target_submission_id=7)
    assert after_answer(parse_workflow("annotate -> review(sample_rate=0)"), item_id=5, slot=0,
                        submission_id=7) == Accept()


def test_after_answer_sampling_follows_the_draw() -> None:
    w = parse_workflow("annotate -> review(sample_rate=0.5)")
    for sub in range(200):
        got = after_answer(w, item_id=3, slot=0, submission_id=sub)
        expected_review = sample_draw(3, 1, sub) < 0.5
        assert isinstance(got, NewTask) == expected_review
        assert got == after_answer(w, item_id=3, slot=0, submission_id=sub)  # reproducible


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.8])
def test_after_answer_samples_at_about_the_rate(rate: float) -> None:
    w = parse_workflow(f"annotate -> review(sample_rate={rate})")
    n = 4000
    reviewed = sum(isinstance(after_answer(w, item_id=i, slot=0, submission_id=10_000 + i), NewTask)
                   for i in range(n))
    sd = math.sqrt(n * rate * (1 - rate))
    assert abs(reviewed - n * rate) < 5 * sd, f"{reviewed} of {n} reviewed at rate {rate}"


@pytest.mark.parametrize(("rework_to", "assignee"), [("same", 42), ("any", None)])
def test_a_rework_is_always_reviewed_where_it_was_rejected(rework_to: str, assignee: int | None) -> None:
    w = parse_workflow({"stages": ["annotate", "review(sample_rate=0)", "review(sample_rate=0)"],
                        "rework_to": rework_to})
    for stage in (1, 2):
        got = after_answer(w, item_id=1, slot=0, submission_id=8, from_stage=stage, forced=True, reviewer_id=42)
        assert got == NewTask(stage=stage, kind=StageKind.REVIEW, slot=0, target_submission_id=8,
                              assignee_id=assignee)


def test_a_forced_rework_with_no_reviewer_known_goes_to_anyone() -> None:
    w = parse_workflow("annotate -> review(sample_rate=0)")
    got = after_answer(w, item_id=1, slot=0, submission_id=8, from_stage=1, forced=True, reviewer_id=None)
    assert isinstance(got, NewTask) and got.assignee_id is None


@pytest.mark.parametrize(("rework_to", "assignee"), [("same", 501), ("any", None)])
def test_after_review_reject_sends_the_answer_to_rework(rework_to: str, assignee: int | None) -> None:
    w = parse_workflow({"stages": ["annotate(overlap=2)", "review", "review"], "rework_to": rework_to})
    for stage in (1, 2):
        got = after_review(w, verdict=Verdict.REJECT, item_id=4, slot=1, review_stage=stage, submission_id=60,
                           author_id=501)
        assert got == NewTask(stage=0, kind=StageKind.ANNOTATE, slot=1, target_submission_id=60,
                              assignee_id=assignee)


def test_after_review_accept_goes_to_the_next_sampled_stage_or_accepts() -> None:
    w = parse_workflow("annotate -> review(sample_rate=1) -> review(sample_rate=0) -> review(sample_rate=1)")
    kw: dict[str, Any] = {"verdict": Verdict.ACCEPT, "item_id": 2, "slot": 0, "submission_id": 3, "author_id": 9}
    assert after_review(w, review_stage=1, **kw) == NewTask(stage=3, kind=StageKind.REVIEW, slot=0,
                                                             target_submission_id=3)
    assert after_review(w, review_stage=3, **kw) == Accept()
    assert after_review(parse_workflow("annotate -> review"), review_stage=1, **kw) == Accept()


@settings(max_examples=300)
@given(
    rates=st.lists(st.sampled_from([0.0, 0.5, 1.0]), min_size=1, max_size=3),
    item=st.integers(1, 10**6), sub=st.integers(1, 10**6), slot=st.integers(0, 19),
    rework=st.sampled_from(["same", "any"]),
)
def test_decisions_always_stay_on_their_slot_and_move_forward(rates: list[float], item: int, sub: int, slot: int,
                                                              rework: str) -> None:
    w = parse_workflow({"stages": ["annotate(overlap=20)"] + [f"review(sample_rate={r})" for r in rates],
                        "rework_to": rework})
    first = after_answer(w, item_id=item, slot=slot, submission_id=sub)
    if isinstance(first, NewTask):
        assert first.slot == slot and first.kind is StageKind.REVIEW and first.stage >= 1
        assert first.target_submission_id == sub and first.assignee_id is None
        assert w.stages[first.stage].sample_rate > 0
        for verdict in Verdict:
            nxt = after_review(w, verdict=verdict, item_id=item, slot=slot, review_stage=first.stage,
                               submission_id=sub, author_id=7)
            if isinstance(nxt, NewTask):
                assert nxt.slot == slot
                if verdict is Verdict.REJECT:
                    assert nxt.kind is StageKind.ANNOTATE and nxt.stage == 0
                else:
                    assert nxt.kind is StageKind.REVIEW and nxt.stage > first.stage
            else:
                assert verdict is Verdict.ACCEPT
    else:
        assert all(sample_draw(item, r, sub) >= w.stages[r].sample_rate for r in range(1, len(w.stages)))


@pytest.mark.parametrize(("overlap", "accepted", "done"), [(1, 0, False), (1, 1, True), (3, 2, False),
                                                           (3, 3, True), (3, 4, True)])
def test_item_is_done_when_every_slot_is_accepted(overlap: int, accepted: int, done: bool) -> None:
    assert item_is_done(parse_workflow(f"annotate(overlap={overlap})"), accepted) is done


# --- sample_draw --------------------------------------------------------------------------------------------


def test_sample_draw_is_reproducible_and_depends_on_every_part() -> None:
    assert sample_draw(1, 2, 3) == sample_draw(1, 2, 3) == sample_draw("1", "2", "3")
    assert len({sample_draw(1, 2, 3), sample_draw(1, 2, 4), sample_draw(1, 3, 3), sample_draw(2, 2, 3)}) == 4
    assert sample_draw(12, 3) != sample_draw(1, 23), "parts are separated, not concatenated"


@settings(max_examples=300)
@given(st.lists(st.one_of(st.integers(), st.text(max_size=10)), max_size=4))
def test_sample_draw_is_in_the_unit_interval(parts: list[Any]) -> None:
    assert 0.0 <= sample_draw(*parts) < 1.0


def test_sample_draw_is_roughly_uniform() -> None:
    n, bins = 20_000, 20
    draws = [sample_draw(item, 1, sub) for item in range(200) for sub in range(100)]
    assert len(draws) == n
    counts = Counter(int(d * bins) for d in draws)
    chi2 = sum((counts[b] - n / bins) ** 2 / (n / bins) for b in range(bins))
    # 19 degrees of freedom: P(chi2 > 50) is about 1e-4 for a uniform source
    assert chi2 < 50, f"chi-square {chi2:.1f} over {bins} bins: {sorted(counts.items())}"
    assert abs(sum(draws) / n - 0.5) < 0.01


def test_sample_draw_is_not_correlated_between_stages() -> None:
    """The decision at review stage 2 must not just repeat stage 1's (both sampled at 50%)."""
    both = sum(sample_draw(i, 1, i * 7) < 0.5 and sample_draw(i, 2, i * 7) < 0.5 for i in range(8000))
    assert abs(both - 2000) < 5 * math.sqrt(8000 * 0.25 * 0.75)

