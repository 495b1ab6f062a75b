"""The README's Python examples run as written.

A block that defines tests (the pytest section's) is a test module: pytest runs it, with the
plugin an installed mockscope brings, and every test it defines must pass. Any other block runs
as a script, with every response of the servers it starts checked against schemas/. The
sections that show examples must be there, each with its examples: a renamed or dropped section
fails here rather than leaving its examples untested.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import mockscope
from tests.support import INNER_PYTEST, assert_schema_conformance

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^(`{3,}|~{3,})")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
#: The sections that show Python examples.
SECTIONS = (
    "## Pointing the official SDK at it",
    "## Using it from Python",
    "## Using it in pytest",
    "## Scenarios: failures, partial failures, suspension, faults",
)
#: The test module's settings: a user's strict project, as the plugin's own tests use.
INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""
BLOCKS = PYTHON_BLOCK.findall(TEXT)


def section(markdown: str, heading: str) -> str | None:
    """The text under `heading` up to the next heading of the same or a higher level (lines in
    code blocks are not headings); None when there is no such heading."""
    level = len(heading) - len(heading.lstrip("#"))
    found: list[str] | None = None
    in_code = False
    for line in markdown.splitlines(keepends=True):
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


def defined_tests(source: str) -> list[str]:
    """The test functions a block defines at module level, in order."""
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


def test_section_reads_only_what_is_under_the_heading() -> None:
    markdown = (
        "# mockscope\n## Before\n```python\nbefore = 1\n```\n"
        "## Using it in pytest\ntext\n```python\n## not a heading\nfirst = 1\n```\n"
        "### A subsection\n```python\nsecond = 2\n```\n"
        "## After\n```python\nafter = 3\n```\n"
    )
    found = section(markdown, "## Using it in pytest")
    assert found is not None
    assert PYTHON_BLOCK.findall(found) == ["## not a heading\nfirst = 1\n", "second = 2\n"]
    assert section("# mockscope\n## Other\n", "## Using it in pytest") is None


@pytest.mark.parametrize("heading", SECTIONS)
def test_each_section_with_examples_is_there_with_them(heading: str) -> None:
    text = section(TEXT, heading)
    assert text is not None, f"README.md has no {heading!r} section"
    assert PYTHON_BLOCK.findall(text), f"README.md's {heading!r} has no ```python block"


def test_the_pytest_section_defines_tests() -> None:
    text = section(TEXT, "## Using it in pytest")
    assert text is not None
    assert any(defined_tests(block) for block in PYTHON_BLOCK.findall(text))


SCRIPTS = [block for block in BLOCKS if not defined_tests(block)]
TEST_MODULES = [block for block in BLOCKS if defined_tests(block)]


@pytest.mark.parametrize("source", SCRIPTS, ids=[f"script-{i}" for i in range(len(SCRIPTS))])
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


class _Outcomes:
    """Records each test's outcome in a pytest run."""

    def __init__(self) -> None:
        self.by_test: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            name = report.nodeid.rpartition("::")[2]
            self.by_test.setdefault(name, []).append(report.outcome)


@pytest.mark.parametrize(
    "source", TEST_MODULES, ids=[f"test-module-{i}" for i in range(len(TEST_MODULES))]
)
def test_readme_test_module_passes(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs the block as a user's test file, with pytest, in this process."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text(INI, encoding="utf-8")
    module = project / "test_readme_example.py"
    module.write_text(source, encoding="utf-8")
    for name in (
        "PYTEST_ADDOPTS",
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_WORKER_COUNT",
        "PYTEST_XDIST_TESTRUNUID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(project))  # restored, with sys.path, after the test
    outcomes = _Outcomes()
    output = io.StringIO()
    arguments = [str(module), "-c", str(project / "pytest.ini"), "--rootdir", str(project)]
    arguments += ["--basetemp", str(tmp_path / "basetemp"), "--capture=sys", "-p", "no:randomly"]
    arguments += INNER_PYTEST
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            returncode = pytest.main(arguments, plugins=[outcomes])
    finally:
        sys.modules.pop("test_readme_example", None)
    report = output.getvalue()[-4000:]
    assert returncode == 0, report
    # Every test the block defines ran and passed: none skipped, none missing, none extra.
    assert outcomes.by_test == {name: ["passed"] for name in defined_tests(source)}, report
