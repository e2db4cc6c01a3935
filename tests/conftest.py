"""Database fixtures: the same tests run on SQLite and on PostgreSQL.

Which backends: ``SEATFLOW_TEST_DB`` = ``sqlite`` | ``postgres`` | ``sqlite,postgres`` (or ``both``).
Unset means ``sqlite``, except under ``CI=true`` where it means both; ``scripts/test`` runs both.

A test that asks for ``db_url``, ``database``, ``settings``, ``empty_db_url`` or ``db_backend`` is run
once per selected backend (ids ``[sqlite]`` / ``[postgres]``); the PostgreSQL runs carry the
``postgres`` marker, so ``-m "not postgres"`` leaves them out. A test marked ``@pytest.mark.postgres``
(or using ``pg_url_factory``) runs on PostgreSQL only. Every database starts migrated to head and is
the test's own: SQLite copies a file migrated once per session, PostgreSQL clones a template database
migrated once per session (``CREATE DATABASE ... TEMPLATE``).

Without a PostgreSQL server the PostgreSQL tests are skipped, except under ``CI=true``, where they fail
(as they do when SEATFLOW_TEST_PG_URL or SEATFLOW_TEST_PG=cluster asked for a server that isn't there).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seatflow.config import Settings
from seatflow.store.engine import Database, make_engine
from seatflow.store.migrate import upgrade
from tests._pg import NoPostgres, PgServer, find_server

BACKENDS = ("sqlite", "postgres")
PgUrlFactory = Callable[..., str]
_pg_origin = pytest.StashKey[str]()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def selected_backends() -> tuple[str, ...]:
    """The backends named by SEATFLOW_TEST_DB, in a fixed order."""
    raw = os.environ.get("SEATFLOW_TEST_DB", "").strip() or ("both" if in_ci() else "sqlite")
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    if "both" in names:
        names = (names - {"both"}) | set(BACKENDS)
    unknown = names - set(BACKENDS)
    if unknown or not names:
        raise pytest.UsageError(f"SEATFLOW_TEST_DB={raw!r}: use sqlite, postgres, or sqlite,postgres (both)")
    return tuple(b for b in BACKENDS if b in names)


def pytest_configure(config: pytest.Config) -> None:
    selected_backends()  # a typo in SEATFLOW_TEST_DB stops the run before collection


def pytest_report_header(config: pytest.Config) -> str:
    return f"seatflow database backends: {', '.join(selected_backends())} (SEATFLOW_TEST_DB)"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        if "db_backend" in str(mark.args[0]):
            return  # the test chose its backends itself
    backends = ("postgres",) if metafunc.definition.get_closest_marker("postgres") else selected_backends()
    params = [
        pytest.param(b, id=b, marks=[pytest.mark.postgres] if b == "postgres" else []) for b in backends
    ]
    metafunc.parametrize("db_backend", params, indirect=True)


@pytest.hookimpl(tryfirst=True)  # before -m selection, so the markers added here count
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    postgres_selected = "postgres" in selected_backends()
    for item in items:
        if "pg_url_factory" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("postgres") and not postgres_selected:
            item.add_marker(
                pytest.mark.skip(reason="PostgreSQL not selected: set SEATFLOW_TEST_DB=postgres or both")
            )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist's controller: a worker that used PostgreSQL says which (see pg_server)."""
    origin = getattr(node, "workeroutput", {}).get("pg_origin")
    config = getattr(node, "config", None)
    if origin and config is not None:
        config.stash[_pg_origin] = origin


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    origin = config.stash.get(_pg_origin, None)
    if origin:
        terminalreporter.write_line(f"PostgreSQL used: {origin}")


# --- isolation from the developer's environment -------------------------------------------------


@pytest.fixture(autouse=True)
def _no_seatflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """SEATFLOW_* settings of the shell running the tests don't leak into them (SEATFLOW_TEST_* stay)."""
    for name in list(os.environ):
        if name.startswith("SEATFLOW_") and not name.startswith("SEATFLOW_TEST_"):
            monkeypatch.delenv(name)


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server(pytestconfig: pytest.Config) -> Iterator[PgServer]:
    """The session's PostgreSQL server (see tests/_pg.py for how it is found or started)."""
    try:
        server = find_server()
    except NoPostgres as exc:
        if in_ci() or exc.requested:
            why = "CI=true" if in_ci() else "the PostgreSQL asked for is not there"
            pytest.fail(f"{why}; no PostgreSQL: {exc}", pytrace=False)
        pytest.skip(f"no PostgreSQL: {exc}")
    pytestconfig.stash[_pg_origin] = server.origin
    if hasattr(pytestconfig, "workeroutput"):  # a pytest-xdist worker: tell the controller, for its summary
        pytestconfig.workeroutput["pg_origin"] = server.origin
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> Iterator[str]:
    """Name of a database migrated to head once per session; tests get clones of it."""
    name = pg_server.new_name() + "_tmpl"
    url = pg_server.create_database(name)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the template to have no connections
    yield name
    pg_server.drop_database(name)


@pytest.fixture
def pg_url_factory(pg_server: PgServer, pg_template: str) -> Iterator[PgUrlFactory]:
    """``pg_url_factory(migrated=True) -> url``: a new PostgreSQL database per call, dropped after the test.

    ``migrated=False`` gives an empty database (for migration tests).
    """
    made: list[str] = []

    def make(*, migrated: bool = True) -> str:
        name = pg_server.new_name()
        made.append(name)
        return pg_server.create_database(name, template=pg_template if migrated else None)

    yield make
    for name in made:
        pg_server.drop_database(name)


# --- SQLite -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "seatflow.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # closing the last connection folds the WAL back into the file
    return path


def _copy_sqlite(template: Path, target: Path) -> None:
    shutil.copyfile(template, target)
    wal = template.with_name(template.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))


# --- the fixtures tests use ---------------------------------------------------------------------


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """``"sqlite"`` or ``"postgres"``: the backend this run of the test uses."""
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLAlchemy URL of a fresh database of the test's own, migrated to head."""
    if db_backend == "postgres":
        factory: PgUrlFactory = request.getfixturevalue("pg_url_factory")
        return factory()
    target = tmp_path / "seatflow-test.db"
    _copy_sqlite(request.getfixturevalue("sqlite_template"), target)
    return f"sqlite:///{target}"


@pytest.fixture
def empty_db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLAlchemy URL of a fresh, empty database (no tables, not migrated)."""
    if db_backend == "postgres":
        factory: PgUrlFactory = request.getfixturevalue("pg_url_factory")
        return factory(migrated=False)
    return f"sqlite:///{tmp_path / 'seatflow-empty.db'}"


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A ``Database`` on ``db_url`` (seatflow's own engine settings); disposed after the test."""
    db = Database(make_engine(db_url))
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings pointing at the test's database, with home in tmp_path/"home"."""
    return Settings(home=tmp_path / "home", database_url=db_url, secret_key="test")
