"""The plugin as a user meets it: a separate project that only installs mockscope and uses the
fixtures, the marker and the SDK fixture, run by pytest in this process (fast), and once each in
a fresh interpreter, serially and under pytest-xdist (the entry point as users load it).

The project's tests leave evidence (which worker used which server port, what the isolation
check saw, seeded task ids, mockscope threads at session start) in `evidence.log`, which the
tests here read afterwards.
"""

from __future__ import annotations

import time
from collections import defaultdict
from textwrap import dedent

import pytest

from tests.support import INNER_PYTEST

SUBPROCESS_TIMEOUT = 120

INI = """
[pytest]
addopts = --strict-markers -p no:cacheprovider
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

CONFTEST = '''
"""The user's conftest: evidence for the outer test, and the server port each worker uses."""

import os
import sys
import threading
from pathlib import Path

import pytest

EVIDENCE = Path(__file__).parent / "evidence.log"


def record(*words):
    with EVIDENCE.open("a", encoding="utf-8") as log:
        log.write(" ".join(map(str, words)) + "\\n")


def pytest_sessionfinish(session):
    import helpers

    helpers.HTTP.close()


def pytest_sessionstart(session):
    """Loading the plugin starts nothing: no fake runs before a test asks for one."""
    running = [thread for thread in threading.enumerate() if thread.name == "mockscope"]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    record("loaded", worker, session.config.pluginmanager.has_plugin("mockscope"), len(running))


@pytest.fixture
def evidence():
    return record


@pytest.fixture(autouse=True)
def _session_port(mockscope_server, evidence):
    evidence("server", os.environ.get("PYTEST_XDIST_WORKER", "main"), mockscope_server.port)


@pytest.fixture
def without_dashscope(monkeypatch):
    """As if the dashscope SDK were not installed."""
    monkeypatch.setitem(sys.modules, "dashscope", None)
'''

HELPERS = '''
"""Plain-HTTP helpers the user's tests share."""

import httpx

API = "/services/aigc/text2image/image-synthesis"
BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}


def headers(key="sk-user"):
    return {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}


HTTP = httpx.Client(timeout=10)  # one client: each new one builds an SSL context (~30 ms)


def submit(server, key="sk-user"):
    return HTTP.post(server.base_http_api_url + API, headers=headers(key), json=BODY)


def status(server, task_id, key="sk-user", full=False):
    answer = HTTP.get(f"{server.base_http_api_url}/tasks/{task_id}", headers=headers(key))
    assert answer.status_code == 200, answer.text
    output = answer.json()["output"]
    return output if full else output["task_status"]
'''

TEST_SDK = '''
"""The official SDK against the fake: fast by default, virtual sleeps, scenarios, restore."""

import os
import subprocess
import sys
import time
from http import HTTPStatus

import dashscope
import pytest
from dashscope import ImageSynthesis
from dashscope.client import base_api
from dashscope.v2.resources import _jobs


def sdk_state():
    return (
        os.environ.get("DASHSCOPE_HTTP_BASE_URL"),
        os.environ.get("DASHSCOPE_API_KEY"),
        dashscope.base_http_api_url,
        dashscope.api_key,
        base_api.time,
        base_api.asyncio,
        _jobs.time,
        _jobs.asyncio,
    )


@pytest.fixture
def sdk_restored_afterwards():
    """Set up before mockscope_dashscope, so it checks after that fixture has been torn down."""
    before = sdk_state()
    yield
    assert sdk_state() == before


def test_call_succeeds_at_once_by_default(mockscope_dashscope, mockscope):
    started = time.perf_counter()
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    elapsed = time.perf_counter() - started
    assert response.status_code == HTTPStatus.OK
    assert response.output.task_status == "SUCCEEDED"
    # Any real sleep of the SDK's would take a whole second: its first poll sleep is 1 s.
    assert elapsed < 1.0, f"took {elapsed:.2f} s: the SDK slept for real"
    assert mockscope_dashscope.slept == []
    assert len(mockscope.journal.entries(operation="get")) == 1
    assert response.output.end_time > response.output.scheduled_time > response.output.submit_time


