"""The README's pytest example is a test: its Python blocks run as a user's test file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Using it in pytest"
FENCE = re.compile(r"^(`{3,}|~{3,})")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def section(markdown: str, heading: str) -> str | None:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = markdown.splitlines(keepends=True)
    found: list[str] | None = None
    in_code = False
    for line in lines:
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            if found is None:
                if line.strip() == heading:
                    found = []
                    continue
            elif depth <= level and line[depth : depth + 1] == " ":
                break
        if found is not None:
            found.append(line)
    return None if found is None else "".join(found)


def test_section_finds_only_the_blocks_under_the_heading() -> None:
    markdown = (
        "# mockscope\n## Before\n```python\nbefore = 1\n```\n"
        "## Using it in pytest\ntext\n```python\n## not a heading\nfirst = 1\n```\n"
        "### A subsection\n```python\nsecond = 2\n```\n"
        "## After\n```python\nafter = 3\n```\n"
    )
    found = section(markdown, HEADING)
    assert found is not None
    assert PYTHON_BLOCK.findall(found) == ["## not a heading\nfirst = 1\n", "second = 2\n"]
    assert section("# mockscope\n## Other\n", HEADING) is None


def test_the_readme_pytest_example_passes(pytester: pytest.Pytester) -> None:
    text = section(README.read_text(encoding="utf-8"), HEADING)
    if text is None:
        pytest.skip(f"README.md has no {HEADING!r} section yet")
    blocks = PYTHON_BLOCK.findall(text)
    assert blocks, f"the README's {HEADING!r} section has no ```python block"
    pytester.makeini(INI)
    for number, block in enumerate(blocks):
        pytester.makepyfile(**{f"test_readme_example_{number}": block})
    result = pytester.runpytest_inprocess("-rs")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert outcomes.get("passed", 0) >= 1, outcomes
    assert not outcomes.get("skipped"), outcomes


def test_the_readme_documents_every_option_and_time_mode() -> None:
    from mockscope.options import MARKER_OPTIONS, TIME_MODES

    markdown = README.read_text(encoding="utf-8")
    options = section(markdown, HEADING)
    modes = section(markdown, "## Time modes")
    assert options is not None
    assert modes is not None
    for spec in MARKER_OPTIONS:
        assert f"| `{spec.name}` |" in options, f"the README's option table lacks {spec.name}"
    for mode in TIME_MODES:
        assert f"| `{mode}` " in modes, f"the README's time modes table lacks {mode}"
