"""Migration 0004 goes down and up again on a database that holds items and tasks (the foreign keys
that point at items must not stop it)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from seatflow.store.engine import make_engine
from seatflow.store.migrate import alembic_config, current_revision, upgrade


def _migrate(engine: Engine, target: str, direction: str) -> None:
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn.execution_options(seatflow_write=True)
        getattr(command, direction)(cfg, target)
        conn.commit()


def test_0004_down_and_up_with_data(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO clients (slug, name, created_at) VALUES ('c', 'C', '2026-01-01 00:00:00')"))
            conn.execute(text(
                "INSERT INTO projects (client_id, slug, name, work_type, label_schema, workflow, created_at) "
                "SELECT id, 'p', 'P', 'moderation', '{}', '{}', '2026-01-01 00:00:00' FROM clients"))
            conn.execute(text(
                "INSERT INTO items (client_id, project_id, external_id, payload, deadline, created_at, media_status)"
                " SELECT client_id, id, 'x', '{}', '2026-01-02 00:00:00', '2026-01-01 00:00:00', 'pending'"
                " FROM projects"))
            conn.execute(text(
                "INSERT INTO tasks (client_id, project_id, item_id, stage, kind, state, priority, deadline,"
                " created_at) SELECT client_id, project_id, id, 0, 'annotate', 'ready', 0, deadline, created_at"
                " FROM items"))
        _migrate(engine, "0003", "downgrade")
        assert current_revision(engine) == "0003"
        assert "media_status" not in {c["name"] for c in inspect(engine).get_columns("items")}
        assert "appeals" not in inspect(engine).get_table_names()
        _migrate(engine, "head", "upgrade")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM tasks")).scalar_one() == 1
            assert conn.execute(text("SELECT media_status FROM items")).scalar_one() is None
    finally:
        engine.dispose()
