"""`mockscope serve` as a user runs it: a real process, a log line per request, clean stops.

The stops on SIGTERM and SIGINT run the command in a process of its own. The options are
checked with the same command run by click in this process (`serve_in_process`): it serves
from the main thread as it would there, and SIGTERM stops it.
"""

from __future__ import annotations

import base64
import gc
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from click.testing import CliRunner, Result

from mockscope.cli import main
from tests.support import CREATE_PATH, SUBMIT_HEADERS, assert_conforms

ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r"serving the DashScope API at (http://\S+)/api/v1")
BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}
T = TypeVar("T")


@contextmanager
def serve(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    command = [sys.executable, "-m", "mockscope.cli", "serve", "--port", "0", *args]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            match = SERVING.search(line)
            if match:
                yield process, match.group(1)
                break
        else:
            pytest.fail(f"serve exited with {process.wait()} before it was ready")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _stop(process: subprocess.Popen[str], signum: signal.Signals) -> str:
    process.send_signal(signum)
    _, rest = process.communicate(timeout=10)
    return rest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_logs_each_request_and_stops_cleanly(signum: signal.Signals) -> None:
    with serve("--time-scale", "0", "--seed", "1") as (process, url):
        created = httpx.post(url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
        assert created.status_code == 200
        assert_conforms("create_task", created)
        clock = httpx.get(url + "/_mockscope/clock")
        assert_conforms("get_clock", clock)
        assert clock.json()["mode"] == "manual"
        log = _stop(process, signum)
    assert process.returncode == 0
    assert '"POST /api/v1/services/aigc/text2image/image-synthesis HTTP/1.1" 200' in log
    assert '"GET /_mockscope/clock HTTP/1.1" 200' in log
    assert "shutting down" in log
    assert "Traceback" not in log


@contextmanager
def _process_state_restored() -> Iterator[None]:
    """What `serve` changes for the whole process, put back: the collector's tuning, the root
    logger (`logging.basicConfig`) and the handlers of the signals it stops on (asyncio resets
    them to the defaults when its loop closes)."""
    threshold = gc.get_threshold()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    signals = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        root.handlers[:] = handlers
        root.setLevel(level)
        for signum, handler in signals.items():
            if handler is not None:  # None: not set from Python, nothing to put back
                signal.signal(signum, handler)


def serve_in_process(
    caplog: pytest.LogCaptureFixture, arguments: list[str], exercise: Callable[[str], T]
) -> tuple[Result, T]:
    """`mockscope serve --port 0 <arguments>` run by click in this process, in the main thread
    (its signal handlers need it). Once it logs where it serves, `exercise(url)` runs in a
    helper thread; then SIGTERM stops the command, as it would stop the process."""
    announced: queue.Queue[str | None] = queue.Queue()

    class Announcement(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found = SERVING.search(record.getMessage())
            if found:
                announced.put(found.group(1))

    outcome: list[T] = []
    failures: list[BaseException] = []

    def drive() -> None:
        url = announced.get(timeout=60)
        if url is None:
            return  # the command ended without serving: its result says why
        try:
            outcome.append(exercise(url))
        except BaseException as failure:
            failures.append(failure)
        finally:
            # The command is waiting for exactly this (it stops on nothing else).
            os.kill(os.getpid(), signal.SIGTERM)

    caplog.set_level(logging.INFO, logger="mockscope")
    announcement = Announcement()
    logging.getLogger("mockscope").addHandler(announcement)
    driver = threading.Thread(target=drive, name="serve-exercise")
    driver.start()
    try:
        with _process_state_restored():
            result = CliRunner().invoke(main, ["serve", "--port", "0", *arguments])
    finally:
        announced.put(None)
        driver.join(60)
        logging.getLogger("mockscope").removeHandler(announcement)
    if failures:
        raise failures[0]
    assert result.exit_code == 0, (result.output, result.exception)
    assert outcome, f"the command did not serve: {result.output}"
    return result, outcome[0]


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "mockscope.access"]


def test_serve_accepts_only_the_configured_keys(caplog: pytest.LogCaptureFixture) -> None:
    def exercise(url: str) -> tuple[httpx.Response, httpx.Response]:
        headers = {**SUBMIT_HEADERS, "Authorization": "Bearer sk-b"}
        good = httpx.post(url + CREATE_PATH, json=BODY, headers=headers)
        bad = httpx.post(url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS)
        return good, bad

    arguments = ["--api-key", "sk-a", "--api-key", "sk-b", "--quiet"]
    _, (good, bad) = serve_in_process(caplog, arguments, exercise)
    assert good.status_code == 200
    assert (bad.status_code, bad.json()["code"]) == (401, "InvalidApiKey")
    assert_conforms("create_task", good)
    assert_conforms("create_task", bad)
    (started,) = [r.getMessage() for r in caplog.records if "mockscope serving" in r.getMessage()]
    # The start-up line links the inspector page too.
    assert re.search(r"and its inspector at http://\S+/_mockscope/$", started), started
    assert _access_lines(caplog) == [], "--quiet drops the per-request lines"


def test_without_quiet_each_request_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    serve_in_process(caplog, [], lambda url: httpx.get(url + "/_mockscope/clock"))
    (line,) = _access_lines(caplog)
    assert '"GET /_mockscope/clock HTTP/1.1" 200' in line


def test_serve_runs_a_scaled_system_clock(caplog: pytest.LogCaptureFixture) -> None:
    arguments = ["--time-scale", "60", "--quiet"]
    _, clock = serve_in_process(caplog, arguments, lambda url: httpx.get(url + "/_mockscope/clock"))
    assert_conforms("get_clock", clock)
    assert (clock.json()["mode"], clock.json()["time_scale"]) == ("system", 60.0)


def test_serve_with_a_jumping_clock_answers_finished_tasks_with_live_like_times() -> None:
    with serve("--time", "jump", "--quiet") as (process, url):
        created = httpx.post(url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).json()
        read = httpx.get(
            f"{url}/api/v1/tasks/{created['output']['task_id']}", headers=SUBMIT_HEADERS
        )
        clock = httpx.get(url + "/_mockscope/clock")
        _stop(process, signal.SIGTERM)
    assert_conforms("get_task", read)
    assert_conforms("get_clock", clock)
    output = read.json()["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert output["end_time"] > output["scheduled_time"] > output["submit_time"]
    # Between jumps it runs on the wall clock, so rate-limit windows slide for a waiting client.
    assert (clock.json()["mode"], clock.json()["time_scale"]) == ("system", 1.0)


def test_the_serve_options_come_from_the_options_model() -> None:
    from mockscope.options import CLI_OPTIONS

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    for spec in CLI_OPTIONS:
        assert spec.cli is not None
        for flag in spec.cli.flag.split("/"):  # an on/off pair: both flags
            assert flag in help_text, spec.name
    assert "jump|manual|realistic|zero-duration" in help_text


def test_a_busy_port_is_a_clear_error_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(main, ["serve", "--port", port, "--quiet"])
    assert result.exit_code != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_bad_options_are_refused_by_the_parser() -> None:
    result = CliRunner().invoke(main, ["serve", "--time-scale", "-1"])
    assert result.exit_code == 2
    assert "--time-scale" in result.output


def test_serve_takes_a_scenario_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "rules:\n  - outcome: error\n    code: ModelUnavailable\n    match: {operation: list}\n"
    )

    def exercise(url: str) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        listed = httpx.get(url + "/api/v1/tasks", headers={"Authorization": "Bearer sk"})
        reset = httpx.post(url + "/_mockscope/reset")
        again = httpx.get(url + "/api/v1/tasks", headers={"Authorization": "Bearer sk"})
        return listed, reset, again

    _, (listed, reset, again) = serve_in_process(caplog, ["--scenario", str(path)], exercise)
    assert (listed.status_code, listed.json()["code"]) == (503, "ModelUnavailable")
    assert_conforms("list_tasks", listed)
    assert reset.status_code == 200
    assert again.status_code == 503, "a reset goes back to the file's scenario"


def test_a_malformed_scenario_file_is_refused_before_serving(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules:\n  - outcome: delay\n")
    result = CliRunner().invoke(main, ["serve", "--scenario", str(path), "--port", "0"])
    assert result.exit_code == 1
    assert "bad.yaml" in result.output
    assert "rules.0" in result.output
    assert "Traceback" not in result.output


def test_the_documented_example_scenario_is_valid() -> None:
    from mockscope.scenarios.reading import checked, read_file

    rules, seed = checked(read_file(ROOT / "examples" / "chaos.yaml"))
    assert seed == 42
    assert [rule.outcome.kind for rule in rules] == ["failed", "partial", "error", "lost", "delay"]


def test_serve_sends_retry_after_only_when_asked() -> None:
    for flags, expected in (((), None), (("--retry-after",), "1")):
        with serve("--time-scale", "0", "--quiet", *flags) as (process, url):
            answers = [
                httpx.post(url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS) for _ in range(3)
            ]
            _stop(process, signal.SIGTERM)
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].headers.get("Retry-After") == expected
        assert_conforms("create_task", answers[2])


LONG_KEY = "sk-5f0e4d3c2b1a09f8e7d6c5b4a3928170"


def test_no_api_key_leaves_the_server_in_clear() -> None:
    headers = {**SUBMIT_HEADERS, "Authorization": f"Bearer {LONG_KEY}"}
    with serve("--time", "manual", "--seed", "1") as (process, url):
        created = httpx.post(url + CREATE_PATH, json=BODY, headers=headers)
        assert created.status_code == 200
        answers = [
            httpx.get(url + "/_mockscope/journal", params={"api_key": LONG_KEY}),
            httpx.get(url + "/_mockscope/tasks", params={"account": LONG_KEY}),
            httpx.get(url + "/_mockscope/scenarios"),
            httpx.get(
                url + "/api/v1/uploads",
                params={"action": "getPolicy", "model": "wanx-v1"},
                headers=headers,
            ),
        ]
        log = _stop(process, signal.SIGTERM)
    assert all(answer.status_code == 200 for answer in answers)
    for answer in answers:
        assert LONG_KEY not in answer.text
        assert (
            LONG_KEY
            not in base64.b64decode(answer.json().get("data", {}).get("policy", "")).decode()
        )
    journal, tasks = answers[0].json(), answers[1].json()
    assert {entry["account"] for entry in journal["entries"]} == {"sk-…8170"}
    assert [entry["account"] for entry in tasks["accounts"]] == ["sk-…8170"]
    assert LONG_KEY not in log
    assert '"GET /_mockscope/journal?api_key=sk-…8170 HTTP/1.1" 200' in log
    assert '"GET /_mockscope/tasks?account=sk-…8170 HTTP/1.1" 200' in log
    assert "Traceback" not in log


def test_serve_takes_a_models_file(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "serve: [wanx-v1, wan2.2-t2i-flash]\n"
        "models:\n"
        "  - id: wanx-v1\n"
        "    limits: {submit_qps: 10, tasks_in_progress: 3, source: [USER]}\n"
    )
    with serve("--models", str(path), "--time-scale", "0", "--quiet") as (process, url):
        created = [
            httpx.post(url + CREATE_PATH, json=BODY, headers=SUBMIT_HEADERS).status_code
            for _ in range(4)
        ]
        v26 = {**BODY, "model": "wan2.5-t2i-preview"}
        refused = httpx.post(url + CREATE_PATH, json=v26, headers=SUBMIT_HEADERS)
        _stop(process, signal.SIGTERM)
    assert created == [200] * 4  # 10 a second, not wanx-v1's own 2
    assert (refused.status_code, refused.json()["message"]) == (400, "Model not exist.")
    assert_conforms("create_task", refused)


def test_a_broken_models_file_is_refused_before_serving(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text('{"serve": ["wanx-v9"]}')
    result = CliRunner().invoke(main, ["serve", "--models", str(path), "--port", "0"])
    assert result.exit_code == 2
    assert "wanx-v9" in result.output
    assert "Traceback" not in result.output


def test_mockscope_models_prints_the_readme_table() -> None:
    from mockscope import model_catalogue
    from mockscope.cli import models_table

    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0
    assert result.output == models_table(model_catalogue())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- models:start -->\n"), readme.index("<!-- models:end -->")
    listed = readme[start + len("<!-- models:start -->\n") : end]
    assert listed == result.output, "README's models table differs: run `mockscope models`"
    for spec in model_catalogue():
        assert f"| `{spec.id}`" in listed


def test_the_readme_models_file_example_is_valid(tmp_path: Path) -> None:
    from mockscope import MockServer

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Models") :]
    example = section[section.index("```yaml\n") + len("```yaml\n") :]
    path = tmp_path / "models.yaml"
    path.write_text(example[: example.index("```")])
    server = MockServer(models=str(path))
    assert server.models.ids() == ("wanx-v1", "wan2.2-t2i-flash")
    assert server.models["wanx-v1"].limits.tasks_in_progress == 3
