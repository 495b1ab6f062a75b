"""The client README's example against the fake runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import mockscope
from tests.support import assert_schema_conformance

README = Path(__file__).resolve().parents[2] / "client" / "wanx_client" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_example_against_the_fake_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[mockscope.MockServer] = []

    class CheckedServer(mockscope.MockServer):
        def __init__(self, **options: Any) -> None:
            super().__init__(validate_responses=True, **options)
            started.append(self)

    monkeypatch.setattr(mockscope, "MockServer", CheckedServer)
    (example,) = [block for block in BLOCKS if "MockServer" in block]
    exec(compile(example, str(README), "exec"), {"__name__": "client_readme_example"})
    assert len(started) == 1
    assert_schema_conformance(started[0])


def test_the_readme_examples_compile() -> None:
    assert len(BLOCKS) >= 3
    for block in BLOCKS:
        compile(block, str(README), "exec")
