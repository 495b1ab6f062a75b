"""schemas/catalogue/models.json, the Wan text-to-image catalogue, against its schema and itself.

The catalogue is data the server derives request handling from, so besides the schema check
(schemas/model-catalogue.json) this file derives that handling generically - routing, size rules,
message rules - and pins the values the research established: defaults inside their rules, every
source id resolvable, the documented examples accepted, the recorded timings reproduced, and the
wire examples readable by the official SDK.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

CATALOGUE: dict[str, Any] = json.loads(
    (SCHEMAS / "catalogue" / "models.json").read_text(encoding="utf-8")
)
SCHEMA: dict[str, Any] = json.loads((SCHEMAS / "model-catalogue.json").read_text(encoding="utf-8"))
MODELS: dict[str, dict[str, Any]] = {model["id"]: model for model in CATALOGUE["models"]}
ERRORS: dict[str, dict[str, Any]] = CATALOGUE["errors"]

T2I = "/services/aigc/text2image/image-synthesis"
IMAGE_GENERATION = "/services/aigc/image-generation/generation"
MULTIMODAL_GENERATION = "/services/aigc/multimodal-generation/generation"

FAMILY = [
    "wanx-v1",
    "wanx2.0-t2i-turbo",
    "wanx2.1-t2i-turbo",
    "wanx2.1-t2i-plus",
    "wan2.2-t2i-flash",
    "wan2.2-t2i-plus",
    "wan2.5-t2i-preview",
    "wan2.6-t2i",
]


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, index))


def catalogue_validator() -> Draft202012Validator:
    return Draft202012Validator(SCHEMA)


# --------------------------------------------------------------- generic derivations from the data


def model_by_name(name: str) -> dict[str, Any] | None:
    for model in MODELS.values():
        if name == model["id"] or name in (alias["id"] for alias in model["aliases"]):
            return model
    return None


def parse_size(size: object) -> tuple[int, int] | None:
    if not isinstance(size, str):
        return None
    match = re.fullmatch(CATALOGUE["size_format"]["pattern"], size)
    return (int(match.group(1)), int(match.group(2))) if match else None


def size_allowed(rule: dict[str, Any], size: object) -> bool:
    """The size rule of a model, applied to a `parameters.size` value."""
    parsed = parse_size(size)
    if parsed is None:
        return False
    width, height = parsed
    if rule["kind"] == "enum":
        return bool(size in rule["values"])
    if rule["kind"] == "per_side":
        return bool(
            rule["min"] <= width <= rule["max"]
            and rule["min"] <= height <= rule["max"]
            and width * height <= rule["max_pixels"]
        )
    assert rule["kind"] == "total_pixels"
    aspect = Fraction(width, height)
    pixels_ok = rule["min_pixels"] <= width * height <= rule["max_pixels"]
    aspect_ok = Fraction(rule["min_aspect"]) <= aspect <= Fraction(rule["max_aspect"])
    return pixels_ok and aspect_ok


def route(model_name: str, path: str, async_header: bool) -> tuple[str, str | None]:
    """(mode, None) when the request goes through, ("error", key of `errors`) when it does not."""
    checks = {check["when"]: check["error"] for check in CATALOGUE["routing"]["checks"]}
    model = model_by_name(model_name)
    if model is None:
        return "error", checks["unknown_model"]
    modes = {endpoint["mode"] for endpoint in model["endpoints"] if endpoint["path"] == path}
    if not modes:
        return "error", checks["model_not_on_path"]
    if async_header and "async" in modes:
        return "async", None
    if async_header:
        assert checks["sync_only_with_header"] is None
        return "sync", None
    if "sync" in modes:
        return "sync", None
    return "error", checks["async_only_without_header"]


def messages_error(model: dict[str, Any], body: dict[str, Any]) -> str | None:
    """The `errors` key a messages-protocol body breaks, or None."""
    rule = model["messages"]
    messages = body["input"]["messages"]
    if len(messages) > rule["max_messages"]:
        return "messages_count"
    for message in messages:
        if message["role"] not in rule["roles"]:
            return "messages_role"
        texts = [item for item in message["content"] if "text" in item]
        if len(texts) != rule["text_items"]:
            return "messages_text_count"
        if rule["other_items"] == "reject" and len(texts) != len(message["content"]):
            return "messages_other_item"
    return None


def request_problems(model: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """Everything a request body breaks, derived from the catalogue alone (no per-model code)."""
    protocol = CATALOGUE["protocols"][model["protocol"]]
    problems = [
        e.message for e in Draft202012Validator(protocol["request_schema"]).iter_errors(body)
    ]
    parameters = body.get("parameters", {})
    for param in model["parameters"]:
        where = body.get("input", {}) if param["in"] == "input" else parameters
        if param["name"] in where:
            validator = Draft202012Validator(param["schema"])
            problems += [e.message for e in validator.iter_errors(where[param["name"]])]
    if "n" in parameters and not model["n"]["min"] <= parameters["n"] <= model["n"]["max"]:
        problems.append("n out of range")
    if "size" in parameters and not size_allowed(model["size"], parameters["size"]):
        problems.append("size outside the rule")
    if model["protocol"] == "messages" and not problems:
        error = messages_error(model, body)
        if error:
            problems.append(error)
    return problems


# --------------------------------------------------------------------------------- the schema


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == DIALECT
    assert SCHEMA["title"]
    assert SCHEMA["description"]
    assert not [where for where, node in walk(SCHEMA) if isinstance(node, dict) and "$id" in node]


def test_catalogue_satisfies_the_schema() -> None:
    errors = sorted(catalogue_validator().iter_errors(CATALOGUE), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_catalogue_is_data_out_of_the_schema_registries_way() -> None:
    """Registries load every schemas/*.json as a schema; the catalogue is not one of them."""
    assert "$schema" not in CATALOGUE
    assert not (SCHEMAS / "models.json").exists()
    assert (SCHEMAS / "catalogue" / "models.json").is_file()


def _mutated(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(CATALOGUE)
    change(document)
    return document


STRICTNESS_CASES = {
    "extra-key-in-model": lambda d: d["models"][0].update(colour="red"),
    "extra-key-in-size-rule": lambda d: d["models"][1]["size"].update(step=16),
    "unknown-size-kind": lambda d: d["models"][1]["size"].update(kind="free"),
    "model-without-endpoint": lambda d: d["models"][2].update(endpoints=[]),
    "value-without-source": lambda d: d["models"][3]["limits"].pop("source"),
    "empty-source-list": lambda d: d["models"][3]["prompt"].update(source=[]),
    "unknown-endpoint-mode": lambda d: d["models"][4]["endpoints"][0].update(mode="stream"),
    "messages-model-without-message-rules": lambda d: d["models"][7].pop("messages"),
    "prompt-model-with-message-rules": lambda d: d["models"][0].update(
        messages=d["models"][7]["messages"]
    ),
    "negative-prompt-in-the-wrong-place": lambda d: d["models"][5]["negative_prompt"].update(
        **{"in": "query"}
    ),
    "timing-field-without-source": lambda d: d["models"][6]["timing"]["source"].pop("queue_ms"),
    "negative-timing": lambda d: d["models"][6]["timing"].update(queue_ms=-1),
    "extra-top-level-key": lambda d: d.update(notes="x"),
    "wire-example-without-body": lambda d: d["protocols"]["messages"]["wire"][0].pop("body"),
    "error-without-message": lambda d: d["errors"]["unknown_model"].pop("message"),
}


@pytest.mark.parametrize("change", STRICTNESS_CASES.values(), ids=STRICTNESS_CASES.keys())
def test_schema_is_strict(change: Any) -> None:
    assert not catalogue_validator().is_valid(_mutated(change))


# --------------------------------------------------------------------------- cross-references


def test_the_whole_family_is_listed_once() -> None:
    assert [model["id"] for model in CATALOGUE["models"]] == FAMILY
    names = [
        name
        for model in CATALOGUE["models"]
        for name in (model["id"], *[a["id"] for a in model["aliases"]])
    ]
    assert len(names) == len(set(names))


def test_every_source_id_is_declared() -> None:
    declared = set(CATALOGUE["sources"])
    used: set[str] = set()
    for path, node in walk(CATALOGUE):
        if path and path[-1] == "source" and path[0] != "sources":
            lists = node.values() if isinstance(node, dict) else [node]
            for ids in lists:
                used.update(ids)
    assert used - declared == set(), "undeclared source ids"
    assert declared - used == set(), "declared but unused source ids"


def test_every_rule_has_a_source() -> None:
    """Each rule object of a model carries `source` (the schema requires it; this guards edits)."""
    for model in CATALOGUE["models"]:
        for key in ("prompt", "negative_prompt", "size", "n", "limits", "timing", "result"):
            assert model[key]["source"], (model["id"], key)
        for item in (*model["endpoints"], *model["parameters"], *model["aliases"]):
            assert item["source"], (model["id"], item)


def test_routing_errors_exist_and_have_plausible_statuses() -> None:
    for check in CATALOGUE["routing"]["checks"]:
        assert check["error"] is None or check["error"] in ERRORS
    for key, error in ERRORS.items():
        if key == "data_inspection_output":  # a task-level failure: HTTP 200, code in output
            assert error["status"] == 200
        else:
            assert 400 <= error["status"] < 500, key


# ------------------------------------------------------------------------------ per-model rules


@pytest.mark.parametrize("model", CATALOGUE["models"], ids=lambda m: m["id"])
def test_endpoints_match_the_protocol(model: dict[str, Any]) -> None:
    assert model["endpoints"], "every model has at least one endpoint"
    pairs = [(e["path"], e["mode"]) for e in model["endpoints"]]
    assert len(pairs) == len(set(pairs))
    allowed = {T2I} if model["protocol"] == "prompt" else {IMAGE_GENERATION, MULTIMODAL_GENERATION}
    assert {path for path, _ in pairs} <= allowed
    assert any(mode == "async" for _, mode in pairs), "every model can be queued as a task"


@pytest.mark.parametrize("model", CATALOGUE["models"], ids=lambda m: m["id"])
def test_defaults_lie_inside_their_rules(model: dict[str, Any]) -> None:
    assert size_allowed(model["size"], model["size"]["default"])
    if model["size"]["kind"] == "enum":
        assert all(parse_size(size) for size in model["size"]["values"])
    else:
        assert model["size"].get("min", 0) <= model["size"].get("max", 1 << 30)
        assert model["size"].get("min_pixels", 0) <= model["size"]["max_pixels"]
    n = model["n"]
    assert n["min"] <= n["default"] <= n["max"]
    for param in model["parameters"]:
        Draft202012Validator.check_schema(param["schema"])
        if "default" in param:
            assert Draft202012Validator(param["schema"]).is_valid(param["default"]), param["name"]
    assert model["prompt"]["max_length"] >= 1
    assert model["negative_prompt"]["max_length"] >= 1
    timing = model["timing"]
    assert timing["reject_ms"] <= timing["run_base_ms"] + timing["run_per_image_ms"]


def test_parameters_are_the_documented_ones() -> None:
    for model in CATALOGUE["models"]:
        names = {param["name"] for param in model["parameters"]}
        if model["id"] == "wanx-v1":
            assert names == {"style", "seed", "ref_strength", "ref_mode", "ref_img", "ref_image"}
        else:
            assert names == {"seed", "prompt_extend", "watermark"}
            defaults = {p["name"]: p.get("default") for p in model["parameters"]}
            assert defaults["prompt_extend"] is True
            assert defaults["watermark"] is False


PROMPT_LIMITS = {
    "wanx-v1": (800, "input"),
    "wanx2.0-t2i-turbo": (800, "input"),
    "wanx2.1-t2i-turbo": (800, "input"),
    "wanx2.1-t2i-plus": (800, "input"),
    "wan2.2-t2i-flash": (500, "input"),
    "wan2.2-t2i-plus": (500, "input"),
    "wan2.5-t2i-preview": (2000, "input"),
    "wan2.6-t2i": (2100, "parameters"),
}


@pytest.mark.parametrize(("model_id", "expected"), PROMPT_LIMITS.items())
def test_prompt_limits_and_negative_prompt_place(model_id: str, expected: tuple[int, str]) -> None:
    model = MODELS[model_id]
    assert (model["prompt"]["max_length"], model["negative_prompt"]["in"]) == expected
    assert model["negative_prompt"]["max_length"] == 500
    assert model["prompt"]["on_overflow"] == model["negative_prompt"]["on_overflow"] == "truncate"


SIZES = [
    ("wanx-v1", "1024*1024", True),
    ("wanx-v1", "768*1152", True),
    ("wanx-v1", "1280*1280", False),
    ("wanx2.1-t2i-turbo", "1440*1440", True),
    ("wanx2.1-t2i-turbo", "512*1440", True),
    ("wanx2.1-t2i-turbo", "511*1024", False),
    ("wanx2.1-t2i-turbo", "1441*1000", False),
    ("wan2.2-t2i-flash", "768*2700", False),  # the docs' own counter-example for 2.2 and below
    ("wan2.5-t2i-preview", "768*2700", True),  # the docs' example
    ("wan2.5-t2i-preview", "2700*768", True),
    ("wan2.5-t2i-preview", "1696*960", True),
    ("wan2.5-t2i-preview", "768*768", True),  # the older, larger range
    ("wan2.5-t2i-preview", "767*768", False),
    ("wan2.5-t2i-preview", "1440*1441", False),
    ("wan2.5-t2i-preview", "500*2100", False),  # aspect below 1:4
    ("wan2.6-t2i", "1280*1280", True),
    ("wan2.6-t2i", "1104*1472", True),
    ("wan2.6-t2i", "1280x1280", False),  # the v2 SDK rewrites x to *; the wire form is W*H
    ("wan2.6-t2i", "", False),
]


@pytest.mark.parametrize(("model_id", "size", "allowed"), SIZES)
def test_size_rules(model_id: str, size: str, allowed: bool) -> None:
    assert size_allowed(MODELS[model_id]["size"], size) is allowed


def test_size_violations_end_the_task_failed() -> None:
    for model in CATALOGUE["models"]:
        violation = model["size"]["on_violation"]
        assert (violation["at"], violation["code"], violation["task_metrics"]) == (
            "task",
            "InvalidParameter",
            "all_failed",
        )
    assert MODELS["wanx-v1"]["size"]["on_violation"]["message"] == (
        "The size is not match the allowed size ['1024*1024', '720*1280', '1280*720']"
    )


ROUTES = [
    ("wanx-v1", T2I, True, ("async", None)),
    ("wanx-v1", T2I, False, ("error", "sync_not_supported")),
    ("wanx-v1", MULTIMODAL_GENERATION, False, ("error", "model_not_on_path")),
    ("wanx2.1-t2i-turbo", T2I, False, ("error", "sync_not_supported")),
    ("wan2.1-t2i-turbo", T2I, True, ("async", None)),
    ("wan2.2-t2i-flash", T2I, True, ("async", None)),
    ("wan2.2-t2i-flash", T2I, False, ("sync", None)),
    ("wan2.2-t2i-plus", T2I, False, ("sync", None)),
    ("wan2.5-t2i-preview", T2I, False, ("error", "sync_not_supported")),
    ("wan2.5-t2i-preview", IMAGE_GENERATION, True, ("error", "model_not_on_path")),
    ("wan2.6-t2i", IMAGE_GENERATION, True, ("async", None)),
    ("wan2.6-t2i", IMAGE_GENERATION, False, ("error", "sync_not_supported")),
    ("wan2.6-t2i", MULTIMODAL_GENERATION, False, ("sync", None)),
    ("wan2.6-t2i", MULTIMODAL_GENERATION, True, ("sync", None)),
    ("wan2.6-t2i", T2I, True, ("error", "model_not_on_path")),
    ("wanx-v9", T2I, True, ("error", "unknown_model")),
]


@pytest.mark.parametrize(("model", "path", "async_header", "expected"), ROUTES)
def test_routing(
    model: str, path: str, async_header: bool, expected: tuple[str, str | None]
) -> None:
    assert route(model, path, async_header) == expected


def test_sync_calls_are_allowed_for_wan22_and_wan26_only() -> None:
    synchronous = {
        m["id"] for m in CATALOGUE["models"] if any(e["mode"] == "sync" for e in m["endpoints"])
    }
    assert synchronous == {"wan2.2-t2i-flash", "wan2.2-t2i-plus", "wan2.6-t2i"}


def test_routing_errors_are_the_live_answers() -> None:
    assert (ERRORS["unknown_model"]["status"], ERRORS["unknown_model"]["message"]) == (
        400,
        "Model not exist.",
    )
    assert ERRORS["model_not_on_path"]["message"].startswith("url error, please check url")
    assert ERRORS["sync_not_supported"]["status"] == 403
    assert ERRORS["ip_infringement"] == ERRORS["ip_infringement"] | {
        "status": 400,
        "code": "IPInfringementSuspect",
        "message": "Input data is suspected of being involved in IP infringement.",
    }


def test_limits() -> None:
    assert (
        MODELS["wanx-v1"]["limits"]["submit_qps"],
        MODELS["wanx-v1"]["limits"]["tasks_in_progress"],
    ) == (2, 1)
    for model in CATALOGUE["models"][1:]:
        assert model["limits"]["tasks_in_progress"] >= 2, model["id"]
        assert model["limits"]["submit_qps"] >= 2, model["id"]


def run_ms(model_id: str, n: int, prompt_extend: bool) -> int:
    timing = MODELS[model_id]["timing"]
    extra = int(timing["prompt_extend_ms"]) if prompt_extend else 0
    return int(timing["run_base_ms"]) + int(timing["run_per_image_ms"]) * n + extra


def test_timing_reproduces_the_recorded_tasks() -> None:
    # wanx-v1 recorded: ~27 s for one image, 30.7 s for four; queue 14 ms.
    assert abs(run_ms("wanx-v1", 1, False) - 26_800) <= 1_000
    assert abs(run_ms("wanx-v1", 4, False) - 30_734) <= 1_000
    assert MODELS["wanx-v1"]["timing"]["queue_ms"] == 14
    # wanx2.1-t2i-turbo documented: scheduled +23 ms, end +10.8 s (n=1, prompt_extend on).
    assert MODELS["wanx2.1-t2i-turbo"]["timing"]["queue_ms"] == 23
    assert abs(run_ms("wanx2.1-t2i-turbo", 1, True) - 10_797) <= 1_000
    # wan2.6-t2i documented runs: 18.6 s .. 27.6 s (n=1, prompt_extend on).
    assert 18_599 <= run_ms("wan2.6-t2i", 1, True) <= 27_603
    # "plus" models are slower than their turbo/flash siblings.
    assert run_ms("wanx2.1-t2i-plus", 1, True) > run_ms("wanx2.1-t2i-turbo", 1, True)
    assert run_ms("wan2.2-t2i-plus", 1, True) > run_ms("wan2.2-t2i-flash", 1, True)


def test_result_fields() -> None:
    for model in CATALOGUE["models"]:
        fields = {field["name"]: field["when"] for field in model["result"]["item_fields"]}
        if model["id"] == "wanx-v1":
            assert fields == {"url": "succeeded"}
        elif model["protocol"] == "prompt":
            assert fields == {
                "orig_prompt": "always",
                "actual_prompt": "prompt_extend",
                "url": "succeeded",
            }
        else:
            assert model["result"]["shape"] == "choices"
            assert fields == {"image": "succeeded", "type": "succeeded"}
            assert "size" in model["result"]["usage_fields"]
        assert "image_count" in model["result"]["usage_fields"]


# ------------------------------------------------------------------------------- wire examples


def wire(protocol: str, name: str) -> dict[str, Any]:
    return next(w for w in CATALOGUE["protocols"][protocol]["wire"] if w["name"] == name)


REQUEST_EXAMPLES = [
    (protocol, example)
    for protocol in ("prompt", "messages")
    for example in CATALOGUE["protocols"][protocol]["wire"]
    if example["status"] is None
]


@pytest.mark.parametrize(
    ("protocol", "example"), REQUEST_EXAMPLES, ids=[f"{p}-{e['name']}" for p, e in REQUEST_EXAMPLES]
)
def test_request_examples_pass_the_derived_validation(
    protocol: str, example: dict[str, Any]
) -> None:
    body = example["body"]
    model = model_by_name(body["model"])
    assert model is not None
    assert model["protocol"] == protocol
    async_header = example.get("headers", {}).get("X-DashScope-Async") == "enable"
    _, error = route(body["model"], example["path"], async_header)
    assert error is None
    assert request_problems(model, body) == []


BAD_MESSAGES = {
    "two-messages": (
        [
            {"role": "user", "content": [{"text": "a"}]},
            {"role": "user", "content": [{"text": "b"}]},
        ],
        "messages_count",
    ),
    "assistant-role": ([{"role": "assistant", "content": [{"text": "a"}]}], "messages_role"),
    "two-texts": (
        [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}],
        "messages_text_count",
    ),
    "no-text": ([{"role": "user", "content": []}], "messages_text_count"),
    "image-item": (
        [{"role": "user", "content": [{"text": "a"}, {"image": "https://x/y.png"}]}],
        "messages_other_item",
    ),
}


@pytest.mark.parametrize(("messages", "error"), BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_message_rules(messages: list[dict[str, Any]], error: str) -> None:
    body = {"model": "wan2.6-t2i", "input": {"messages": messages}, "parameters": {}}
    assert request_problems(MODELS["wan2.6-t2i"], body) == [error]
    assert ERRORS[error]["status"] == 400


def test_bad_parameters_are_caught_by_the_derived_validation() -> None:
    body = {
        "model": "wanx2.1-t2i-turbo",
        "input": {"prompt": "p"},
        "parameters": {"n": 5, "seed": -1, "watermark": "yes"},
    }
    assert len(request_problems(MODELS["wanx2.1-t2i-turbo"], body)) == 3
    body = {
        "model": "wanx2.1-t2i-turbo",
        "input": {"prompt": "p"},
        "parameters": {"size": "2048*2048", "is_async": True},
    }
    assert request_problems(MODELS["wanx2.1-t2i-turbo"], body) == ["size outside the rule"]


def test_prompt_protocol_bodies_fit_the_existing_message_schemas() -> None:
    from mockscope.schemas import validator

    for name in (
        "sdk_async_call_request",
        "sdk_sync_call_request",
        "v2_client_jobs_create_request",
    ):
        assert validator("task-create-request.json").is_valid(wire("prompt", name)["body"]), name
    for protocol in ("prompt", "messages"):
        assert validator("task-create-response.json").is_valid(
            wire(protocol, "create_response")["body"]
        )
    for name in (
        "task_succeeded_v2",
        "task_failed_v2",
        "task_succeeded_v1_recorded",
        "sync_answer_wan22",
    ):
        errors = list(validator("task.json").iter_errors(wire("prompt", name)["body"]))
        assert not errors, (name, [e.message for e in errors])
    assert validator("error.json").is_valid(wire("messages", "sync_error")["body"])


def test_the_sdk_reads_the_messages_protocol_answers() -> None:
    pytest.importorskip("dashscope")
    from dashscope.api_entities.dashscope_response import (
        DashScopeAPIResponse,
        ImageGenerationResponse,
        ImageSynthesisResponse,
    )

    for name in ("sync_answer", "task_succeeded", "create_response", "task_running", "task_failed"):
        body = wire("messages", name)["body"]
        response = ImageGenerationResponse.from_api_response(
            DashScopeAPIResponse(status_code=200, output=body["output"], usage=body.get("usage"))
        )
        if name in ("sync_answer", "task_succeeded"):
            assert response.output.choices[0].message.role == "assistant"
            assert response.output.choices[0].message.content[0]["image"].startswith("https://")
        else:
            assert response.output.task_status in ("PENDING", "RUNNING", "FAILED")
    for name in ("task_succeeded_v2", "sync_answer_wan22"):
        body = wire("prompt", name)["body"]
        synthesis = ImageSynthesisResponse.from_api_response(
            DashScopeAPIResponse(status_code=200, output=body["output"], usage=body["usage"])
        )
        assert synthesis.output.results[0].url.startswith("https://")
        assert synthesis.output.results[0].orig_prompt


def test_documented_wan26_bodies_carry_what_the_catalogue_says() -> None:
    model = MODELS["wan2.6-t2i"]
    for name in ("task_succeeded", "sync_answer"):
        body = wire("messages", name)["body"]
        assert body["output"]["finished"] is True
        assert set(model["result"]["usage_fields"]) <= set(body["usage"])
        assert "task_metrics" not in body["output"]
        assert "results" not in body["output"]
        for choice in body["output"]["choices"]:
            assert choice["finish_reason"] == "stop"
            assert {item["type"] for item in choice["message"]["content"]} == {"image"}
    succeeded = wire("prompt", "task_succeeded_v2")["body"]["output"]["results"][0]
    assert list(succeeded) == ["orig_prompt", "actual_prompt", "url"]
