"""The README's Python examples run as written, with every response checked against schemas/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import mockscope
from tests.support import assert_schema_conformance

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import dashscope

    started: list[mockscope.MockServer] = []

    class CheckedServer(mockscope.MockServer):
        def __init__(self, **options: Any) -> None:
            super().__init__(validate_responses=True, **options)
            started.append(self)

    # The SDK switch example sets a module attribute; keep it from leaking into other tests.
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)
    monkeypatch.setattr(mockscope, "MockServer", CheckedServer)
    exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})
    for server in started:
        assert_schema_conformance(server)
