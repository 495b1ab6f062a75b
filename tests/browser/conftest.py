"""A real headless Chromium, driven by Playwright, for the inspector page.

The system's Chromium is used (`/usr/bin/chromium`, or MOCKSCOPE_CHROMIUM); Playwright's own
browser downloads are never needed. When either is missing the tests fail and say which, so a
machine without them cannot pass for one that ran them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """The Chromium to drive; a clear failure when there is none."""
    wanted = os.environ.get("MOCKSCOPE_CHROMIUM", "/usr/bin/chromium")
    found = shutil.which(wanted)
    if found is None:
        pytest.fail(
            f"The browser tests need Chromium, and {wanted} is missing: install it with "
            "`apt-get install chromium` (.ci/run does), or point MOCKSCOPE_CHROMIUM at one.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per test module (a launch costs about a second)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "The browser tests need the Python package `playwright`, which is missing: "
            "install the development tools with `pip install -e '.[dev]'` (no `playwright "
            "install` is needed: the system's Chromium is used).",
            pytrace=False,
        )
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def console_errors(page: Any, errors: list[str] | None = None) -> list[str]:
    """The list (`errors`, or a new one) the page's console errors and uncaught exceptions are
    added to as they happen."""
    found: list[str] = [] if errors is None else errors

    def on_console(message: Any) -> None:
        if message.type == "error":
            found.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found
