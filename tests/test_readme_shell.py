"""The README's shell blocks are tests: the curl quick start and the control plane run in order
against a live fake on `mockscope serve`'s defaults, the SDK's environment-variable switch runs an
app, schemathesis runs the command shown; none is skipped, and every block is run somewhere."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockscope import MockServer
from mockscope.options import CLI_OPTIONS, Options
from tests import readme_shell
from tests.readme_shell import KINDS, BlockRun, blocks, is_error, marked_blocks, run_in_order
from tests.support import assert_schema_conformance

ROOT = readme_shell.ROOT
#: The dev environment's tools (python, schemathesis) first, then the system's (bash, curl).
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
}
#: A person types the next command a second or so later: the fake's clock moves on as the real
#: one would, so the quick start's submissions keep within 2 a second as a person's do.
TYPING = (
    "curl -sS -o /dev/null -X POST http://127.0.0.1:8080/_mockscope/clock/advance "
    "-H 'Content-Type: application/json' -d '{\"seconds\": 1}'"
)

SCHEMATHESIS_CONFIG = """\
seed = 20240301

[phases.coverage]
enabled = false

[phases.stateful]
enabled = false
"""


@pytest.fixture
def served() -> Iterator[MockServer]:
    """A fake on `mockscope serve`'s defaults (the wall clock, live limits and timing), every
    answer checked against schemas/."""
    defaults = {
        spec.name: spec.cli.default
        for spec in CLI_OPTIONS
        if spec.cli is not None and spec.name not in ("host", "port", "api_keys")
    }
    with MockServer(**defaults, validate_responses=True) as server:
        yield server
        assert_schema_conformance(server)


def test_every_shell_block_is_run_by_a_test() -> None:
    marked = marked_blocks()
    assert len(marked) == len(readme_shell.shell_blocks()), (
        "every ```sh block in README.md needs a `<!-- readme-test: KIND -->` line before it"
    )
    unknown = {kind for kind, _ in marked} - set(KINDS)
    assert not unknown, f"no test runs README blocks of kind {unknown}"
    assert {kind for kind, _ in marked} == set(KINDS), "a kind that no block uses"


def test_the_ci_block_is_what_ci_runs() -> None:
    (command,) = blocks("ci")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command.strip() in ci.splitlines()


def test_the_curl_quick_start_and_the_control_plane_run(served: MockServer, tmp_path: Path) -> None:
    runs = run_in_order(
        [(kind, source) for kind, source in marked_blocks() if kind in ("curl", "curl-error")],
        served.url,
        tmp_path,
        ENV,
        between=TYPING.replace(readme_shell.DEFAULT_URL, served.url),
    )
    for run in runs:
        documents = run.documents  # every block prints JSON documents only
        if run.kind == "curl-error":
            assert documents, run.source
            assert all(is_error(document) for document in documents), run.stdout
            assert all("takes a JSON body" in document["message"] for document in documents)
        else:
            assert not [d for d in documents if is_error(d)], f"{run.source}\n{run.stdout}"
        if run.source.lstrip().startswith("field()"):
            assert documents == []
        else:
            assert documents, f"a block that shows nothing:\n{run.source}"
    _check_what_the_quick_start_shows(runs, tmp_path)


def _check_what_the_quick_start_shows(runs: list[BlockRun], tmp_path: Path) -> None:
    shown = [document for run in runs for document in run.documents]
    tasks = [d for d in shown if isinstance(d, dict) and "output" in d]
    statuses = {task["output"].get("task_status") for task in tasks}  # a sync answer has none
    assert {"PENDING", "SUCCEEDED", "FAILED"} <= statuses
    pages = [d for d in shown if isinstance(d, dict) and isinstance(d.get("data"), list)]
    listed = [item for page in pages for item in page["data"]]
    assert listed, "the list shows the cancelled task"
    assert all(item.get("status") == "CANCELED" for item in listed)
    downloads = [d for d in shown if isinstance(d, dict) and "content_type" in d]
    assert {"status": 200, "content_type": "image/png"}.items() <= downloads[0].items()
    assert (tmp_path / "cat.png").read_bytes().startswith(b"\x89PNG")
    assert {"status": 200} in shown, "the upload answers exactly 200"
    failed = [d["output"] for d in shown if isinstance(d, dict) and "output" in d]
    assert any(output.get("code") == "DataInspectionFailed" for output in failed)
    assert any("choices" in output for output in failed), "wan2.6-t2i answers with choices"


def test_the_sdk_is_pointed_at_the_fake_by_its_environment_variable(
    served: MockServer, tmp_path: Path
) -> None:
    (command,) = blocks("sdk")
    (tmp_path / "app.py").write_text(
        "from dashscope import ImageSynthesis\n"
        "submitted = ImageSynthesis.async_call(model='wanx-v1', prompt='a cat', n=1)\n"
        "assert submitted.status_code == 200, submitted\n"
        "print(ImageSynthesis.fetch(submitted).output.task_status)\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in ENV.items() if not k.startswith("DASHSCOPE_")}
    (run,) = _run(command, served.url, tmp_path, env)
    assert run.stdout.split() in (["PENDING"], ["RUNNING"])  # on the wall clock
    assert [entry.operation for entry in served.journal.entries()] == ["create", "get"]


def test_the_schemathesis_command_passes_against_the_fake(
    served: MockServer, tmp_path: Path
) -> None:
    assert shutil.which("schemathesis", path=ENV["PATH"])
    (command,) = blocks("schemathesis")
    # The command as shown, with a configuration file beside it (schemathesis reads one from the
    # working directory): a fixed seed, and the examples and fuzzing phases only. The coverage
    # and stateful phases over the same operations and checks run in this process, in
    # contract_tests/test_schemathesis.py (its coverage cases, its OpenAPI links); here they
    # were half the suite's longest subprocess.
    (tmp_path / "schemathesis.toml").write_text(SCHEMATHESIS_CONFIG, encoding="utf-8")
    _run(command, served.url, tmp_path, ENV, json_output=False)
    assert len(served.journal.entries()) > 50


def test_the_defaults_used_here_are_serves() -> None:
    defaults = {spec.name: spec.cli.default for spec in CLI_OPTIONS if spec.cli is not None}
    assert (defaults["time"], defaults["time_scale"]) == ("realistic", 1.0)
    assert Options(time="realistic", time_scale=1.0).new_clock().mode == "system"


def _run(
    source: str, url: str, cwd: Path, env: dict[str, str], json_output: bool = True
) -> list[BlockRun]:
    runs = run_in_order([("one", source)], url, cwd, env, timeout=300)
    if json_output:
        return runs
    return [BlockRun(source, "one", "")]
