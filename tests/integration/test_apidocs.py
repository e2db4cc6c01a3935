"""/docs works on an intranet: every asset the page loads is served by the app."""

from __future__ import annotations

import re

from tests.integration.conftest import Center


def test_docs_page_loads_only_local_assets(center: Center) -> None:
    page = center.client.get("/docs")
    assert page.status_code == 200
    refs = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert refs, "the docs page references no assets at all"
    for ref in refs:
        assert not re.match(r"^(https?:)?//", ref), f"/docs loads {ref} from outside the app"
        response = center.client.get(ref)
        assert response.status_code == 200, f"{ref} -> {response.status_code}"
    assert center.client.get("/openapi.json").json()["info"]["title"] == "Seatflow"
