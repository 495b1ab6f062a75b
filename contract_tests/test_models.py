"""Requests generated per model from the model catalogue, and answers judged by it alone.

For every model of `schemas/catalogue/models.json`, Hypothesis draws a create from the
model's own entry: a size inside its size rule (now and then one outside it), `n` in its
range, each parameter the model accepts drawn from its JSON Schema fragment, and a prompt up
to twice the model's limit. The reference client sends it to the model's async endpoint (the
messages protocol for wan2.6) and waits. What comes back must be what the catalogue says:

- a size inside the rule ends SUCCEEDED with n images; outside, FAILED with the rule's code;
- results carry the fields the catalogue lists (orig_prompt always, actual_prompt only with
  prompt_extend on, its default) and orig_prompt is the prompt cut to the model's limit;
- wan2.6's answer has one choice per image and `usage.size` is the size asked for;
- every body is valid under schemas/task.json.

Live, each example makes one image (n=1) within the image budget; nothing is shrunk.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from contract_tests.support import SCHEMAS, Target, validator
from wanx_client import TaskStatus

CATALOGUE: dict[str, Any] = json.loads(
    (SCHEMAS / "catalogue" / "models.json").read_text(encoding="utf-8")
)
MODELS = {entry["id"]: entry for entry in CATALOGUE["models"]}
#: Examples per model on the fake; live, one per model while the budget lasts.
FAKE_EXAMPLES = 6
TASK = validator("task.json")
#: Options the reference client names; anything else goes in `parameters`.
CLIENT_OPTIONS = ("style", "seed", "ref_strength", "ref_mode", "prompt_extend", "watermark")


def inside(rule: dict[str, Any], width: int, height: int) -> bool:
    """A catalogue size rule applied to a size (derived from the data, kind by kind)."""
    if rule["kind"] == "enum":
        return f"{width}*{height}" in rule["values"]
    if rule["kind"] == "per_side":
        sides = all(rule["min"] <= side <= rule["max"] for side in (width, height))
        return sides and width * height <= rule["max_pixels"]
    aspect = Fraction(width, height)
    pixels = rule["min_pixels"] <= width * height <= rule["max_pixels"]
    low, high = Fraction(str(rule["min_aspect"])), Fraction(str(rule["max_aspect"]))
    return pixels and low <= aspect <= high


@st.composite
def sizes_inside(draw: st.DrawFn, rule: dict[str, Any]) -> tuple[int, int]:
    if rule["kind"] == "enum":
        width, height = map(int, draw(st.sampled_from(rule["values"])).split("*"))
        return width, height
    if rule["kind"] == "per_side":
        width = draw(st.integers(rule["min"], rule["max"]))
        top = min(rule["max"], rule["max_pixels"] // width)
        return width, draw(st.integers(rule["min"], top))
    low, high = Fraction(str(rule["min_aspect"])), Fraction(str(rule["max_aspect"]))
    smallest = math.isqrt(int(rule["min_pixels"] * low))
    largest = math.isqrt(int(rule["max_pixels"] * high))
    width = draw(st.integers(smallest, largest))
    lowest = max(math.ceil(rule["min_pixels"] / width), math.ceil(width / high))
    highest = min(rule["max_pixels"] // width, math.floor(width / low))
    hypothesis.assume(lowest <= highest)
    return width, draw(st.integers(lowest, highest))


@st.composite
def sizes(draw: st.DrawFn, rule: dict[str, Any]) -> tuple[int, int]:
    """Mostly inside the rule; one in five anywhere, usually outside it."""
    if draw(st.integers(0, 4)):
        return draw(sizes_inside(rule))
    return draw(st.integers(64, 4096)), draw(st.integers(64, 4096))


def values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of one parameter, from its fragment in the catalogue."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), min(schema.get("maximum", 2**31), 2**31))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    return st.just("https://example.com/ref.png")


@st.composite
def requests(draw: st.DrawFn, entry: dict[str, Any]) -> dict[str, Any]:
    width, height = draw(sizes(entry["size"]))
    limit = entry["prompt"]["max_length"]
    prompt = draw(st.text(alphabet="猫cat dog狗 ", min_size=1, max_size=2 * limit))
    hypothesis.assume(prompt.strip())
    options = {
        p["name"]: values(p["schema"])
        for p in entry["parameters"]
        if p["name"] in CLIENT_OPTIONS and p["in"] == "parameters"
    }
    arguments = draw(st.fixed_dictionaries({}, optional=options))
    n = draw(st.integers(entry["n"]["min"], entry["n"]["max"]))
    return {"prompt": prompt, "size": f"{width}*{height}", "n": n, **arguments}


def expected_fields(entry: dict[str, Any], arguments: dict[str, Any]) -> set[str]:
    """The fields the catalogue says each successful result item carries for this request."""
    defaults = {p["name"]: p.get("default") for p in entry["parameters"]}
    extend = arguments.get("prompt_extend", defaults.get("prompt_extend"))
    fields = set()
    for field in entry["result"]["item_fields"]:
        when = field["when"]
        if when in ("always", "succeeded") or (when == "prompt_extend" and extend):
            fields.add(field["name"])
    return fields


def check(entry: dict[str, Any], arguments: dict[str, Any], body: dict[str, Any]) -> None:
    """The finished task's body against the catalogue's entry alone."""
    problems = [error.message for error in TASK.iter_errors(body)]
    assert not problems, problems
    output = body["output"]
    width, height = map(int, arguments["size"].split("*"))
    if not inside(entry["size"], width, height):
        assert output["task_status"] == "FAILED", output
        assert output["code"] == entry["size"]["on_violation"]["code"]
        return
    assert output["task_status"] == "SUCCEEDED", output
    n, result = arguments["n"], entry["result"]
    assert body["usage"]["image_count"] == n
    if result["shape"] == "choices":
        assert len(output["choices"]) == n
        assert body["usage"]["size"] == arguments["size"]
        for choice in output["choices"]:
            assert set(choice["message"]["content"][0]) == expected_fields(entry, arguments)
        return
    assert len(output["results"]) == n
    for item in output["results"]:
        assert set(item) == expected_fields(entry, arguments)
        if "orig_prompt" in item:
            assert item["orig_prompt"] == arguments["prompt"][: entry["prompt"]["max_length"]]


@pytest.mark.parametrize("model", list(MODELS))
def test_generated_requests_per_model(fresh_target: Target, model: str) -> None:
    target, entry = fresh_target, MODELS[model]
    examples, options = FAKE_EXAMPLES, {}
    if target.live:
        if not target.budget.left:
            pytest.skip("live image budget spent")
        examples = 1
        options = {"phases": [hypothesis.Phase.generate], "database": None}

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        **options,  # type: ignore[arg-type]
    )
    @hypothesis.given(arguments=requests(entry))
    def run(arguments: dict[str, Any]) -> None:
        arguments["n"] = target.images(arguments["n"])
        if not target.may_create():
            pytest.skip("live image budget spent")
        with target.client(model=model) as client:
            target.pace(create=True)
            submitted = client.submit(**arguments)
            final = client.wait(submitted)
        assert final.is_terminal
        hypothesis.event("ended", str(final.status))
        body = httpx.get(
            f"{target.api_url}/tasks/{submitted.task_id}", headers=target.auth, timeout=30
        ).json()
        check(entry, arguments, body)
        assert final.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED)

    run()
