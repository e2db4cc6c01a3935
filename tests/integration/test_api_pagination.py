"""Every list endpoint pages the same way: offset, limit, total, next; a limit above the maximum is 422."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import USERS, AppFactory, Center

# (user, url, key of the rows in the body, how many rows there are)
LISTS = [
    ("manager", "/api/v1/projects", "items", 4),
    ("acme-ops", "/api/v1/projects", "items", 3),
    ("ann1", "/api/v1/projects", "items", 4),
    ("manager", "/api/v1/clients", "items", 2),
    ("globex-ops", "/api/v1/clients", "items", 1),
    ("lead", "/api/v1/users", "items", len(USERS)),
    ("manager", "/api/v1/projects/acme-mod/items", "items", 3),
    ("acme-ops", "/api/v1/projects/acme-text/items", "items", 3),
    ("manager", "/api/v1/status", "projects", 4),
    ("acme-ops", "/api/v1/status", "projects", 3),
]
IDS = [f"{user}:{url}" for user, url, _key, _n in LISTS]


def _walk(center: Center, user: str, url: str, key: str, limit: int) -> list[dict[str, Any]]:
    """Follow ``next`` from the first page to the last; returns every row."""
    rows: list[dict[str, Any]] = []
    link: str | None = f"{url}?limit={limit}"
    pages = 0
    while link is not None:
        resp = center.get(user, link)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["limit"] == limit and body["offset"] == len(rows)
        assert 0 < len(body[key]) <= limit or (body["total"] == 0 and body[key] == [])
        rows.extend(body[key])
        link = body["next"]
        pages += 1
        assert pages <= 100, "next never ends"
    return rows


@pytest.mark.parametrize(("user", "url", "key", "n"), LISTS, ids=IDS)
def test_pages_cover_the_list_once(center: Center, user: str, url: str, key: str, n: int) -> None:
    whole = center.get(user, url).json()
    assert (whole["total"], whole["offset"], whole["limit"], whole["next"]) == (n, 0, 50, None)
    assert len(whole[key]) == n
    for limit in (1, 2, n):
        rows = _walk(center, user, url, key, limit)
        assert rows == whole[key]  # same rows, same order, none twice
    ids = [r.get("id") for r in whole[key]]
    assert len(set(ids)) == n


@pytest.mark.parametrize(("user", "url", "key", "n"), LISTS, ids=IDS)
def test_next_is_a_link_to_the_following_page(center: Center, user: str, url: str, key: str, n: int) -> None:
    body = center.get(user, f"{url}?limit=1").json()
    assert body["total"] == n and len(body[key]) == 1
    if n > 1:
        link = urlsplit(body["next"])
        assert (link.path, parse_qs(link.query)) == (url, {"limit": ["1"], "offset": ["1"]}), body["next"]
    else:
        assert body["next"] is None
    last = center.get(user, f"{url}?limit=1&offset={n - 1}").json()
    assert len(last[key]) == 1 and last["next"] is None
    past = center.get(user, f"{url}?offset={n + 10}").json()
    assert (past[key], past["total"], past["next"]) == ([], n, None)


@pytest.mark.parametrize(("user", "url", "key", "n"), LISTS, ids=IDS)
def test_bad_paging_is_422_naming_the_parameter(center: Center, user: str, url: str, key: str, n: int) -> None:
    center.problem(center.get(user, f"{url}?limit=501"), 422, field="limit", says="at most 500")
    center.problem(center.get(user, f"{url}?limit=0"), 422, field="limit")
    center.problem(center.get(user, f"{url}?offset=-1"), 422, field="offset")
    center.problem(center.get(user, f"{url}?limit=ten"), 422, field="limit")
    assert center.get(user, f"{url}?limit=500").status_code == 200  # the maximum itself is fine


def test_page_size_and_maximum_come_from_the_settings(app_factory: AppFactory) -> None:
    center = app_factory(page_size=2, max_page_size=3)
    body = center.get("manager", "/api/v1/projects").json()
    assert (len(body["items"]), body["limit"], body["total"]) == (2, 2, 4)
    assert body["next"] is not None
    center.problem(center.get("manager", "/api/v1/projects?limit=4"), 422, field="limit", says="at most 3")


def test_item_list_filters_by_state_and_pages_the_filtered_rows(center: Center) -> None:
    lease = center.lease("ann1", "acme-mod")
    assert center.submit("ann1", lease["lease_id"], {"decision": "approve"}).status_code == 200
    done = center.get("manager", "/api/v1/projects/acme-mod/items?state=done").json()
    assert [i["id"] for i in done["items"]] == [lease["item"]["id"]] and done["total"] == 1
    active = center.get("manager", "/api/v1/projects/acme-mod/items?state=active&limit=1").json()
    assert active["total"] == 2 and "state=active" in active["next"]
    center.problem(center.get("manager", "/api/v1/projects/acme-mod/items?state=lost"), 422, field="state")
