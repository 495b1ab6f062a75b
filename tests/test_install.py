"""A newcomer's install, as the README tells it, on this machine: the first command verbatim in a
copy of the checkout (a plain install that serves), a wheel built there, installed into a fresh
virtual environment without extras, where `mockscope serve` answers the quick start's first curl
example, `wanx_client` imports and works, and a separate project uses the pytest fixture; then
the path install.

It needs the package index for the first install and for the build backend (the separate
project's pytest is this environment's, linked in); the wheel's install takes the same archives
the first install resolved (its report), so that the index's pages, most of pip's CPU time here,
are read once. It takes 20-40 s, so it is one test, marked to start first: under pytest-xdist
(the default) it runs on one worker from the start while the others take the rest of the suite.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from textwrap import dedent

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import mockscope
from tests.readme_shell import ROOT, blocks, marked_blocks, run_in_order, serving_url

VERSION = mockscope.__version__
#: The quick start's helper and its first example, the submit.
HELPER, SUBMIT = blocks("curl")[:2]


@pytest.mark.start_first
def test_the_readme_installs_work_on_a_fresh_environment(tmp_path: Path) -> None:
    env = _plain_environment()
    checkout = tmp_path / "mockscope"
    _copy_checkout(checkout)

    # The README's first command, verbatim: a plain install of the checkout, then serve.
    (first,) = blocks("fresh-install")
    resolved = tmp_path / "fresh-install.json"
    fresh = {**env, "MOCKSCOPE_PORT": "0", "PIP_REPORT": str(resolved)}
    with _serving(["bash", "-c", first], checkout, fresh) as url:
        _answers_the_first_curl_example(url, tmp_path, env)
    assert not _importable(checkout / ".venv/bin/python", "pytest", "dashscope", "schemathesis")

    # A wheel, built in the checkout as the README says.
    (build,) = blocks("wheel")
    run_in_order([("wheel", build)], "", tmp_path, env, checkout=checkout, timeout=300)
    wheel = checkout / "dist" / f"mockscope-{VERSION}-py3-none-any.whl"
    assert wheel.is_file(), sorted(p.name for p in (checkout / "dist").iterdir())

    # ... installed into a fresh environment, without extras.
    project = tmp_path / "project"
    bin_dir = _fresh_environment(project / ".venv", checkout / ".venv" / "bin" / "python")
    in_project = {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}
    path_install, wheel_install = sorted(blocks("install"), key=lambda block: ".whl" in block)
    # Off the index, from the archives the first install resolved: a dependency missing from the
    # wheel's metadata is still missing here (the checks below import every one of them).
    from_resolved = {
        **in_project,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(_links_page(resolved, tmp_path / "resolved.html")),
    }
    run_in_order([("install", wheel_install)], "", project, from_resolved, checkout=checkout)
    python = bin_dir / "python"
    assert not _importable(python, "pytest", "dashscope", "schemathesis"), "no extra came along"

    # There `mockscope serve` answers the quick start's first example ...
    with _serving([str(bin_dir / "mockscope"), "serve", "--port", "0"], project, in_project) as url:
        _answers_the_first_curl_example(url, project, in_project)
        # ... and the reference client, installed with it, works.
        _run(python, _WANX_CLIENT.format(url=url), project, in_project)
    assert _run(python, "-m", project, in_project, "mockscope", "--version").startswith(
        f"mockscope, version {VERSION}"
    )

    # A separate project uses the fixture (its own pytest; no conftest.py).
    _add_pytest(project / ".venv")
    tests = project / "tests"
    tests.mkdir()
    (tests / "test_with_the_fixture.py").write_text(_PROJECT_TEST, encoding="utf-8")
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=in_project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout

    # The path install replaces it, and works the same.
    run_in_order([("install", path_install)], "", project, in_project, checkout=checkout)
    _run(python, "import mockscope, wanx_client; print(mockscope.__file__)", project, in_project)


def test_the_install_blocks_are_the_ones_run_here() -> None:
    kinds = [kind for kind, _ in marked_blocks()]
    assert kinds.count("fresh-install") == 1
    assert kinds.count("wheel") == 1
    assert kinds.count("install") == 2
    assert f"mockscope-{VERSION}-py3-none-any.whl" in "".join(blocks("install"))


_WANX_CLIENT = dedent(
    """
    import wanx_client

    with wanx_client.Client(api_key="sk-anything", base_url="{url}/api/v1") as client:
        task = client.submit("a cat", n=1)
        print(client.get(task.task_id).status)
    """
)

_PROJECT_TEST = dedent(
    '''
    """A user's tests: the fixture comes from the installed plugin, no conftest.py."""

    import pytest
    from wanx_client import Client, TaskStatus


    def test_the_fixture_serves_a_finished_task(mockscope):
        with Client(api_key="sk-user", base_url=mockscope.base_http_api_url) as client:
            done = client.wait(client.submit("a cat", n=1))
        assert done.status is TaskStatus.SUCCEEDED


    @pytest.mark.mockscope(time="manual", start_time="2025-06-01T12:00:00Z")
    def test_the_marker_sets_a_manual_clock(mockscope):
        assert mockscope.clock.now_ms() == 1_748_779_200_000
    '''
)


def _plain_environment() -> dict[str, str]:
    """This process's environment, less the virtual environment and pytest's own variables."""
    venv_bin = str(Path(sys.executable).parent)
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != venv_bin]
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "VIRTUAL_ENV", "PYTHON", "MOCKSCOPE_", "COV_"))
    }
    env["PATH"] = os.pathsep.join(path)
    # Byte-compiling every installed module is most of pip's CPU time here, and Python compiles
    # what it imports anyway.
    env["PIP_NO_COMPILE"] = "1"
    return env


def _fresh_environment(venv: Path, pip_python: Path) -> Path:
    """A new virtual environment, its bin directory, where `pip` is the pip of `pip_python`
    installing into it (pip's --python): the same pip a new environment gets, without
    ensurepip's byte-compiling all of pip again (about 5 s of CPU)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    bin_dir = venv / "bin"
    pip = bin_dir / "pip"
    pip.write_text(
        f'#!/bin/sh\nexec "{pip_python}" -m pip --python "{bin_dir / "python"}" "$@"\n',
        encoding="utf-8",
    )
    pip.chmod(0o755)
    return bin_dir


def _add_pytest(venv: Path) -> None:
    """This environment's pytest, made importable in `venv` by a .pth file naming a directory of
    links to its distributions. pip would install the same (after reading the package index,
    ~4 s of CPU); what is tested is that pytest finds the plugin the wheel installed, by its
    entry point, and that importlib.metadata finds on sys.path as it would in site-packages."""
    linked = venv / "pytest-only"
    linked.mkdir()
    for name in _requirements("pytest"):
        dist = importlib.metadata.distribution(name)
        tops = {Path(str(file)).parts[0] for file in dist.files or ()}
        for top in tops - {"..", "__pycache__"}:
            source = Path(str(dist.locate_file(top)))
            if source.exists():
                (linked / top).symlink_to(source)
    (site_packages,) = venv.glob("lib/python*/site-packages")
    (site_packages / "pytest-only.pth").write_text(f"{linked}\n", encoding="utf-8")


def _requirements(name: str) -> set[str]:
    """A distribution and what it needs here, recursively (no extras): pytest brings no plugin
    of this environment along."""
    needed = {canonicalize_name(name)}
    for line in importlib.metadata.requires(name) or ():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            needed |= _requirements(requirement.name)
    return needed


def _links_page(report: Path, page: Path) -> Path:
    """A page linking every archive a pip installation report names (for --find-links)."""
    installed = json.loads(report.read_text(encoding="utf-8"))["install"]
    assert any(item["metadata"]["name"] == "mockscope" for item in installed), installed
    urls = [
        item["download_info"]["url"]
        for item in installed
        if "archive_info" in item["download_info"]
    ]
    assert urls, installed
    page.write_text(
        "".join(f'<a href="{html.escape(url)}">{html.escape(url)}</a>\n' for url in urls),
        encoding="utf-8",
    )
    return page


def _copy_checkout(target: Path) -> None:
    """The checkout's files as a fresh clone with the working tree's changes would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_symlink() or not source.is_file():
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())


@contextmanager
def _serving(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Start a command that ends in `mockscope serve`; its URL once it serves; stopped after."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: bash and the server stop together
    )
    try:
        assert process.stderr is not None
        yield serving_url(iter(process.stderr.readline, ""))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        if process.stderr is not None:
            process.stderr.close()


def _answers_the_first_curl_example(url: str, cwd: Path, env: dict[str, str]) -> None:
    _, submitted = run_in_order([("curl", HELPER), ("curl", SUBMIT)], url, cwd, env)
    (answer,) = submitted.documents
    assert answer["output"]["task_status"] == "PENDING", answer


def _importable(python: Path, *modules: str) -> list[str]:
    probe = f"import importlib.util as u; print(*[m for m in {modules!r} if u.find_spec(m)])"
    return _run(python, probe, python.parent, {"PATH": os.environ.get("PATH", "")}).split()


def _run(python: Path, code: str, cwd: Path, env: dict[str, str], *args: str) -> str:
    command = [str(python), *(["-m", *args] if code == "-m" else ["-c", code])]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout
