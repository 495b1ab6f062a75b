"""The inspector page in a real headless Chromium: it loads clean, follows the fake as it
changes, drives the clock and the scenario, shows images as made, and is accessible.

Time moves only when a test (or the page's own buttons) advance the manual clock; the only
waiting is Playwright's, for a condition, within the 2 s the page has to show a change.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockscope import Limits, ManualClock, MockServer
from mockscope.domain.identity import account_uid
from tests.browser.conftest import console_errors
from tests.support import assert_schema_conformance

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "inspector.png"
SCREENSHOT_SIZE = {"width": 1440, "height": 1260}
SHOWS_CHANGES_MS = 2000
CREATE = "/api/v1/services/aigc/text2image/image-synthesis"
KEY = "sk-4f9c2e7a1b3d5f60a1b2c3d4demo"
OTHER_KEY = "sk-0b8e5d3c7a9f4e21c6d5e4f3team"


def headers(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    # No rate limits: the tests create as fast as they like; the page is what is under test.
    with MockServer(
        clock=ManualClock(), seed=3, limits=Limits.unlimited(), validate_responses=True
    ) as running:
        yield running
        assert_schema_conformance(running)


@pytest.fixture
def api(server: MockServer) -> Iterator[httpx.Client]:
    server.reset()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def errors() -> list[str]:
    """The open page's console errors (a test that provokes one on purpose takes it out)."""
    return []


