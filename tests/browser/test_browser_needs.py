"""Without Chromium the browser tests fail, saying what is missing (they never skip)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import chromium_path


def test_a_missing_chromium_fails_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCKSCOPE_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        chromium_path()
