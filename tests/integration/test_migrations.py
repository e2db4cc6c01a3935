"""The Alembic migrations build exactly the schema declared in seatflow.store.tables, on each backend."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Index, UniqueConstraint, inspect, text

from seatflow.store.engine import make_engine
from seatflow.store.migrate import alembic_config, current_revision, head_revision, upgrade
from seatflow.store.tables import metadata

PREFIXES = {"primary key": "pk_", "foreign key": "fk_", "unique": "uq_", "index": "ix_"}
PG_MAX_IDENTIFIER = 63  # PostgreSQL cuts longer names silently, which would break the convention


def downgrade(engine: Engine, revision: str) -> None:
    """Like seatflow.store.migrate.upgrade, the other way."""
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn.execution_options(seatflow_write=True)
        command.downgrade(cfg, revision)
        conn.commit()


def _sqlite_empty_default(
    context: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's SQLite comparison unquotes ``'x'`` but not ``''``, so ``DEFAULT ''`` always looks
    changed. Answer for exactly that case; None hands every other column back to alembic."""
    if (
        context.dialect.name == "sqlite"
        and rendered_metadata_default == ""
        and inspected_default in ("''", "('')")
    ):
        return False
    return None


def _descending_sqlite_columns(engine: Engine, index: str) -> list[tuple[str, bool]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"PRAGMA index_xinfo('{index}')").all()
    return [(row[2], bool(row[3])) for row in rows if row[5]]  # key columns: (name, descending)


def _metadata_index_columns(index: Index) -> list[tuple[str, bool]]:
    columns = []
    for expr in index.expressions:
        if isinstance(expr, Column):
            columns.append((expr.name, False))
        else:
            sql = str(expr).strip()
            descending = sql.upper().endswith(" DESC")
            columns.append((sql[: -len(" DESC")].strip() if descending else sql, descending))
    return columns


def _drop_sqlite_desc_index_pairs(engine: Engine, diffs: list[Any]) -> list[Any]:
    """SQLite's reflection drops DESC from an index column, so alembic reports such an index (here
    ``ix_tasks_queue``: ``priority DESC``) as removed and added again. Drop that pair only when the
    index in the database has the declared columns in the declared directions (PRAGMA index_xinfo)."""
    by_name: dict[str, dict[str, Any]] = {}
    for diff in diffs:
        if isinstance(diff, tuple) and diff[0] in ("add_index", "remove_index"):
            by_name.setdefault(diff[1].name, {})[diff[0]] = diff
    explained = []
    for name, pair in by_name.items():
        if set(pair) != {"add_index", "remove_index"}:
            continue
        declared = _metadata_index_columns(pair["add_index"][1])
        if any(desc for _, desc in declared) and _descending_sqlite_columns(engine, name) == declared:
            explained += [pair["add_index"], pair["remove_index"]]
    return [d for d in diffs if not any(d is e for e in explained)]


def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": _sqlite_empty_default},
        )
        diffs: list[Any] = compare_metadata(context, metadata)
    if engine.dialect.name == "sqlite":
        diffs = _drop_sqlite_desc_index_pairs(engine, diffs)
    return diffs


def partial_indexes(engine: Engine) -> set[str]:
    """Names of the indexes that have a WHERE clause (alembic doesn't compare those)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            tables = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
            return {
                row[1]
                for table in list(tables)
                for row in conn.exec_driver_sql(f"PRAGMA index_list('{table}')")
                if row[4]  # column "partial"
            }
        sql = (
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indpred IS NOT NULL"
        )
        return set(conn.execute(text(sql)).scalars())


def declared_partial_indexes() -> set[str]:
    return {
        index.name
        for table in metadata.tables.values()
        for index in table.indexes
        if index.name and (index.dialect_options["postgresql"]["where"] is not None)
    }


def test_upgrade_to_head_builds_the_declared_schema(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
        assert partial_indexes(engine) == declared_partial_indexes()
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def declared_names(table_name: str) -> dict[str, set[str]]:
    table = metadata.tables[table_name]
    return {
        "primary key": {str(table.primary_key.name)},
        "foreign key": {str(fk.name) for fk in table.foreign_key_constraints},
        "unique": {str(c.name) for c in table.constraints if isinstance(c, UniqueConstraint)},
        "index": {str(i.name) for i in table.indexes},
    }


def reflected_names(engine: Engine, table_name: str) -> dict[str, set[str | None]]:
    insp = inspect(engine)
    return {
        "primary key": {insp.get_pk_constraint(table_name)["name"]},
        "foreign key": {fk["name"] for fk in insp.get_foreign_keys(table_name)},
        "unique": {uc["name"] for uc in insp.get_unique_constraints(table_name)},
        # PostgreSQL also lists the index behind each unique constraint; that one is the constraint.
        "index": {ix["name"] for ix in insp.get_indexes(table_name) if "duplicates_constraint" not in ix},
    }


def test_every_constraint_and_index_is_named_by_the_convention(db_url: str) -> None:
    for table in metadata.tables.values():
        for kind, names in declared_names(table.name).items():
            for name in names:
                assert name.startswith(PREFIXES[kind]), f"{table.name}: {kind} {name!r}"
                assert len(name) <= PG_MAX_IDENTIFIER, f"{table.name}: {kind} {name!r} is too long"
    engine = make_engine(db_url)
    try:
        for table in metadata.tables.values():
            assert reflected_names(engine, table.name) == declared_names(table.name), table.name
    finally:
        engine.dispose()
