"""Property-based test of the work engine: random leases, answers, reviews, expiries and releases
driven through the real services on the real database, with the invariants checked after every step.

Each hypothesis example gets a fresh migrated database (a copy of the session's SQLite template,
or the test's PostgreSQL database emptied by TRUNCATE ... RESTART IDENTITY) and a center with two
projects whose workflows are drawn at random (overlap 1-3, zero to two review stages sampled at 0,
50 or 100 %, rework to the same worker or to anyone). Time is a fake clock: every service call gets ``now=``.

The machine keeps its own model of the leases it holds and checks each service answer against it
(what may be leased, in which order, what must be refused). The invariants read the whole database:

* at most one open lease per task; a leased task has a live lease row of its worker, and the open
  lease rows are exactly the leases the model holds;
* no item is done twice; an item is done exactly when each of its slots has one accepted answer;
  each slot of an active item has one accepted answer or one open (ready/leased) task: never lost;
* every pending answer has one open review task, every rejected one a rework (open or answered);
* no worker has two answers on one item unless the later ones rework their own;
* nobody reviews an item they annotated; a second review of one item by the same reviewer is only
  the re-review assigned to the reviewer who rejected it;
* each task's event history replays through ``domain.workflow.task_transition`` to its state.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from seatflow.domain.actors import Actor, Role
from seatflow.domain.workflow import TaskState, task_transition
from seatflow.errors import Forbidden, LeaseExpired, NotFound, NoWork, ValidationFailed
from seatflow.services import answers, dispatch
from seatflow.services._tx import transact
from seatflow.services.accounts import create_client, create_user, grant
from seatflow.services.imports import Record, import_records
from seatflow.services.projects import create_project
from seatflow.store.engine import Database, make_engine
from seatflow.store.tables import events, items, leases, metadata, projects, reviews, submissions, tasks

T0 = datetime(2031, 3, 1, 8, 0, tzinfo=UTC)
LEASE = 60  # seconds

# who may do what: project -> {user: skills}
ANNOTATORS = {"p1": ["a0", "a1", "a2", "a3", "b0"], "p2": ["a0", "a1", "a2"]}
REVIEWERS = {"p1": ["r0", "r1", "r2", "b0"], "p2": ["r0", "r1"]}
USERS = ["a0", "a1", "a2", "a3", "b0", "r0", "r1", "r2", "idle"]  # b0 both annotates and reviews; idle nothing
ITEMS = {"p1": 3, "p2": 2}

workflows = st.fixed_dictionaries({
    "overlap": st.integers(1, 3),
    "reviews": st.lists(st.sampled_from([0.0, 0.5, 1.0]), max_size=2),
    "rework_to": st.sampled_from(["same", "any"]),
})


@dataclass
class Held:
    """A lease the machine holds (or held: ``gone`` once reaped)."""

    lease_id: int
    user: str
    task_id: int
    item_id: int
    kind: str
    expires: datetime


class EngineMachine(RuleBasedStateMachine):
    new_url: Callable[[], str]  # set by the test: a fresh migrated database per example

    def __init__(self) -> None:
        super().__init__()
        self.db = Database(make_engine(type(self).new_url(), pool_size=2))
        self.now = T0
        self.held: dict[int, Held] = {}  # open leases, by lease id
        self.answered: dict[str, tuple[int, str, int, str]] = {}  # idempotency key -> (lease, user, id)
        self.keys = itertools.count()
        self.actors: dict[str, Actor] = {}
        self.pids: dict[str, int] = {}
        self.ready = False

    def teardown(self) -> None:
        self.db.dispose()

    # --- the center ------------------------------------------------------------------------------

    @initialize(wf1=workflows, wf2=workflows, priorities=st.lists(st.integers(0, 2), min_size=5, max_size=5))
    def seed(self, wf1: dict[str, Any], wf2: dict[str, Any], priorities: list[int]) -> None:
        with self.db.write() as conn:
            create_client(conn, None, slug="acme", name="Acme")
            for slug, w in (("p1", wf1), ("p2", wf2)):
                stages = [f"annotate(overlap={w['overlap']})"] + [f"review(sample_rate={r})" for r in w["reviews"]]
                self.pids[slug] = create_project(conn, None, {
                    "slug": slug, "name": slug, "client": "acme", "work_type": "text_annotation",
                    "workflow": {"stages": stages, "rework_to": w["rework_to"]}})
            for name in USERS:
                uid = create_user(conn, None, username=name, password=None, role="worker")
                self.actors[name] = Actor(id=uid, username=name, role=Role.WORKER)
            for slug in ("p1", "p2"):
                for name in ANNOTATORS[slug]:
                    grant(conn, None, username=name, project_slug=slug, skill="annotate")
                for name in REVIEWERS[slug]:
                    grant(conn, None, username=name, project_slug=slug, skill="review")
        prio = iter(priorities)
        for slug, n in ITEMS.items():
            recs = [Record(f"{slug}.jsonl", k + 1, {"external_id": f"{slug}-{k}", "priority": next(prio),
                                                    "text": "Alipay refund from Hangzhou never arrived."})
                    for k in range(n)]
            assert import_records(self.db, None, slug, recs, source=f"{slug}.jsonl").imported == n
        with self.db.read() as conn:
            self.overlap = {r.id: r.workflow["stages"][0]["overlap"]
                            for r in conn.execute(select(projects.c.id, projects.c.workflow))}
        self.uid_name = {a.id: n for n, a in self.actors.items()}
        self.ready = True

    # --- helpers -------------------------------------------------------------------------------------

    def key(self) -> str:
        return f"key-{next(self.keys)}"

    def live(self, kind: str | None = None) -> list[Held]:
        return sorted((h for h in self.held.values() if h.expires > self.now and kind in (None, h.kind)),
                      key=lambda h: h.lease_id)

    def counts(self) -> tuple[int, int, int]:
        with self.db.read() as conn:
            return (len(conn.execute(select(submissions.c.id)).all()), len(conn.execute(select(reviews.c.id)).all()),
                    len(conn.execute(select(events.c.id)).all()))

    def eligible(self, user: str, project: str | None) -> tuple[list[Any], list[Any]]:
        """(assigned, queue) ready tasks ``user`` may lease, by the dispatch rules written afresh here."""
        uid = self.actors[user].id
        pid = self.pids[project] if project else None
        skills = {(self.pids[p], "annotate") for p, names in ANNOTATORS.items() if user in names} | \
            {(self.pids[p], "review") for p, names in REVIEWERS.items() if user in names}
        with self.db.read() as conn:
            touched = set(conn.execute(select(submissions.c.item_id).where(submissions.c.user_id == uid)).scalars())
            touched |= set(conn.execute(select(reviews.c.item_id).where(reviews.c.reviewer_id == uid)).scalars())
            touched |= set(conn.execute(select(tasks.c.item_id).where(
                tasks.c.leased_by == uid, tasks.c.state == "leased")).scalars())
            ready = list(conn.execute(select(tasks).where(tasks.c.state == "ready")))
        ready = [t for t in ready if pid is None or t.project_id == pid]
        assigned = [t for t in ready if t.assignee_id == uid]
        queue = [t for t in ready if t.assignee_id is None and (t.project_id, t.kind) in skills
                 and t.item_id not in touched]
        return assigned, queue

    # --- the calls, checked against the model -------------------------------------------------------

    def do_lease(self, user: str, project: str | None) -> Held | None:
        actor = self.actors[user]
        pid = self.pids[project] if project else None
        assigned, queue = self.eligible(user, project)
        if project is None:
            qualified = user != "idle"
        else:
            qualified = user in ANNOTATORS[project] + REVIEWERS[project]
        try:
            got = transact(self.db, lambda c: dispatch.next_task(c, actor, project_id=pid, lease_seconds=LEASE,
                                                                   now=self.now))
        except NotFound as exc:
            assert project is not None and not qualified, exc.detail
            assert exc.field == "project_id"
            return None
        except NoWork as exc:
            assert not assigned and not queue, f"{user} got no work but could take {assigned or queue}"
            assert qualified or "not qualified" in exc.detail
            return None
        assert qualified
        if assigned:  # own rework (or the re-review assigned to the rejecting reviewer) first
            assert got.task_id in {t.id for t in assigned}, f"{user} skipped the task reserved for them"
            event("leased an assigned task")
        else:
            mine = {t.id: t for t in queue}
            assert got.task_id in mine, f"{user} was given task {got.task_id}, not one they may take"
            same_queue = [t for t in queue if (t.project_id, t.kind) == (got.project_id, got.kind)]
            best = min(same_queue, key=lambda t: (-t.priority, t.deadline, t.id))
            assert got.task_id == best.id, "the queue did not hand out its best task (priority, deadline, id)"
        assert got.expires_at == self.now + timedelta(seconds=LEASE)
        held = Held(got.lease_id, user, got.task_id, got.item_id, got.kind, got.expires_at)
        self.held[got.lease_id] = held
        return held

    def do_submit(self, h: Held) -> None:
        key = self.key()
        out = transact(self.db, lambda c: answers.submit(
            c, self.actors[h.user], lease_id=h.lease_id, answer={"classes": ["positive"]}, idempotency_key=key,
            now=self.now))
        assert not out.replayed and out.item_id == h.item_id and out.next_step in ("review", "accepted")
        del self.held[h.lease_id]
        self.answered[key] = (h.lease_id, h.user, out.id, "annotate")
        if out.item_done:
            event("an item was done")

    def do_review(self, h: Held, verdict: str, fix: bool) -> None:
        key = self.key()
        kwargs: dict[str, Any] = {"error_tags": ["wrong-class"]} if verdict == "reject" else {}
        if fix and verdict == "accept":
            kwargs["fixed_answer"] = {"classes": ["negative"]}
        out = transact(self.db, lambda c: answers.review(
            c, self.actors[h.user], lease_id=h.lease_id, verdict=verdict, idempotency_key=key, now=self.now,
            **kwargs))
        assert not out.replayed and out.item_id == h.item_id
        if verdict == "reject":
            assert out.next_step == "rework" and not out.item_done
            event("an answer was rejected")
        else:
            assert out.next_step in ("review", "accepted")
        if out.item_done:
            event("an item was done")
        del self.held[h.lease_id]
        self.answered[key] = (h.lease_id, h.user, out.id, "review")

    def answer(self, h: Held, verdict: str, fix: bool) -> None:
        if h.kind == "annotate":
            self.do_submit(h)
        else:
            self.do_review(h, verdict, fix)

    # --- rules -------------------------------------------------------------------------------------

    @precondition(lambda self: self.ready)
    @rule(user=st.sampled_from(USERS), project=st.sampled_from([None, "p1", "p2"]))
    def lease(self, user: str, project: str | None) -> None:
        self.do_lease(user, project)

    @precondition(lambda self: self.ready)
    @rule(user=st.sampled_from(USERS[:-1]), verdict=st.sampled_from(["accept", "reject"]), fix=st.booleans())
    def lease_and_answer(self, user: str, verdict: str, fix: bool) -> None:
        h = self.do_lease(user, None)
        if h is not None:
            self.answer(h, verdict, fix)

    @precondition(lambda self: self.live())
    @rule(data=st.data(), verdict=st.sampled_from(["accept", "reject"]), fix=st.booleans())
    def answer_a_held_lease(self, data: st.DataObject, verdict: str, fix: bool) -> None:
        self.answer(data.draw(st.sampled_from(self.live())), verdict, fix)

    @precondition(lambda self: self.ready)
    @rule(data=st.data(), what=st.sampled_from(["replay", "bad answer", "not yours", "reject without reason"]),
          intruder=st.sampled_from(USERS))
    def refused_or_replayed(self, data: st.DataObject, what: str, intruder: str) -> None:
        """Calls that must write nothing: a replay, a bad answer, someone else's lease, a bare reject."""
        before = self.counts()
        if what == "replay":
            if not self.answered:
                return
            key = data.draw(st.sampled_from(sorted(self.answered)))
            lease_id, user, first, kind = self.answered[key]
            if kind == "review":
                out = transact(self.db, lambda c: answers.review(
                    c, self.actors[user], lease_id=lease_id, verdict="accept", idempotency_key=key, now=self.now))
            else:
                out = transact(self.db, lambda c: answers.submit(
                    c, self.actors[user], lease_id=lease_id, answer={"classes": ["neutral"]},
                    idempotency_key=key, now=self.now))
            assert out.replayed and out.id == first
        elif what == "bad answer":
            if not self.live("annotate"):
                return
            h = data.draw(st.sampled_from(self.live("annotate")))
            with pytest.raises(ValidationFailed) as info:
                transact(self.db, lambda c: answers.submit(
                    c, self.actors[h.user], lease_id=h.lease_id, answer={"classes": ["furious"]},
                    idempotency_key=self.key(), now=self.now))
            assert info.value.field == "answer.classes[0]"
        elif what == "not yours":
            if not self.live():
                return
            h = data.draw(st.sampled_from(self.live()))
            if intruder == h.user:
                return
            with pytest.raises(Forbidden):
                transact(self.db, lambda c: answers.submit(
                    c, self.actors[intruder], lease_id=h.lease_id, answer={"classes": ["positive"]},
                    idempotency_key=self.key(), now=self.now))
        else:
            if not self.live("review"):
                return
            h = data.draw(st.sampled_from(self.live("review")))
            with pytest.raises(ValidationFailed) as info:
                transact(self.db, lambda c: answers.review(
                    c, self.actors[h.user], lease_id=h.lease_id, verdict="reject", idempotency_key=self.key(),
                    now=self.now))
            assert info.value.field == "error_tags"
        assert self.counts() == before, f"{what}: the call wrote something"

    @precondition(lambda self: self.held)
    @rule(data=st.data(), late=st.sampled_from([0, 1, 3600]))
    def submit_too_late(self, data: st.DataObject, late: int) -> None:
        """Advance the clock to the lease's expiry (or past it): the answer is refused, nothing written."""
        h = data.draw(st.sampled_from(sorted(self.held.values(), key=lambda x: x.lease_id)))
        self.now = max(self.now, h.expires + timedelta(seconds=late))
        before = self.counts()
        with pytest.raises(LeaseExpired):
            if h.kind == "annotate":
                transact(self.db, lambda c: answers.submit(
                    c, self.actors[h.user], lease_id=h.lease_id, answer={"classes": ["positive"]},
                    idempotency_key=self.key(), now=self.now))
            else:
                transact(self.db, lambda c: answers.review(
                    c, self.actors[h.user], lease_id=h.lease_id, verdict="accept", idempotency_key=self.key(),
                    now=self.now))
        assert self.counts() == before
        event("refused a late answer")

    @precondition(lambda self: self.ready)
    @rule(seconds=st.sampled_from([1, 20, LEASE, LEASE + 1, 600]), reap=st.booleans())
    def expire(self, seconds: int, reap: bool) -> None:
        """Let time pass; maybe run the reaper, which must return exactly the expired leases."""
        self.now += timedelta(seconds=seconds)
        if not reap:
            return
        n = transact(self.db, lambda c: dispatch.reap_expired(c, now=self.now))
        gone = [lid for lid, h in self.held.items() if h.expires < self.now]
        assert n == len(gone), f"reaper returned {n} tasks, {len(gone)} leases had expired"
        for lid in gone:
            del self.held[lid]
        if gone:
            event("reaped expired leases")
        assert transact(self.db, lambda c: dispatch.reap_expired(c, now=self.now)) == 0, "reaped twice"

    @precondition(lambda self: self.held)
    @rule(data=st.data(), everything=st.booleans())
    def release(self, data: st.DataObject, everything: bool) -> None:
        h = data.draw(st.sampled_from(sorted(self.held.values(), key=lambda x: x.lease_id)))
        mine = [x for x in self.held.values() if x.user == h.user]
        ids = None if everything else [h.lease_id]
        n = transact(self.db, lambda c: dispatch.release(c, self.actors[h.user], ids, now=self.now))
        gone = mine if everything else [h]
        assert n == len(gone)
        for x in gone:
            del self.held[x.lease_id]

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def heartbeat(self, data: st.DataObject) -> None:
        h = data.draw(st.sampled_from(sorted(self.held.values(), key=lambda x: x.lease_id)))
        mine = [x for x in self.held.values() if x.user == h.user]
        renewed = transact(self.db, lambda c: dispatch.renew(
            c, self.actors[h.user], [x.lease_id for x in mine], lease_seconds=LEASE, now=self.now))
        alive = [x for x in mine if x.expires > self.now]
        assert sorted(renewed) == sorted(x.lease_id for x in alive), "renewed a dead lease or missed a live one"
        for x in alive:
            x.expires = self.now + timedelta(seconds=LEASE)

    # --- invariants ---------------------------------------------------------------------------------

    @invariant()
    def the_database_keeps_the_rules(self) -> None:
        if not self.ready:
            return
        with self.db.read() as conn:
            all_tasks = {t.id: t for t in conn.execute(select(tasks))}
            all_leases = {r.id: r for r in conn.execute(select(leases))}
            subs = {s.id: s for s in conn.execute(select(submissions).order_by(submissions.c.id))}
            revs = list(conn.execute(select(reviews).order_by(reviews.c.id)))
            all_items = {i.id: i for i in conn.execute(select(items))}
            evs = list(conn.execute(select(events).order_by(events.c.id)))

        # leases: at most one open per task; a leased task has its live lease; the model agrees
        open_leases = [r for r in all_leases.values() if r.ended_at is None]
        per_task = Counter(r.task_id for r in open_leases)
        assert not per_task or max(per_task.values()) == 1, f"two open leases on a task: {per_task}"
        for t in all_tasks.values():
            if t.state == "leased":
                lease = all_leases.get(t.lease_id)
                assert lease is not None and lease.ended_at is None, f"task {t.id} leased without a live lease"
                assert (lease.task_id, lease.user_id, lease.expires_at) == (t.id, t.leased_by, t.lease_expires_at)
            else:
                assert per_task[t.id] == 0, f"task {t.id} is {t.state} but has an open lease"
                assert t.state != "ready" or (t.lease_id, t.leased_by, t.lease_expires_at) == (None, None, None)
        assert {r.id for r in open_leases} == set(self.held), "the open leases are not the ones handed out"
        for lid, h in self.held.items():
            assert all_leases[lid].expires_at == h.expires and self.uid_name[all_leases[lid].user_id] == h.user

        # answers and reviews came through their own live lease
        for s in subs.values():
            lease = all_leases[s.lease_id]
            assert lease.user_id == s.user_id and lease.task_id == s.task_id and s.created_at < lease.expires_at
            assert lease.end_reason == "submitted" and all_tasks[s.task_id].state == "done"
        for r in revs:
            lease = all_leases[r.lease_id]
            assert lease.user_id == r.reviewer_id and lease.task_id == r.task_id and r.created_at < lease.expires_at
            assert all_tasks[r.task_id].target_submission_id == r.submission_id

        # items: never done twice, done exactly when every slot is accepted, never lost
        done_events = Counter(e.item_id for e in evs if e.entity == "item" and e.kind == "done")
        assert not done_events or max(done_events.values()) == 1, "an item was done twice"
        for item in all_items.values():
            n = self.overlap[item.project_id]
            accepted = Counter(s.slot for s in subs.values() if s.item_id == item.id and s.state == "accepted")
            open_tasks = Counter(t.slot for t in all_tasks.values()
                                 if t.item_id == item.id and t.state in ("ready", "leased"))
            assert set(accepted) | set(open_tasks) <= set(range(n))
            assert all(c == 1 for c in accepted.values()), f"item {item.id}: a slot has two accepted answers"
            for slot in range(n):
                assert (accepted[slot], open_tasks[slot]) in ((1, 0), (0, 1)), \
                    f"item {item.id} slot {slot}: {accepted[slot]} accepted, {open_tasks[slot]} open tasks"
            all_accepted = len(accepted) == n
            assert (item.state == "done") == all_accepted, f"item {item.id} is {item.state}, accepted {accepted}"
            assert done_events[item.id] == (1 if item.state == "done" else 0)
            if item.state == "done":
                assert sorted(r["slot"] for r in item.result) == list(range(n))

        # the answer chain of each slot: pending -> one open review; rejected -> one rework
        reviews_of: defaultdict[int, list[Any]] = defaultdict(list)
        for r in revs:
            reviews_of[r.submission_id].append(r)
        for s in subs.values():
            targeting = [t for t in all_tasks.values() if t.target_submission_id == s.id]
            open_targeting = [t for t in targeting if t.state in ("ready", "leased")]
            if s.state == "pending":
                assert len(open_targeting) == 1 and open_targeting[0].kind == "review", f"answer {s.id} orphaned"
            elif s.state == "rejected":
                assert reviews_of[s.id][-1].verdict == "reject"
                reworks = [t for t in targeting if t.kind == "annotate"]
                assert len(reworks) == 1, f"rejected answer {s.id} has {len(reworks)} rework tasks"
                followers = [x for x in subs.values() if x.supersedes_id == s.id]
                assert len(followers) == (1 if reworks[0].state == "done" else 0)
            else:
                assert not open_targeting

        # people: one fresh answer per worker and item; reviewers never annotated the item
        fresh = Counter(
            (s.item_id, s.user_id) for s in subs.values()
            if s.supersedes_id is None or subs[s.supersedes_id].user_id != s.user_id
        )
        assert not fresh or max(fresh.values()) == 1, "a worker answered one item twice"
        if any(s.supersedes_id is not None for s in subs.values()):
            event("a rework was answered")
        for s in subs.values():
            if s.supersedes_id is not None and subs[s.supersedes_id].user_id == s.user_id:
                assert subs[s.supersedes_id].slot == s.slot
        authors = defaultdict(set)
        for s in subs.values():
            authors[s.item_id].add(s.user_id)
        seen: set[tuple[int, int]] = set()
        for r in revs:
            assert r.reviewer_id not in authors[r.item_id], f"user {r.reviewer_id} reviewed an item they annotated"
            if (r.item_id, r.reviewer_id) in seen:
                event("the rejecting reviewer re-reviewed a rework")
                assert all_tasks[r.task_id].assignee_id == r.reviewer_id, \
                    f"user {r.reviewer_id} reviewed item {r.item_id} twice without being assigned the re-review"
            seen.add((r.item_id, r.reviewer_id))
        reviewers = defaultdict(set)
        for r in revs:
            reviewers[r.item_id].add(r.reviewer_id)
        for t in all_tasks.values():
            if t.state == "leased" and t.assignee_id is None:
                assert t.leased_by not in authors[t.item_id] | reviewers[t.item_id], \
                    f"user {t.leased_by} holds a queue task on item {t.item_id}, which they answered or reviewed"

        # every task's history replays through the domain state machine to its current state
        history: defaultdict[int, list[Any]] = defaultdict(list)
        for e in evs:
            if e.entity == "task" and e.task_id is not None and e.kind != "create":
                history[e.task_id].append(e)
        for t in all_tasks.values():
            state = TaskState.READY
            for e in history[t.id]:
                assert e.from_state == state.value, f"task {t.id}: event {e.kind} from {e.from_state}, was {state}"
                state = task_transition(state, e.kind)
                assert e.to_state == state.value
            assert state.value == t.state, f"task {t.id}: events end in {state.value}, table says {t.state}"


# A failure is shrunk for up to 5 minutes (hypothesis' own limit); let the report come out.
@pytest.mark.timeout(900)
def test_engine_state_machine(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if db_backend == "postgres":
        # CREATE DATABASE per example costs a checkpoint each; emptying one migrated database is
        # as fresh (every table truncated, identities restarted) and much cheaper
        factory: Callable[..., str] = request.getfixturevalue("pg_url_factory")
        url = factory()
        names = ", ".join(t.name for t in metadata.sorted_tables)

        def new_url() -> str:
            engine = make_engine(url, pool_size=1)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            finally:
                engine.dispose()
            return url

        examples = 25
    else:
        template: Path = request.getfixturevalue("sqlite_template")
        counter = itertools.count()

        def new_url() -> str:
            target = tmp_path / f"example-{next(counter)}.db"
            shutil.copyfile(template, target)
            wal = template.with_name(template.name + "-wal")
            if wal.exists():
                shutil.copyfile(wal, target.with_name(target.name + "-wal"))
            return f"sqlite:///{target}"

        examples = 60

    machine = type("Machine", (EngineMachine,), {"new_url": staticmethod(new_url)})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=40, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
