"""The README's shell blocks, read and run as the tests in test_readme_shell.py and test_install.py
do: each ```sh block is marked `<!-- readme-test: KIND -->` on the line before it, and KIND says
which test runs it (test_every_shell_block_is_run_by_a_test keeps the two in step).

Blocks run with bash, as a user pasting them would, except that the test's server replaces
`http://127.0.0.1:8080` and a copy of the checkout replaces `/path/to/mockscope`.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
DEFAULT_URL = "http://127.0.0.1:8080"
CHECKOUT = "/path/to/mockscope"
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.DOTALL | re.MULTILINE)
MARKED_BLOCK = re.compile(
    r"^<!-- readme-test: ([\w-]+) -->\n```sh\n(.*?)^```", re.DOTALL | re.MULTILINE
)
#: Where each kind of block runs.
KINDS = {
    "fresh-install": "tests/test_install.py (verbatim, in a copy of the checkout)",
    "ci": ".ci/run (verbatim; tests/test_readme_shell.py checks it is there)",
    "wheel": "tests/test_install.py (in the copy, with the venv the fresh install made)",
    "install": "tests/test_install.py (in a fresh virtual environment)",
    "curl": "tests/test_readme_shell.py, in order against a live server",
    "curl-error": "tests/test_readme_shell.py, in order, answered an error that shows the fix",
    "sdk": "tests/test_readme_shell.py, with an app.py that uses the SDK",
    "schemathesis": "tests/test_readme_shell.py, against a live server",
}
#: Ends each block's output in a run of several blocks.
END = "@@readme-block-end@@"


def marked_blocks() -> list[tuple[str, str]]:
    """(kind, source) of every marked shell block, in README order."""
    return [(kind, source) for kind, source in MARKED_BLOCK.findall(TEXT)]


def blocks(*kinds: str) -> list[str]:
    return [source for kind, source in marked_blocks() if kind in kinds]


def shell_blocks() -> list[str]:
    return SHELL_BLOCK.findall(TEXT)


def substituted(source: str, url: str, checkout: Path | None = None) -> str:
    source = source.replace(DEFAULT_URL, url)
    if checkout is not None:
        source = source.replace(CHECKOUT, str(checkout))
    return source


@dataclass(frozen=True)
class BlockRun:
    """What one block printed, and the JSON documents in it."""

    source: str
    kind: str
    stdout: str

    @property
    def documents(self) -> list[Any]:
        return json_documents(self.stdout)


def run_in_order(
    kinds_and_sources: Sequence[tuple[str, str]],
    url: str,
    cwd: Path,
    env: dict[str, str],
    between: str = "",
    timeout: float = 120,
    checkout: Path | None = None,
) -> list[BlockRun]:
    """Run the blocks in one bash, in order, sharing variables and the working directory, as one
    person would paste them into one terminal. Any failing command fails the run, naming its
    block. `between` runs after each block (e.g. a person's typing time)."""
    script = [
        "set -eEuo pipefail",
        "trap 'echo \"readme block $BLOCK failed (exit $?): $BASH_COMMAND\" >&2' ERR",
    ]
    for number, (_, source) in enumerate(kinds_and_sources):
        block = substituted(source, url, checkout)
        script += [f"BLOCK={number}", block, f"printf '\\n{END}\\n'", between]
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{result.stderr}\n--- stdout:\n{result.stdout}"
    outputs = result.stdout.split(END)
    assert len(outputs) == len(kinds_and_sources) + 1, result.stdout
    return [
        BlockRun(source, kind, output)
        for (kind, source), output in zip(kinds_and_sources, outputs, strict=False)
    ]


def json_documents(text: str) -> list[Any]:
    """Every JSON document in `text` (curl prints answers back to back); anything else fails."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise AssertionError(
                f"not JSON at {position}: {text[position : position + 200]!r}"
            ) from error
        documents.append(document)


def is_error(document: Any) -> bool:
    """The service's error envelope (a FAILED task keeps its code inside `output`)."""
    return isinstance(document, dict) and "code" in document and "output" not in document


def serving_url(lines: Iterator[str]) -> str:
    """The base URL from `mockscope serve`'s start-up log."""
    for line in lines:
        found = re.search(r"serving the DashScope API at (http://\S+)/api/v1", line)
        if found:
            return found.group(1)
    raise AssertionError("mockscope serve stopped before it was ready")
