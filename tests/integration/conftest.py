"""A small center behind the REST API, for the test_api_* integration tests.

``center`` is a running app (``create_app(settings, db=database, background=False)`` driven by a
``TestClient``) on the test's own database (SQLite or PostgreSQL, see tests/conftest.py), seeded
through the services:

- clients ``acme`` and ``globex``;
- projects ``acme-faces`` (image annotation, annotate -> review every answer), ``acme-text`` (text
  annotation, overlap 2), ``acme-mod`` (moderation), ``globex-tickets`` (service tickets);
- users ``admin``, ``manager``, ``lead``; workers ``ann1``/``ann2``/``ann3`` (annotate on every
  project), ``rev1`` (review on acme-faces), ``idle`` (no qualification); client users
  ``acme-ops`` and ``globex-ops``. Every user has the password ``PASSWORD`` and a token;
- three items in each acme project and two in globex-tickets (``ITEMS`` below).

``center.as_(name)`` gives the Authorization header of a user, ``center.count(table, **where)``
counts rows straight from the database (to prove that nothing was written), and
``center.problem(resp, status, field=...)`` checks the one error shape of the API.
``app_factory(**setting_overrides)`` starts another app on the same seeded database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from seatflow.app import create_app
from seatflow.config import Settings
from seatflow.services import accounts, imports, projects
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.engine import Database

PASSWORD = "correct-horse-7"
PROBLEM = "application/problem+json"

PROJECTS: dict[str, dict[str, Any]] = {
    "acme-faces": {"client": "acme", "work_type": "image_annotation",
                   "workflow": "annotate(overlap=1) -> review(sample_rate=1)"},
    "acme-text": {"client": "acme", "work_type": "text_annotation", "workflow": "annotate(overlap=2)"},
    "acme-mod": {"client": "acme", "work_type": "moderation", "workflow": "annotate(overlap=1)"},
    "globex-tickets": {"client": "globex", "work_type": "service_ticket", "workflow": "annotate(overlap=1)"},
}


def _face(n: int) -> dict[str, Any]:
    return {"image": f"faces/{n}.jpg", "width": 640, "height": 480}


def _ticket(n: int) -> dict[str, Any]:
    return {"customer": {"name": f"Customer {n}"}, "message": "Where is my parcel?",
            "order": {"order_id": f"SO-{n}", "status": "in transit"}}


ITEMS: dict[str, list[dict[str, Any]]] = {
    "acme-faces": [{"external_id": f"face-{n}", "payload": _face(n)} for n in (1, 2, 3)],
    "acme-text": [{"external_id": f"text-{n}", "payload": {"text": f"Alice liked product {n} a lot."}}
                  for n in (1, 2, 3)],
    "acme-mod": [{"external_id": f"post-{n}", "payload": {"kind": "text", "text": f"post number {n}"}}
                 for n in (1, 2, 3)],
    "globex-tickets": [{"external_id": f"ticket-{n}", "payload": _ticket(n)} for n in (1, 2)],
}

# username -> (role, client slug, [(project, skill), ...])
ANNOTATE_ALL = [(slug, "annotate") for slug in PROJECTS]
USERS: dict[str, tuple[str, str | None, list[tuple[str, str]]]] = {
    "admin": ("admin", None, []),
    "manager": ("manager", None, []),
    "lead": ("lead", None, []),
    "ann1": ("worker", None, ANNOTATE_ALL),
    "ann2": ("worker", None, ANNOTATE_ALL),
    "ann3": ("worker", None, ANNOTATE_ALL),
    "rev1": ("worker", None, [("acme-faces", "review")]),
    "idle": ("worker", None, []),
    "acme-ops": ("client", "acme", []),
    "globex-ops": ("client", "globex", []),
}

# Good answers per project, for tests that only need the loop to move on.
GOOD_ANSWERS: dict[str, dict[str, Any]] = {
    "acme-faces": {"boxes": [{"label": "face", "x": 10, "y": 20, "w": 100, "h": 120}]},
    "acme-text": {"classes": ["positive"], "spans": [{"start": 0, "end": 5, "label": "PER"}]},
    "acme-mod": {"decision": "approve"},
    "globex-tickets": {"reply": "Your parcel is on its way.", "disposition": "resolved"},
}


@dataclass
class Seed:
    """Ids and tokens of the seeded center."""

    clients: dict[str, int] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)  # project slug -> item ids, import order


def seed_center(db: Database) -> Seed:
    seed = Seed()
    with db.write() as conn:
        for slug in ("acme", "globex"):
            seed.clients[slug] = accounts.create_client(conn, None, slug=slug, name=slug.title())
        for slug, spec in PROJECTS.items():
            seed.projects[slug] = projects.create_project(conn, None, {"slug": slug, "name": slug, **spec})
        for name, (role, client, _skills) in USERS.items():
            seed.users[name] = accounts.create_user(conn, None, username=name, password=PASSWORD, role=role,
                                                    client_slug=client, locale="en")
            seed.tokens[name] = accounts.create_token(conn, None, username=name, name="tests")
        for name, (_role, _client, skills) in USERS.items():
            for project, skill in skills:
                accounts.grant(conn, None, username=name, project_slug=project, skill=skill)
    for slug, rows in ITEMS.items():
        records = [Record("seed", n, row) for n, row in enumerate(rows, start=1)]
        report = imports.import_records(db, None, slug, records, source="seed")
        assert report.error is None and report.imported == len(rows), report
    with db.read() as conn:
        for slug, pid in seed.projects.items():
            seed.items[slug] = list(conn.execute(
                select(tables.items.c.id).where(tables.items.c.project_id == pid).order_by(tables.items.c.id)
            ).scalars())
    return seed


class Center:
    """The seeded center behind a running app; see the module docstring."""

    def __init__(self, client: TestClient, db: Database, seed: Seed) -> None:
        self.client = client
        self.db = db
        self.seed = seed
        self.app: Any = client.app

    # -- requests ------------------------------------------------------------------------
    def as_(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed.tokens[username]}"}

    def get(self, username: str, url: str, **kw: Any) -> Response:
        return self.client.get(url, headers=self.as_(username), **kw)

    def post(self, username: str, url: str, **kw: Any) -> Response:
        return self.client.post(url, headers=self.as_(username), **kw)

    def lease(self, username: str, project: str | None = None) -> dict[str, Any]:
        """Take the next task (of ``project`` when given); fails the test unless one is leased."""
        body = {"project_id": self.seed.projects[project]} if project else None
        resp = self.post(username, "/api/v1/leases", json=body)
        assert resp.status_code == 201, resp.text
        out: dict[str, Any] = resp.json()
        return out

    def submit(self, username: str, lease_id: int, answer: Any, key: str | None = None) -> Response:
        return self.post(username, f"/api/v1/leases/{lease_id}/submit",
                         json={"answer": answer, "idempotency_key": key or f"{username}-{lease_id}"})

    # -- the database --------------------------------------------------------------------
    def count(self, table: str, **where: Any) -> int:
        t = tables.metadata.tables[table]
        q = select(func.count()).select_from(t).where(*(t.c[k] == v for k, v in where.items()))
        with self.db.read() as conn:
            return int(conn.execute(q).scalar_one())

    def counts(self) -> dict[str, int]:
        """Row counts of every table (to prove that a refused request wrote nothing)."""
        return {name: self.count(name) for name in tables.metadata.tables}

    def row(self, table: str, **where: Any) -> Any:
        t = tables.metadata.tables[table]
        with self.db.read() as conn:
            return conn.execute(select(t).where(*(t.c[k] == v for k, v in where.items()))).one()

    # -- the error shape -----------------------------------------------------------------
    @staticmethod
    def problem(resp: Response, status: int, *, field: str | None = None, says: str | None = None) -> dict[str, Any]:
        """Assert the one error shape: problem+json with type/title/status/detail (and field)."""
        assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text}"
        assert resp.headers["content-type"].startswith(PROBLEM), resp.headers["content-type"]
        body: dict[str, Any] = resp.json()
        for key in ("type", "title", "detail"):
            assert isinstance(body.get(key), str) and body[key].strip(), f"{key} missing in {body}"
        assert body["status"] == status, body
        assert body["type"].startswith("https://seatflow.dev/problems/"), body
        if field is not None:
            assert body.get("field") == field, f"field {body.get('field')!r} != {field!r}: {body}"
        if says is not None:
            assert says.lower() in body["detail"].lower(), f"{says!r} not in detail {body['detail']!r}"
        return body


AppFactory = Callable[..., Center]


@pytest.fixture
def seed(database: Database, monkeypatch: pytest.MonkeyPatch) -> Seed:
    # Real argon2, with cheap parameters: the default costs ~0.2 s per hash, and every test seeds 10 users.
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return seed_center(database)


@pytest.fixture
def app_factory(settings: Settings, database: Database, seed: Seed) -> Iterator[AppFactory]:
    """``app_factory(**overrides)``: a running app on the seeded database with settings overridden."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> Center:
            app = create_app(settings.model_copy(update=overrides), db=database, background=False)
            client = stack.enter_context(TestClient(app))
            return Center(client, database, seed)

        yield make


@pytest.fixture
def center(app_factory: AppFactory) -> Center:
    return app_factory()
