"""The docs keep up with the code: settings, routes, and what docs/architecture.md names.

- every setting is in docs/settings.md (and the file is what `seatflow settings --markdown` prints);
- every route of the app is listed in docs/api.md or summarised in OpenAPI, and every route that
  docs/api.md lists exists;
- every file, index and task state named in docs/architecture.md exists, and its transition table
  is the one the code enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from seatflow.app import create_app
from seatflow.config import Settings, settings_table
from seatflow.domain import workflow
from seatflow.store.tables import metadata

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ROUTE_IN_DOC = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")


def _read(name: str) -> str:
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


# --- settings -----------------------------------------------------------------------------------


def test_every_setting_is_in_docs_settings_md() -> None:
    text = _read("settings.md")
    rows = settings_table()
    assert {r.name for r in rows} == {f"SEATFLOW_{n.upper()}" for n in Settings.model_fields}
    missing = [r.name for r in rows if f"`{r.name}`" not in text]
    assert not missing, f"docs/settings.md lacks {missing}; run `seatflow settings --markdown > docs/settings.md`"
    undescribed = [r.name for r in rows if r.help and r.help.replace("|", "\\|") not in text]
    assert not undescribed, f"docs/settings.md has an old description of {undescribed}; regenerate it"


def test_docs_settings_md_is_what_the_cli_generates() -> None:
    server = pytest.importorskip("seatflow.commands.server")
    generate = getattr(server, "settings_markdown", None)
    if generate is None:
        pytest.skip("seatflow.commands.server.settings_markdown is not there")
    assert _read("settings.md") == generate(), (
        "docs/settings.md is out of date: run `seatflow settings --markdown > docs/settings.md`"
    )


# --- routes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    home = tmp_path_factory.mktemp("docs-app")
    return create_app(Settings(home=home, secret_key="docs-test"), background=False)


def _normalize(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def _routes(app: FastAPI) -> Iterator[tuple[str, str, bool, Any]]:
    """(method, path, in OpenAPI?, route) of every HTTP route, through included routers too."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        candidates = list(contexts()) if callable(contexts) else [route]
        for r in candidates:
            path, methods = getattr(r, "path", None), getattr(r, "methods", None)
            if path is None or not methods:
                continue
            for method in sorted(set(methods) & set(METHODS)):
                yield method, _normalize(path), bool(getattr(r, "include_in_schema", False)), r


def _mounts(app: FastAPI) -> set[str]:
    return {r.path for r in app.routes if type(r).__name__ == "Mount"}


def test_the_route_walk_sees_the_routers(app: FastAPI) -> None:
    """The walk itself: it must find routes from every router, or the next test proves nothing."""
    found = {(m, p) for m, p, _, _ in _routes(app)}
    assert {("POST", "/api/v1/leases"), ("GET", "/api/v1/status"), ("GET", "/login"),
            ("GET", "/api/v1/projects/{ref}/export.jsonl")} <= found


def test_every_route_is_documented(app: FastAPI) -> None:
    text = _read("api.md")
    listed = {(m, _normalize(p)) for m, p in _ROUTE_IN_DOC.findall(text)}
    operations = app.openapi()["paths"]
    undocumented = []
    for method, path, in_schema, _route in _routes(app):
        if path in ("/docs/oauth2-redirect", "/redoc"):
            continue  # FastAPI's own pages
        summary = operations.get(path, {}).get(method.lower(), {}).get("summary") if in_schema else None
        if (method, path) not in listed and not summary:
            undocumented.append(f"{method} {path}")
    assert not undocumented, f"not in docs/api.md and no OpenAPI summary: {undocumented}"


def test_docs_api_md_lists_only_routes_that_exist(app: FastAPI) -> None:
    text = _read("api.md")
    real = {(m, p) for m, p, _, _ in _routes(app)}
    mounts = _mounts(app)
    stale = []
    for method, path in _ROUTE_IN_DOC.findall(text):
        path = _normalize(path.split("?")[0])
        if (method, path) in real:
            continue
        if path.endswith("/...") and path.removesuffix("/...") in mounts:
            continue
        stale.append(f"{method} {path}")
    assert not stale, f"docs/api.md lists routes the app does not have: {stale}"


def test_every_api_route_is_in_the_route_table(app: FastAPI) -> None:
    """docs/api.md's 'Every route' table is complete for /api/v1 (the short reference people read)."""
    listed = {(m, _normalize(p)) for m, p in _ROUTE_IN_DOC.findall(_read("api.md"))}
    missing = sorted(f"{m} {p}" for m, p, _, _ in _routes(app) if p.startswith("/api/") and (m, p) not in listed)
    assert not missing, f"add these to the route table of docs/api.md: {missing}"


# --- architecture -------------------------------------------------------------------------------


def _expand(path: str) -> list[str]:
    """Shell-style braces: src/{a,b}/x -> src/a/x, src/b/x."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", path)
    if not m:
        return [path]
    return [q for part in m.group(1).split(",") for q in _expand(path[:m.start()] + part + path[m.end():])]


def test_files_named_in_the_architecture_exist() -> None:
    text = _read("architecture.md")
    named = {q for p in re.findall(r"`((?:src|tests|scripts|docs)/[^`\s]+)`", text) for q in _expand(p)}
    assert named, "docs/architecture.md names no files (the pattern is broken?)"
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


def test_indexes_named_in_the_architecture_exist_and_hot_ones_are_named() -> None:
    text = _read("architecture.md")
    real = {i.name for t in metadata.tables.values() for i in t.indexes}
    real |= {c.name for t in metadata.tables.values() for c in t.constraints if c.name}
    named = set(re.findall(r"\b((?:ix|uq)_[a-z0-9_]+)\b", text))
    unknown = sorted(named - real)
    assert not unknown, f"docs/architecture.md names indexes that do not exist: {unknown}"
    hot = {i.name for i in metadata.tables["tasks"].indexes}
    undocumented = sorted(str(n) for n in hot - named)
    assert not undocumented, f"indexes of the tasks table missing from docs/architecture.md: {undocumented}"


def test_the_task_transition_table_is_the_one_the_code_enforces() -> None:
    text = _read("architecture.md")
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)` \|$", text, flags=re.M)
    documented = {(state, event): to for state, event, to in rows}
    enforced = {}
    for state in workflow.TaskState:
        for event in workflow.TaskEvent:
            try:
                enforced[(state.value, event.value)] = workflow.task_transition(state, event).value
            except workflow.IllegalTransition:
                pass
    assert documented == enforced, "the task state table in docs/architecture.md differs from domain/workflow.py"
    for state in workflow.TaskState:
        assert f"`{state.value}`" in text, f"task state {state.value} is not in docs/architecture.md"
