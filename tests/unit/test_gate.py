"""The first-come, first-served gate in front of the connection pool (store/gate.py)."""

from __future__ import annotations

import threading
import time

import pytest

from seatflow.errors import Busy
from seatflow.store.engine import Database, make_engine
from seatflow.store.gate import FairGate


def wait_for(cond, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.001)


def test_waiters_get_in_in_the_order_they_arrived() -> None:
    gate = FairGate(1)
    gate.acquire()
    order: list[int] = []

    def waiter(n: int) -> None:
        with gate.held():
            order.append(n)

    threads = []
    for n in range(8):
        t = threading.Thread(target=waiter, args=(n,))
        t.start()
        threads.append(t)
        wait_for(lambda n=n: gate.waiting == n + 1)  # type: ignore[misc]
    gate.release()
    for t in threads:
        t.join(5)
    assert order == list(range(8))


def test_a_freed_place_cannot_be_taken_by_a_newcomer_ahead_of_a_waiter() -> None:
    gate = FairGate(1)
    gate.acquire()
    done = threading.Event()
    got: list[str] = []

    def waiter() -> None:
        with gate.held():
            got.append("waiter")
            done.wait(5)

    t = threading.Thread(target=waiter)
    t.start()
    wait_for(lambda: gate.waiting == 1)
    gate.release()
    # The place passed straight to the waiter: this thread, asking right after, finds none free
    # (an unfair lock would often let it barge in before the waiter woke up).
    gate.timeout = 0.05
    with pytest.raises(Busy, match="within 0.05 s"):
        gate.acquire()
    assert got == ["waiter"]
    done.set()
    t.join(5)
    gate.acquire()  # once the waiter is done, the place is free again


def test_a_waiter_that_times_out_leaves_the_queue_and_names_what_it_waited_for() -> None:
    gate = FairGate(2, timeout=0.05, what="turn to write")
    gate.acquire()
    gate.acquire()
    with pytest.raises(Busy, match="no turn to write became free within 0.05 s") as info:
        gate.acquire()
    assert info.value.status == 503
    assert gate.waiting == 0
    gate.release()
    gate.acquire()


def test_gate_needs_a_place() -> None:
    with pytest.raises(ValueError):
        FairGate(0)


def test_more_threads_than_connections_all_get_through_without_overflow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(make_engine(f"sqlite:///{tmp_path / 'g.db'}"))
    assert db.gate.size == db.engine.pool.size()  # type: ignore[attr-defined]
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    errors: list[BaseException] = []
    peak = [0]

    def work(n: int) -> None:
        try:
            for _ in range(20):
                with db.write() as conn:
                    conn.exec_driver_sql("INSERT INTO t VALUES (?)", (n,))
                with db.read() as conn:
                    conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
                peak[0] = max(peak[0], db.engine.pool.checkedout())  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert peak[0] <= db.gate.size
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 48 * 20
    db.dispose()
