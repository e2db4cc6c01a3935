"""Browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright.

Without /usr/bin/chromium or the playwright package every test module here is skipped, except under
CI=true, where each one fails. Playwright's own browser download is never used. Shared helpers are in
``_support.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.browser._support import CHROMIUM, CHROMIUM_ARGS, unavailable
from tests.conftest import in_ci

if TYPE_CHECKING:
    from playwright.sync_api import Browser

UNAVAILABLE = unavailable()


class _Unavailable(pytest.Module):
    """Stands in for a test module when the browser tests cannot run (its import would fail)."""

    def collect(self) -> Any:
        assert UNAVAILABLE is not None
        if in_ci():
            pytest.fail(f"CI=true and {UNAVAILABLE}", pytrace=False)
        pytest.skip(UNAVAILABLE)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if UNAVAILABLE is None or not module_path.name.startswith("test_"):
        return None
    return _Unavailable.from_parent(parent, path=module_path)


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """Chromium's command line for the module's browser; a module may override this fixture."""
    return list(CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def browser(chromium_args: list[str]) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=chromium_args, headless=True)
        try:
            yield b
        finally:
            b.close()