@pytest.fixture
def page(browser: Any, server: MockServer, api: httpx.Client, errors: list[str]) -> Iterator[Any]:
    """The inspector, open and showing the fake; the test fails on any console error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1080})
    opened = context.new_page()
    console_errors(opened, errors)
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    opened.goto(f"{server.url}/_mockscope/")
    expect(opened.locator("#connection")).to_have_text("live · every second")
    yield opened
    context.close()
    assert not errors, f"console errors: {errors}"
    # Paged on the server: the page never asks for every task at once.
    assert not [url for url in requested if url.split("?")[0].endswith("/_mockscope/tasks")]


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=SHOWS_CHANGES_MS)
    return playwright_expect(locator)


def create(api: httpx.Client, size: str = "1024*1024", prompt: str = "a cat", **more: Any) -> str:
    body = {"model": "wanx-v1", "input": {"prompt": prompt}, "parameters": {"n": 1, "size": size}}
    body["parameters"].update(more)  # type: ignore[attr-defined]
    response = api.post(CREATE, json=body, headers=headers())
    assert response.status_code == 200, response.text
    task_id: str = response.json()["output"]["task_id"]
    return task_id


def row(page: Any, task_id: str) -> Any:
    return page.locator(f'#task-rows tr[data-task-id="{task_id}"]')


def test_the_page_loads_without_console_errors(page: Any, server: MockServer) -> None:
    assert page.title() == "mockscope inspector"
    for heading in ("Tasks", "Journal", "Clock", "Scenario", "Limits"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("#clock-now")).to_have_text("2024-03-01 17:38:24.000")
    expect(page.locator("#clock-mode")).to_have_text("manual")
    expect(page.locator("#limits")).to_contain_text("each model's own")
    with httpx.Client() as plain:
        style = plain.get(f"{server.url}/_mockscope/ui/inspector.css")
        script = plain.get(f"{server.url}/_mockscope/ui/inspector.js")
    assert style.headers["Content-Type"].startswith("text/css")
    assert script.headers["Content-Type"].startswith("text/javascript")


def test_a_task_created_over_the_api_appears_within_2_s(page: Any, api: httpx.Client) -> None:
    task_id = create(api, prompt="a heron at dawn")
    shown = row(page, task_id)
    expect(shown).to_be_visible()
    expect(shown).to_contain_text("a heron at dawn")
    expect(shown).to_contain_text("sk-…demo")  # the key masked, never in clear
    expect(page.locator("#tasks-total")).to_have_text("1")


def test_the_advance_button_turns_a_pending_task_succeeded(page: Any, api: httpx.Client) -> None:
    task_id = create(api)
    badge = row(page, task_id).locator(".badge")
    expect(badge).to_have_text("PENDING")
    page.get_by_role("button", name="+30 s", exact=True).click()
    expect(badge).to_have_text("SUCCEEDED")
    expect(page.locator("#clock-now")).to_have_text("2024-03-01 17:38:54.000")
    expect(row(page, task_id)).to_contain_text("1/1 made")


def test_a_thumbnail_loads_at_the_requested_aspect_ratio(page: Any, api: httpx.Client) -> None:
    task_id = create(api, size="1280*720")
    api.post("/_mockscope/clock/advance", json={"seconds": 60})
    image = row(page, task_id).locator(".thumbs img")
    expect(image).to_have_count(1)
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    width, height = image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
    assert (width, height) == (1280, 720)
    assert width / height == pytest.approx(1280 / 720)
    # The thumbnail opens the full image.
    link = row(page, task_id).locator(".thumbs a")
    assert link.get_attribute("href") == image.get_attribute("src")


def test_resetting_one_account_from_the_page_leaves_the_others(
    page: Any, api: httpx.Client
) -> None:
    mine = create(api)
    theirs = api.post(
        CREATE, json={"model": "wanx-v1", "input": {"prompt": "p"}}, headers=headers(OTHER_KEY)
    ).json()["output"]["task_id"]
    expect(row(page, theirs)).to_be_visible()
    page.get_by_label("What to reset").select_option(account_uid(OTHER_KEY))
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(row(page, theirs)).to_have_count(0)
    expect(row(page, mine)).to_be_visible()


def test_a_rule_added_on_the_page_makes_the_next_create_fail(page: Any, api: httpx.Client) -> None:
    page.get_by_label("Add a rule (one-line form)").fill(
        "error; code=DataInspectionFailed; times=once"
    )
    page.get_by_role("button", name="Add rule").click()
    rules = page.locator("#rule-rows tr")
    expect(rules).to_have_count(1)
    expect(rules.first).to_contain_text("error; code=DataInspectionFailed")
    refused = api.post(
        CREATE, json={"model": "wanx-v1", "input": {"prompt": "p"}}, headers=headers()
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "DataInspectionFailed"
    # The rule fired once, and the page says so; `once` then lets the next create through.
    expect(rules.first.locator("td").nth(3)).to_have_text("1")
    create(api)
    page.get_by_role("button", name="Remove rule 1").click()
    expect(rules).to_have_count(0)


def test_a_malformed_rule_is_explained_on_the_page(page: Any, errors: list[str]) -> None:
    page.get_by_label("Add a rule (one-line form)").fill("failed; code")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rule-error")).to_contain_text("is not of the form name=value")
    # Chromium logs the refused call (a 400) itself; that one error is expected.
    assert [e for e in errors if "status of 400" in e] == errors
    assert len(errors) == 1
    errors.clear()


def test_the_page_is_refused_without_the_token_and_opens_with_it(browser: Any) -> None:
    with MockServer(clock=ManualClock(), control_token="s3cret") as guarded:
        context = browser.new_context()
        # The refusal is a JSON document, for which Chromium asks the server for a favicon.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        opened = context.new_page()
        errors = console_errors(opened)
        refused = opened.goto(f"{guarded.url}/_mockscope/")
        assert refused is not None
        assert refused.status == 403
        envelope = json.loads(refused.text())
        assert envelope["code"] == "AccessDenied"
        assert set(envelope) == {"code", "message", "request_id"}
        errors.clear()  # Chromium logs the 403 itself
        allowed = opened.goto(f"{guarded.url}/_mockscope/?token=s3cret")
        assert allowed is not None
        assert allowed.status == 200
        # The script sends the token with every call it makes.
        expect(opened.locator("#connection")).to_have_text("live · every second")
        context.close()
        assert not errors, errors


def test_every_control_has_an_accessible_label_and_the_tasks_are_a_table(
    page: Any, api: httpx.Client
) -> None:
    create(api)
    api.post("/_mockscope/scenarios/rules", json={"rule": "failed; code=InternalError.Algo"})
    expect(page.locator("#task-rows tr")).to_have_count(1)
    expect(page.locator("#rule-rows tr")).to_have_count(1)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, select, button, textarea")]
            .filter((control) => {
              const byFor = control.id && document.querySelector(`label[for="${control.id}"]`);
              const named = control.ariaLabel || control.getAttribute("aria-labelledby");
              const text = control.tagName === "BUTTON" && control.textContent.trim();
              return !(byFor || named || text || control.closest("label"));
            })
            .map((control) => control.outerHTML)"""
    )
    assert unlabelled == []
    # Each control is found by its label, as assistive technology finds it.
    for label in ("Account", "Model", "Status", "Advance by seconds", "What to reset"):
        expect(page.get_by_label(label, exact=True)).to_have_count(1)
    table = page.locator("#task-table")
    assert table.evaluate("(node) => node.tagName") == "TABLE"
    headers_shown = page.locator("#task-table thead th")
    expect(headers_shown).to_have_count(6)
    assert all(
        scope == "col" for scope in headers_shown.evaluate_all("(n) => n.map((h) => h.scope)")
    )
    tasks = page.get_by_role("table", name="Stored tasks, newest first")
    expect(tasks).to_have_count(1)
    for name in ("Task", "Account", "Status", "Images"):
        expect(tasks.get_by_role("columnheader", name=name, exact=True)).to_have_count(1)
    expect(tasks.get_by_role("row")).to_have_count(2)  # the header row, and the task's


