"""The pool does not ping before each transaction: a connection the server dropped is found on use, and
``transact`` runs the transaction again on a fresh connection, so callers never see the drop."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from seatflow.services._tx import transact
from seatflow.store.engine import Database, make_engine


@pytest.mark.postgres
def test_a_transaction_survives_the_server_dropping_every_pooled_connection(pg_url_factory) -> None:  # type: ignore[no-untyped-def]
    url = pg_url_factory()
    db = Database(make_engine(url, pool_size=3))
    killer = create_engine(url, poolclass=None)
    try:
        pids = set()
        for _ in range(3):  # fill the pool with connections that each ran a transaction
            with db.read() as c1, db.read() as c2:
                pids |= {c1.execute(text("SELECT pg_backend_pid()")).scalar_one(),
                         c2.execute(text("SELECT pg_backend_pid()")).scalar_one()}
        assert db.engine.pool.checkedin() >= 2  # type: ignore[attr-defined]
        with killer.connect() as k:
            k.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                      {"p": list(pids)})
        # Without the retry, the next use of a pooled connection fails:
        with pytest.raises(DBAPIError) as info, db.read() as conn:
            conn.execute(text("SELECT 1"))
        assert info.value.connection_invalidated
        # The pool now opens fresh connections; drop those too, then transact meets the drop and runs again.
        with db.read() as c1, db.read() as c2:
            fresh = {c1.execute(text("SELECT pg_backend_pid()")).scalar_one(),
                     c2.execute(text("SELECT pg_backend_pid()")).scalar_one()}
        assert not fresh & pids
        with killer.connect() as k:
            k.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                      {"p": list(fresh)})
        tries: list[int] = []

        def work(c):  # type: ignore[no-untyped-def]
            tries.append(1)
            return c.execute(text("SELECT pg_backend_pid()")).scalar_one()

        got = transact(db, work)
        assert len(tries) == 2, "the first try met the dropped connection, the second a fresh one"
        assert got not in pids | fresh
    finally:
        killer.dispose()
        db.dispose()