def test_sdk_fixture_points_env_and_module_at_the_fake(
    sdk_restored_afterwards, mockscope_dashscope, mockscope
):
    assert os.environ["DASHSCOPE_HTTP_BASE_URL"] == mockscope.base_http_api_url
    assert dashscope.base_http_api_url == mockscope.base_http_api_url
    assert dashscope.api_key == mockscope_dashscope.api_key
    # The env var is what an SDK imported afresh (here in a child process) picks up.
    child = subprocess.run(
        [sys.executable, "-c", "import dashscope; print(dashscope.base_http_api_url)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == mockscope.base_http_api_url


@pytest.mark.mockscope(time="manual")
def test_manual_time_turns_the_sdk_sleeps_into_clock_advances(mockscope_dashscope, mockscope):
    start_ms = mockscope.clock.now_ms()
    started = time.perf_counter()
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.output.task_status == "SUCCEEDED"
    slept = mockscope_dashscope.slept
    assert slept[:4] == [1, 1, 2, 2]
    assert 26 <= sum(slept) <= 40, "the ~27 s of a live-like task, waited on the fake's clock"
    assert mockscope.clock.now_ms() - start_ms == round(sum(slept) * 1000)
    assert time.perf_counter() - started < 5


@pytest.mark.mockscope(time="manual")
def test_manual_time_moves_the_v2_clients_sleeps_too(mockscope_dashscope, mockscope):
    from dashscope.v2 import Client

    client = Client(
        api_key=mockscope_dashscope.api_key, base_url=mockscope.base_http_api_url, max_retries=0
    )
    started = time.perf_counter()
    try:
        jobs = client.images.jobs
        done = jobs.wait(jobs.create(model="wanx-v1", prompt="a cat", n=1))
    finally:
        client.close()
    assert done.succeeded
    assert sum(mockscope_dashscope.slept) >= 26, "it waited the task's ~27 s on the fake's clock"
    assert time.perf_counter() - started < 5


@pytest.mark.mockscope(scenario=["failed; code=DataInspectionFailed"])
def test_scenario_from_the_marker(mockscope_dashscope):
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.output.task_status == "FAILED"
    assert response.output.code == "DataInspectionFailed"


@pytest.mark.mockscope(scenario=["polls; running=2; done=4"])
def test_poll_count_progression(mockscope_dashscope, mockscope):
    started = time.perf_counter()
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.output.task_status == "SUCCEEDED"
    reads = [entry.task_status for entry in mockscope.journal.entries(operation="get")]
    assert reads == ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    assert mockscope_dashscope.slept == [1, 1, 2]
    assert time.perf_counter() - started < 1, "the sleeps were virtual"


@pytest.mark.mockscope(time="realistic")
def test_realistic_time_really_sleeps_but_the_clock_can_jump(mockscope_dashscope, mockscope):
    assert mockscope_dashscope.sdk_sleep == "real"
    assert base_api.time is time
    submitted = ImageSynthesis.async_call(model="wanx-v1", prompt="a cat", n=1)
    assert ImageSynthesis.fetch(submitted).output.task_status in {"PENDING", "RUNNING"}
    mockscope.clock.advance(60)
    assert ImageSynthesis.fetch(submitted).output.task_status == "SUCCEEDED"


def test_sdk_fixture_skips_without_dashscope(without_dashscope, mockscope_dashscope):
    raise AssertionError("not reached: the fixture skips")
'''

TEST_ASYNC = '''
"""Async tests use the same fixtures: the fake runs in its own thread."""

import aiohttp
import httpx
import pytest
from dashscope.aigc.image_synthesis import AioImageSynthesis
from dashscope.api_entities.aio_session import close_shared_aio_session

from helpers import API, BODY, headers

UPSTREAM = aiohttp.web.AppKey("upstream", str)


@pytest.mark.asyncio
async def test_httpx_async_client(mockscope):
    async with httpx.AsyncClient(base_url=mockscope.base_http_api_url) as client:
        submitted = await client.post(API, headers=headers(), json=BODY)
        task_id = submitted.json()["output"]["task_id"]
        read = await client.get(f"/tasks/{task_id}", headers=headers())
        output = read.json()["output"]
        assert output["task_status"] == "SUCCEEDED"
        image = await client.get(output["results"][0]["url"])
        assert image.headers["Content-Type"] == "image/png"


@pytest.mark.asyncio
@pytest.mark.mockscope(time="manual")
async def test_manual_clock_from_an_async_test(mockscope):
    async with httpx.AsyncClient(base_url=mockscope.base_http_api_url) as client:
        submitted = await client.post(API, headers=headers(), json=BODY)
        task_url = f"/tasks/{submitted.json()['output']['task_id']}"
        assert (await client.get(task_url, headers=headers())).json()["output"][
            "task_status"
        ] == "PENDING"
        mockscope.clock.advance(60)
        assert (await client.get(task_url, headers=headers())).json()["output"][
            "task_status"
        ] == "SUCCEEDED"


@pytest.mark.asyncio
@pytest.mark.mockscope(time="manual")
async def test_aio_sdk_sleeps_are_virtual_too(mockscope_dashscope):
    try:
        response = await AioImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    finally:
        await close_shared_aio_session()  # the SDK keeps one aiohttp session per event loop
    assert response.output.task_status == "SUCCEEDED"
    assert mockscope_dashscope.slept[:3] == [1, 1, 2]


@pytest.mark.asyncio
async def test_an_aiohttp_app_that_calls_the_fake(aiohttp_client, mockscope):
    """The user's own aiohttp service, driven by pytest-aiohttp, with the fake upstream."""

    async def generate(request):
        upstream = request.app[UPSTREAM]
        async with aiohttp.ClientSession() as session:
            async with session.post(upstream + API, headers=headers(), json=BODY) as answer:
                task_id = (await answer.json())["output"]["task_id"]
            async with session.get(f"{upstream}/tasks/{task_id}", headers=headers()) as answer:
                status = (await answer.json())["output"]["task_status"]
        return aiohttp.web.json_response({"task_id": task_id, "status": status})

    app = aiohttp.web.Application()
    app[UPSTREAM] = mockscope.base_http_api_url
    app.router.add_post("/generate", generate)
    client = await aiohttp_client(app)
    answer = await client.post("/generate")
    assert (await answer.json())["status"] == "SUCCEEDED"
'''

TEST_CONFIG = '''
"""Per-test configuration with the marker, and what one test does not leak into the next."""

import time

import pytest
from mockscope import JumpingClock, Limits, ManualClock, SystemClock

from helpers import status, submit

CARRIED = []


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_tasks_do_not_outlive_their_test(round_, mockscope, evidence):
    for task_id in CARRIED:  # created by an earlier test in this process
        assert status(mockscope, task_id) == "UNKNOWN"
        evidence("isolation-checked", round_, task_id)
    task_id = submit(mockscope).json()["output"]["task_id"]
    assert status(mockscope, task_id) == "SUCCEEDED"
    CARRIED.append(task_id)


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_hand_made_changes_do_not_leak(round_, mockscope):
    assert mockscope.limits == Limits()
    assert not mockscope.rules
    assert not mockscope.journal.entries()
    assert abs(mockscope.clock.now_ms() / 1000 - time.time()) < 5
    # Now spoil it all for whoever comes next.
    mockscope.set_limits(Limits(create_per_second=1))
    mockscope.set_scenario(["failed"])
    mockscope.clock.advance(86_400)
    submit(mockscope)


@pytest.mark.mockscope(api_keys={"sk-a"}, limits=Limits(create_per_second=1))
def test_marker_keys_and_limits(mockscope):
    assert submit(mockscope, key="sk-other").status_code == 401
    assert submit(mockscope, key="sk-a").status_code == 200
    throttled = submit(mockscope, key="sk-a")
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "Throttling.RateQuota"


def test_default_accepts_any_key_after_a_restricted_test(mockscope):
    assert submit(mockscope, key="sk-other").status_code == 200


@pytest.mark.mockscope(models=["wan2.6-t2i"])
def test_marker_restricts_the_models_served(mockscope):
    refused = submit(mockscope)  # wanx-v1, not served here
    assert (refused.status_code, refused.json()["message"]) == (400, "Model not exist.")
    assert mockscope.models.ids() == ("wan2.6-t2i",)


def test_every_model_is_served_again_after_a_restricted_test(mockscope):
    assert submit(mockscope).status_code == 200
    assert len(mockscope.models) == 8


@pytest.mark.parametrize("round_", [1, 2])
@pytest.mark.mockscope(seed=3)
def test_seeded_ids_repeat(round_, mockscope, evidence):
    evidence("seeded", submit(mockscope).json()["output"]["task_id"])


@pytest.mark.mockscope(time="manual")
class TestMarkersMerge:
    @pytest.mark.mockscope(scenario=["failed; code=DataInspectionFailed"])
    def test_closest_marker_adds_to_the_class_one(self, mockscope, mockscope_settings):
        assert mockscope_settings.time == "manual"
        assert isinstance(mockscope.clock, ManualClock)
        task_id = submit(mockscope).json()["output"]["task_id"]
        mockscope.clock.advance(60)
        assert status(mockscope, task_id) == "FAILED"

    @pytest.mark.mockscope(time="jump")
    def test_closest_marker_wins(self, mockscope, mockscope_server):
        assert isinstance(mockscope.clock, JumpingClock)
        assert mockscope is mockscope_server, "the default configuration shares the server"


@pytest.mark.mockscope(time="zero-duration")
def test_zero_duration_tasks_take_no_time_at_all(mockscope):
    assert isinstance(mockscope.clock, SystemClock)
    task_id = submit(mockscope).json()["output"]["task_id"]
    read = status(mockscope, task_id, full=True)
    assert read["task_status"] == "SUCCEEDED"
    assert read["submit_time"] == read["scheduled_time"] == read["end_time"]


@pytest.mark.mockscope(time="realistic", time_scale=1000)
def test_realistic_time_can_run_faster(mockscope):
    assert isinstance(mockscope.clock, SystemClock)
    assert mockscope.clock.time_scale == 1000
'''

TEST_JUMP = '''
"""Issue 15: fast by default without bending time. Under the defaults (a jumping clock) a
read of an unfinished task jumps the fake's clock to the task's end: sequential flows see what
live clients see, bursts still meet the limits."""

import asyncio
from datetime import datetime
from http import HTTPStatus

import httpx
import pytest
from dashscope import ImageSynthesis
from dashscope.aigc.image_synthesis import AioImageSynthesis
from dashscope.api_entities.aio_session import close_shared_aio_session
from dashscope.v2 import Client
from dashscope.v2.errors import DashScopeError

from helpers import API, BODY, headers, status, submit


def seconds(output):
    """(scheduled - submit, end - submit) of a task, in seconds."""
    times = [
        datetime.fromisoformat(output[name]).timestamp()
        for name in ("submit_time", "scheduled_time", "end_time")
    ]
    return times[1] - times[0], times[2] - times[0]


def assert_live_like(output):
    queued, took = seconds(output)
    assert 0 < queued < 1, f"scheduled {queued:.3f} s after submit"
    assert took >= 20, f"ended {took:.3f} s after submit"


def test_sequential_calls_all_succeed_with_live_like_times(mockscope_dashscope, mockscope):
    for k in range(5):
        response = ImageSynthesis.call(model="wanx-v1", prompt=f"cat {k}", n=1)
        assert response.status_code == HTTPStatus.OK, response
        assert response.output.task_status == "SUCCEEDED"
        assert_live_like(response.output)
    assert mockscope_dashscope.slept == [], "the clock jumped: the SDK never slept"
    mockscope.journal.assert_well_behaved_client(max_polls_per_second=1)


def test_a_burst_still_meets_the_submission_limit(mockscope_dashscope):
    codes = [
        ImageSynthesis.async_call(model="wanx-v1", prompt=f"cat {k}", n=1).status_code
        for k in range(3)
    ]
    assert codes == [200, 200, 429]


def test_the_aio_sdk_behaves_the_same(mockscope_dashscope):
    async def flow():
        try:
            done = [
                await AioImageSynthesis.call(model="wanx-v1", prompt=f"cat {k}", n=1)
                for k in range(3)
            ]
            burst = [
                await AioImageSynthesis.async_call(model="wanx-v1", prompt=f"dog {k}", n=1)
                for k in range(3)
            ]
        finally:
            await close_shared_aio_session()
        return done, burst

    done, burst = asyncio.run(flow())
    assert [response.output.task_status for response in done] == ["SUCCEEDED"] * 3
    for response in done:
        assert_live_like(response.output)
    assert [response.status_code for response in burst] == [200, 200, 429]
    assert mockscope_dashscope.slept == []


def test_the_v2_client_behaves_the_same(mockscope_dashscope, mockscope):
    client = Client(
        api_key=mockscope_dashscope.api_key, base_url=mockscope.base_http_api_url, max_retries=0
    )
    try:
        jobs = client.images.jobs
        for k in range(3):
            done = jobs.wait(jobs.create(model="wanx-v1", prompt=f"v2 cat {k}", n=1))
            assert done.succeeded
            raw = status(mockscope, done.task_id, key=mockscope_dashscope.api_key, full=True)
            assert_live_like(raw)
        jobs.create(model="wanx-v1", prompt="v2 dog 0", n=1)
        jobs.create(model="wanx-v1", prompt="v2 dog 1", n=1)
        with pytest.raises(DashScopeError):
            jobs.create(model="wanx-v1", prompt="v2 dog 2", n=1)
    finally:
        client.close()
    assert sum(mockscope_dashscope.slept) < 10, "v2 sleeps once before its first poll: virtual"


def test_raw_http_reads_succeeded_at_the_first_read(mockscope):
    task_id = submit(mockscope).json()["output"]["task_id"]
    output = status(mockscope, task_id, full=True)
    assert output["task_status"] == "SUCCEEDED"
    assert_live_like(output)


def test_a_day_later_the_task_is_gone(mockscope):
    task_id = submit(mockscope).json()["output"]["task_id"]
    assert status(mockscope, task_id) == "SUCCEEDED"
    mockscope.clock.advance(25 * 3600)
    assert status(mockscope, task_id) == "UNKNOWN"


def test_tasks_queued_behind_others_end_after_them(mockscope):
    first = submit(mockscope).json()["output"]["task_id"]
    second = submit(mockscope).json()["output"]["task_id"]
    later = status(mockscope, second, full=True)
    assert later["task_status"] == "SUCCEEDED"
    earlier = status(mockscope, first, full=True)
    assert earlier["end_time"] <= later["scheduled_time"], "one task at a time, as live"


@pytest.mark.mockscope(scenario=["suspended; after=1; for=40"])
def test_a_suspension_is_seen_before_the_end(mockscope_dashscope, mockscope):
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.output.task_status == "SUCCEEDED"
    reads = [entry.task_status for entry in mockscope.journal.entries(operation="get")]
    assert reads == ["SUSPENDED", "SUCCEEDED"]
    assert mockscope_dashscope.slept == [1], "one virtual sleep between the two reads"


@pytest.mark.mockscope(scenario=["never; phase=RUNNING"])
def test_a_task_that_never_finishes_is_not_jumped_to_forever(mockscope):
    task_id = submit(mockscope).json()["output"]["task_id"]
    before = mockscope.clock.now_ms()
    assert status(mockscope, task_id) == "RUNNING"
    assert mockscope.clock.now_ms() - before < 1000
    mockscope.finish(task_id)
    assert status(mockscope, task_id) == "SUCCEEDED"


@pytest.mark.mockscope(
    scenario=[{"outcome": "delay", "seconds": 5, "match": {"operation": "create"}}]
)
def test_a_delayed_answer_jumps_the_clock_instead_of_waiting(mockscope):
    before = mockscope.clock.now_ms()
    assert submit(mockscope).status_code == 200
    assert mockscope.clock.now_ms() - before == 5000
'''

SUB_CONFTEST = '''
"""A user's conftest that overrides the plugin's configuration fixtures for this folder."""

import pytest


@pytest.fixture
def mockscope_api_keys():
    return {"sk-team"}


@pytest.fixture
def mockscope_time():
    return "manual"
'''

SUB_TEST = """
import dashscope
import pytest
from dashscope import ImageSynthesis
from mockscope import ManualClock

from helpers import status, submit


def test_the_conftest_override_applies(mockscope_dashscope, mockscope):
    assert isinstance(mockscope.clock, ManualClock)
    assert mockscope_dashscope.api_key == dashscope.api_key == "sk-team"
    assert submit(mockscope, key="sk-other").status_code == 401
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    assert response.output.task_status == "SUCCEEDED"
    assert sum(mockscope_dashscope.slept) >= 26


@pytest.mark.mockscope(api_keys=None, time="jump")
def test_the_marker_beats_the_conftest(mockscope, mockscope_server):
    assert mockscope is mockscope_server
    task_id = submit(mockscope, key="sk-other").json()["output"]["task_id"]
    assert status(mockscope, task_id, key="sk-other") == "SUCCEEDED"
"""

#: What the project above must report, wherever it runs.
PASSED = 39
SKIPPED = 1
#: The plugins the project needs, named for child pytests that load nothing else.
PLUGINS = ("-p", "mockscope", "-p", "pytest_asyncio.plugin", "-p", "pytest_aiohttp.plugin")
#: Plugins of this environment that test_config.py and test_jump.py do not use (entry point names).
UNUSED_HERE = ("schemathesis", "hypothesispytest", "anyio", "xdist", "xdist.looponfail")
#: Real seconds the whole project may take in this process (it takes about two).
IN_PROCESS_BUDGET_S = 10


@pytest.fixture
def user_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # When this suite itself runs under xdist, its worker's variables must not reach the project.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        helpers=HELPERS,
        test_sdk=TEST_SDK,
        test_async=TEST_ASYNC,
        test_config=TEST_CONFIG,
        test_jump=TEST_JUMP,
    )
    sub = pytester.mkdir("overridden")
    (sub / "conftest.py").write_text(dedent(SUB_CONFTEST), encoding="utf-8")
    (sub / "test_overridden.py").write_text(dedent(SUB_TEST), encoding="utf-8")
    return pytester


def _evidence(pytester: pytest.Pytester) -> list[list[str]]:
    text = (pytester.path / "evidence.log").read_text(encoding="utf-8")
    return [line.split() for line in text.splitlines()]


def _assert_common_evidence(lines: list[list[str]]) -> None:
    seeded = {words[1] for words in lines if words[0] == "seeded"}
    assert len(seeded) == 1, f"one seed, one id sequence: {seeded}"


def _assert_ran_cleanly(result: pytest.RunResult) -> None:
    result.assert_outcomes(passed=PASSED, skipped=SKIPPED)
    result.stdout.fnmatch_lines(["*mockscope_dashscope needs the dashscope SDK*"])


def _assert_one_server_for_the_session(lines: list[list[str]]) -> None:
    servers = {tuple(words[1:]) for words in lines if words[0] == "server"}
    assert len(servers) == 1, f"one shared server for the whole session: {servers}"
    assert next(iter(servers))[0] == "main"
    checked = [words for words in lines if words[0] == "isolation-checked"]
    assert len(checked) == 3, "rounds 2 and 3 each saw the earlier rounds' tasks as UNKNOWN"


def test_the_user_project_passes(user_project: pytest.Pytester) -> None:
    """In this process: the fixtures, the marker, the SDK binding and the jumping clock."""
    started = time.perf_counter()
    result = user_project.runpytest_inprocess(*INNER_PYTEST, "-rs", "--durations=8")
    elapsed = time.perf_counter() - started
    _assert_ran_cleanly(result)
    lines = _evidence(user_project)
    _assert_common_evidence(lines)
    _assert_one_server_for_the_session(lines)
    assert elapsed < IN_PROCESS_BUDGET_S, f"the whole project took {elapsed:.1f} s"


def test_the_entry_point_in_a_fresh_interpreter(user_project: pytest.Pytester) -> None:
    """The smoke test of the plugin as installed: found by its entry point, quiet when loaded.

    Two of the project's files are enough here; the whole project runs in this process above.
    """
    files = ("test_config.py", "test_jump.py")
    # Plugin autoloading stays on (it is what finds mockscope); the plugins these two files do
    # not use are blocked by name, so the child imports none of them (schemathesis and
    # hypothesis, with their assert rewriting, were most of its CPU time).
    blocked = [arg for name in UNUSED_HERE for arg in ("-p", f"no:{name}")]
    result = user_project.runpytest_subprocess(*files, *blocked, timeout=SUBPROCESS_TIMEOUT)
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert set(outcomes) == {"passed"}, outcomes
    assert outcomes["passed"] >= 20, outcomes
    lines = _evidence(user_project)
    assert [words for words in lines if words[0] == "loaded"] == [["loaded", "main", "True", "0"]]
    _assert_one_server_for_the_session(lines)


def test_the_user_project_passes_under_xdist(
    user_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the plugins the project needs: each interpreter skips ~1.5 s of loading the rest.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = user_project.runpytest_subprocess(
        *PLUGINS, "-p", "xdist.plugin", "-n", "2", "-rs", timeout=SUBPROCESS_TIMEOUT
    )
    _assert_ran_cleanly(result)
    lines = _evidence(user_project)
    _assert_common_evidence(lines)
    loaded = sorted(tuple(words[1:]) for words in lines if words[0] == "loaded")
    expected = [("gw0", "True", "0"), ("gw1", "True", "0"), ("main", "True", "0")]
    assert loaded == expected, "controller and workers: loaded by -p, nothing started"
    ports: defaultdict[str, set[str]] = defaultdict(set)
    for words in lines:
        if words[0] == "server":
            ports[words[1]].add(words[2])
    assert sorted(ports) == ["gw0", "gw1"], ports
    assert all(len(seen) == 1 for seen in ports.values()), f"one server per worker: {ports}"
    assert ports["gw0"] != ports["gw1"], "each worker its own port"