def test_the_readme_screenshot_is_made_by_this_code(
    page: Any, api: httpx.Client, server: MockServer, tmp_path: Path
) -> None:
    """The picture in the README: a small but varied session. MOCKSCOPE_WRITE_SCREENSHOT=1
    writes it over docs/inspector.png; otherwise it goes to a temporary file and the committed
    one is checked to be there, of the same size."""
    page.set_viewport_size(SCREENSHOT_SIZE)
    stage_a_session(api)
    expect(page.locator("#task-rows tr")).to_have_count(5)
    expect(page.locator("#rule-rows tr")).to_have_count(2)
    page.wait_for_function(
        "() => [...document.images].length === 3 && "
        "[...document.images].every((img) => img.complete && img.naturalWidth > 0)"
    )
    target = (
        SCREENSHOT if os.environ.get("MOCKSCOPE_WRITE_SCREENSHOT") == "1" else tmp_path / "s.png"
    )
    page.screenshot(path=str(target))
    assert SCREENSHOT.is_file(), "docs/inspector.png is missing: run the command in the README"
    size = (SCREENSHOT_SIZE["width"], SCREENSHOT_SIZE["height"])
    assert png_size(SCREENSHOT) == png_size(target) == size


def stage_a_session(api: httpx.Client) -> None:
    """Two keys, three models: finished, failed by a rule, running, waiting; a client that
    polls too fast."""
    advance = lambda seconds: api.post("/_mockscope/clock/advance", json={"seconds": seconds})  # noqa: E731
    # The live service's limits, as `mockscope serve` has them (the other tests run without).
    rates = ("create", "get", "list", "cancel", "upload")
    live = Limits()
    api.post(
        "/_mockscope/limits",
        json={
            **{f"{name}_per_second": getattr(live, f"{name}_per_second") for name in rates},
            "create_per_second": "per-model",
        },
    )
    cat = create(api, size="1280*720", prompt="a cat asleep on a windowsill at dusk")
    lighthouse = api.post(
        CREATE,
        json={
            "model": "wanx2.1-t2i-turbo",
            "input": {"prompt": "a lighthouse in a winter storm, oil painting"},
            "parameters": {"n": 2, "size": "1024*1024", "prompt_extend": False},
        },
        headers=headers(OTHER_KEY),
    ).json()["output"]["task_id"]
    api.post(
        "/_mockscope/scenarios/rules",
        json={"rule": "failed; code=DataInspectionFailed; times=once"},
    )
    advance(0.6)
    api.post(
        CREATE,
        json={
            "model": "wan2.2-t2i-flash",
            "input": {"prompt": "a red umbrella"},
            "parameters": {"n": 1},
        },
        headers=headers(OTHER_KEY),
    )
    for _ in range(3):
        advance(0.4)
        api.get(f"/api/v1/tasks/{cat}", headers=headers())
    advance(40)
    for task_id, key in ((cat, KEY), (lighthouse, OTHER_KEY)):
        api.get(f"/api/v1/tasks/{task_id}", headers=headers(key))
    create(api, size="768*1152", prompt="a fox in fresh snow")
    advance(0.5)
    create(api, size="1280*720", prompt="a mountain lake at sunrise")
    advance(12)
    api.post(
        "/_mockscope/scenarios/rules",
        json={
            "rule": {
                "outcome": "error",
                "code": "Throttling.RateQuota",
                "probability": 0.05,
                "match": {"operation": "create"},
            }
        },
    )


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height
