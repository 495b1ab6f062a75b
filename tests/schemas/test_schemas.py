"""The schemas in schemas/: well-formed, tied together, and tried on real and broken bodies.

Examples live in examples/<schema>/{valid,invalid}/*.json. Valid ones are the recorded and
documented bodies wherever those exist (recorded-*, doc-*, sdk-*); each invalid one breaks exactly
one rule, which its file name states, and test_invalid_example checks that it breaks only one.
examples/task/doc-abbreviated/ holds the API reference's short SUCCEEDED bodies verbatim; they
lack the timestamps every recorded body has, and are checked to lack nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import openapi_spec_validator
import pytest
import schemathesis
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
OPENAPI = SCHEMAS / "openapi.yaml"
EXAMPLES = Path(__file__).resolve().parent / "examples"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

SCHEMA_NAMES = [
    "cancel-response.json",
    "control-advance-request.json",
    "control-clock.json",
    "control-journal-checks.json",
    "control-journal.json",
    "control-limits.json",
    "control-ok.json",
    "control-openapi.json",
    "control-rule-request.json",
    "control-scenario.json",
    "control-task-page.json",
    "control-tasks.json",
    "error.json",
    "generation-response.json",
    "image-generation-request.json",
    "model-catalogue.json",
    "models-file.json",
    "scenario.json",
    "task-create-answer.json",
    "task-create-request.json",
    "task-create-response.json",
    "task-list.json",
    "task.json",
    "upload-policy.json",
]

# operationId -> (method, path, tag)
OPERATIONS = {
    "create_task": ("post", "/api/v1/services/aigc/text2image/image-synthesis", "dashscope"),
    "create_generation_task": (
        "post",
        "/api/v1/services/aigc/image-generation/generation",
        "dashscope",
    ),
    "generate": ("post", "/api/v1/services/aigc/multimodal-generation/generation", "dashscope"),
    "get_task": ("get", "/api/v1/tasks/{task_id}", "dashscope"),
    "cancel_task": ("post", "/api/v1/tasks/{task_id}/cancel", "dashscope"),
    "list_tasks": ("get", "/api/v1/tasks", "dashscope"),
    "get_upload_policy": ("get", "/api/v1/uploads", "dashscope"),
    "download_result": ("get", "/results/{key}", "files"),
    "upload_file": ("post", "/oss", "files"),
    "get_inspector": ("get", "/_mockscope/", "control"),
    "get_inspector_ui": ("get", "/_mockscope/ui", "control"),
    "get_inspector_asset": ("get", "/_mockscope/ui/{asset}", "control"),
    "get_openapi": ("get", "/_mockscope/openapi.json", "control"),
    "get_clock": ("get", "/_mockscope/clock", "control"),
    "advance_clock": ("post", "/_mockscope/clock/advance", "control"),
    "reset": ("post", "/_mockscope/reset", "control"),
    "get_limits": ("get", "/_mockscope/limits", "control"),
    "set_limits": ("post", "/_mockscope/limits", "control"),
    "list_all_tasks": ("get", "/_mockscope/tasks", "control"),
    "get_task_page": ("get", "/_mockscope/tasks/page", "control"),
    "finish_task": ("post", "/_mockscope/tasks/{task_id}/finish", "control"),
    "get_scenario": ("get", "/_mockscope/scenarios", "control"),
    "set_scenario": ("post", "/_mockscope/scenarios", "control"),
    "clear_scenario": ("delete", "/_mockscope/scenarios", "control"),
    "add_rule": ("post", "/_mockscope/scenarios/rules", "control"),
    "remove_rule": ("delete", "/_mockscope/scenarios/rules/{position}", "control"),
    "get_journal": ("get", "/_mockscope/journal", "control"),
    "clear_journal": ("delete", "/_mockscope/journal", "control"),
    "get_journal_checks": ("get", "/_mockscope/journal/checks", "control"),
}

# operationId -> the message files its request body and 200 response use
BODIES = {
    "create_task": ("task-create-request.json", "task-create-answer.json"),
    "create_generation_task": ("image-generation-request.json", "task-create-response.json"),
    "generate": ("image-generation-request.json", "generation-response.json"),
    "get_task": (None, "task.json"),
    "cancel_task": (None, "cancel-response.json"),
    "list_tasks": (None, "task-list.json"),
    "get_upload_policy": (None, "upload-policy.json"),
    "get_openapi": (None, "control-openapi.json"),
    "get_clock": (None, "control-clock.json"),
    "advance_clock": ("control-advance-request.json", "control-clock.json"),
    "reset": (None, "control-ok.json"),
    "get_limits": (None, "control-limits.json"),
    "set_limits": ("control-limits.json", "control-limits.json"),
    "list_all_tasks": (None, "control-tasks.json"),
    "get_task_page": (None, "control-task-page.json"),
    "finish_task": (None, "task.json"),
    "get_scenario": (None, "control-scenario.json"),
    "set_scenario": ("scenario.json", "control-scenario.json"),
    "clear_scenario": (None, "control-ok.json"),
    "add_rule": ("control-rule-request.json", "control-scenario.json"),
    "remove_rule": (None, "control-scenario.json"),
    "get_journal": (None, "control-journal.json"),
    "clear_journal": (None, "control-ok.json"),
    "get_journal_checks": (None, "control-journal-checks.json"),
}

# operationId -> its documented error statuses (all error.json)
ERROR_STATUSES = {
    "create_task": {"400", "401", "403", "413", "429", "500", "503", "default"},
    "create_generation_task": {"400", "401", "403", "413", "429", "500", "503", "default"},
    "generate": {"400", "401", "413", "429", "500", "503", "default"},
    "get_task": {"401", "429", "500", "503", "default"},
    "cancel_task": {"400", "401", "429", "default"},
    "list_tasks": {"400", "401", "429", "default"},
    "get_upload_policy": {"400", "401", "429", "default"},
    "advance_clock": {"400", "403", "413"},
    "get_clock": {"403"},
    "reset": {"400", "403"},
    "get_limits": {"403"},
    "set_limits": {"400", "403", "413"},
    "list_all_tasks": {"400", "403"},
    "finish_task": {"400", "403", "404"},
    "get_scenario": {"403"},
    "set_scenario": {"400", "403", "413"},
    "clear_scenario": {"403"},
    "get_journal": {"400", "403"},
    "clear_journal": {"403"},
    "get_inspector": {"403"},
    "get_inspector_ui": {"403"},
    "get_inspector_asset": {"404"},
    "get_task_page": {"400", "403"},
    "add_rule": {"400", "403", "413"},
    "remove_rule": {"400", "403", "404"},
    "get_journal_checks": {"400", "403"},
}

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


# --------------------------------------------------------------------------- loading


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


@cache
def registry() -> Registry:
    """Every schema registered under its own file name, so relative $refs resolve."""
    return Registry().with_resources(
        (name, Resource.from_contents(load_schema(name))) for name in SCHEMA_NAMES
    )


@cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), registry=registry())


@cache
def rs_validator(name: str) -> Any:
    rs_registry = jsonschema_rs.Registry([(n, load_schema(n)) for n in SCHEMA_NAMES])
    return jsonschema_rs.validator_for(load_schema(name), registry=rs_registry)


@cache
def openapi() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def examples(kind: str) -> list[Any]:
    return [
        pytest.param(
            path.parent.parent.name + ".json", path, id=f"{path.parent.parent.name}/{path.stem}"
        )
        for path in sorted(EXAMPLES.glob(f"*/{kind}/*.json"))
    ]


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON object in a document, with its location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in openapi()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def operation(operation_id: str) -> dict[str, Any]:
    method, path, _ = OPERATIONS[operation_id]
    return openapi()["paths"][path][method]


def deref(node: dict[str, Any]) -> dict[str, Any]:
    """Follow internal `#/...` references of the OpenAPI document."""
    while "$ref" in node and node["$ref"].startswith("#/"):
        node = resolve_pointer(openapi(), node["$ref"])
    return node


def resolve_pointer(document: Any, ref: str) -> Any:
    target = document
    for part in ref.removeprefix("#").lstrip("/").split("/"):
        if part:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
    return target


def broken_rules(error: ValidationError) -> set[tuple[Any, ...]]:
    """The places an error breaks: one per instance location, one per missing property.

    For oneOf/anyOf only the intended branch counts: the one whose `const` discriminator (the
    task_status) matches, or else the one that comes closest. So a body with one bad field in
    one task shape counts once, not once per shape.
    """
    if error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        intended = [
            subs for subs in branches.values() if all(sub.validator != "const" for sub in subs)
        ] or list(branches.values())
        return min(
            (set().union(*(broken_rules(sub) for sub in subs)) for subs in intended), key=len
        )
    place: tuple[Any, ...] = tuple(error.absolute_path)
    if error.validator == "required":
        missing = re.match(r"^'(.*)' is a required property$", error.message)
        assert missing, error.message
        place += (missing.group(1),)
    elif error.validator is None:
        # A `false` subschema: jsonschema reports the parent's path, so name the value too.
        place += ("<not allowed>", repr(error.instance))
    return {place}


def describe(errors: list[ValidationError]) -> str:
    return "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


# --------------------------------------------------------------------------- the JSON Schemas


def test_schema_files_are_one_per_message() -> None:
    # The model catalogue is data, not a message schema: it lives in catalogue/, out of the
    # way of every registry that loads schemas/*.json.
    found = sorted(path.name for path in SCHEMAS.glob("*.json"))
    assert found == SCHEMA_NAMES


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DIALECT
    assert schema["title"]
    assert schema["description"]
    assert not [where for where, node in walk(schema) if "$id" in node]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_ref_resolves(name: str) -> None:
    resolver = registry().resolver(base_uri=name)
    refs = [node["$ref"] for _, node in walk(load_schema(name)) if "$ref" in node]
    for ref in refs:
        assert not ref.startswith(("http:", "https:", "/")), f"{ref} must be a relative file name"
        resolver.lookup(ref)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_schema_has_valid_and_invalid_examples(name: str) -> None:
    stem = name.removesuffix(".json")
    assert list((EXAMPLES / stem / "valid").glob("*.json"))
    assert list((EXAMPLES / stem / "invalid").glob("*.json"))


@pytest.mark.parametrize(("name", "path"), examples("valid"))
def test_valid_example(name: str, path: Path) -> None:
    errors = list(validator(name).iter_errors(load_json(path)))
    assert not errors, describe(errors)


@pytest.mark.parametrize(("name", "path"), examples("invalid"))
def test_invalid_example(name: str, path: Path) -> None:
    errors = list(validator(name).iter_errors(load_json(path)))
    assert errors, f"{path.name} should be rejected"
    places = set().union(*(broken_rules(error) for error in errors))
    assert len(places) == 1, f"{path.name} breaks more than one rule:\n{describe(errors)}"


@pytest.mark.parametrize(("name", "path"), examples("valid") + examples("invalid"))
def test_jsonschema_rs_agrees(name: str, path: Path) -> None:
    """The server may compile the schemas with jsonschema-rs; it must judge alike."""
    assert rs_validator(name).is_valid(load_json(path)) == (path.parent.name == "valid")


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.glob("task/doc-abbreviated/*.json")), ids=lambda p: p.stem
)
def test_reference_abbreviated_succeeded_bodies_lack_only_the_timestamps(path: Path) -> None:
    """The reference's short SUCCEEDED examples omit the times every recorded body carries."""
    body = load_json(path)
    assert not validator("task.json").is_valid(body)
    body["output"].update(
        submit_time="2024-03-01 17:38:24.817",
        scheduled_time="2024-03-01 17:38:24.831",
        end_time="2024-03-01 17:38:55.565",
    )
    errors = list(validator("task.json").iter_errors(body))
    assert not errors, describe(errors)


def test_supported_sizes_are_the_four_documented() -> None:
    schema = load_schema("task-create-request.json")
    assert schema["$defs"]["supported_size"]["enum"] == [
        "1024*1024",
        "720*1280",
        "768*1152",
        "1280*720",
    ]
    size = schema["properties"]["parameters"]["properties"]["size"]
    assert size["type"] == "string"
    assert "enum" not in size
    assert size["default"] == "1024*1024"


def test_request_parameters_follow_the_reference() -> None:
    request = load_schema("task-create-request.json")
    parameters = request["properties"]["parameters"]["properties"]
    prompt = request["properties"]["input"]["properties"]["prompt"]
    assert "maxLength" not in prompt
    assert "enum" not in request["properties"]["model"]
    assert parameters["style"]["enum"] == [
        "<auto>",
        "<photography>",
        "<portrait>",
        "<3d cartoon>",
        "<anime>",
        "<oil painting>",
        "<watercolor>",
        "<sketch>",
        "<chinese painting>",
        "<flat illustration>",
    ]
    assert parameters["style"]["default"] == "<auto>"
    assert (parameters["n"]["minimum"], parameters["n"]["maximum"], parameters["n"]["default"]) == (
        1,
        4,
        4,
    )
    assert (parameters["seed"]["minimum"], parameters["seed"]["maximum"]) == (0, 4294967290)
    assert parameters["ref_strength"]["default"] == 0.5
    assert parameters["ref_mode"]["enum"] == ["repaint", "refonly"]
    assert parameters["ref_mode"]["default"] == "repaint"


def test_every_task_status_has_one_output_shape() -> None:
    task = load_schema("task.json")
    statuses = task["$defs"]["task_status"]["enum"]
    shapes = [resolve_pointer(task, b["$ref"]) for b in task["properties"]["output"]["oneOf"]]
    assert sorted(shape["properties"]["task_status"]["const"] for shape in shapes) == sorted(
        statuses
    )


# --------------------------------------------------------------------------- the OpenAPI document


def test_openapi_header() -> None:
    document = openapi()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "mockscope — DashScope text-to-image (the Wan family)"
    assert document["info"]["version"] == "0.1.0"
    assert [server["url"] for server in document["servers"]] == ["http://127.0.0.1:8080"]
    assert {tag["name"] for tag in document["tags"]} == {"dashscope", "files", "control"}


def test_openapi_operations_are_exactly_the_expected_ones() -> None:
    found = {op["operationId"]: (method, path, op["tags"]) for path, method, op in operations()}
    assert found == {oid: (m, p, [tag]) for oid, (m, p, tag) in OPERATIONS.items()}


def test_openapi_every_ref_resolves() -> None:
    document = openapi()
    for where, node in walk(document):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        if ref.startswith("#/"):
            resolve_pointer(document, ref)
        else:
            file_name, _, _ = ref.partition("#")
            assert file_name in SCHEMA_NAMES, f"{where}: {ref}"
            registry().resolver().lookup(ref)


def test_openapi_bodies_are_refs_to_the_message_files() -> None:
    for operation_id, (request, response) in BODIES.items():
        op = operation(operation_id)
        if request is not None:
            assert op["requestBody"]["required"] is True
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": request}
        assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": response}
    # No schema is written inline: every JSON body anywhere is a bare $ref (cancel's ignored body
    # aside).
    for path, method, op in operations():
        bodies = [op.get("requestBody", {}), *op["responses"].values()]
        for body in bodies:
            for media, content in deref(body).get("content", {}).items():
                if media == "application/json" and op["operationId"] != "cancel_task":
                    assert set(content["schema"]) == {"$ref"}, f"{method} {path}"


def test_openapi_error_responses_use_the_error_envelope() -> None:
    for operation_id, statuses in ERROR_STATUSES.items():
        responses = operation(operation_id)["responses"]
        assert {s for s in responses if s != "200"} == statuses, operation_id
        for status in statuses:
            assert responses[status]["$ref"].startswith("#/components/responses/")
            response = deref(responses[status])
            assert response["content"]["application/json"]["schema"] == {"$ref": "error.json"}
            headers = {name: deref(h) for name, h in response["headers"].items()}
            assert headers["X-Request-ID"]["required"] is True
            if status == "429":
                assert "Retry-After" in headers


def test_openapi_error_components_are_one_per_status() -> None:
    statuses: dict[str, set[str]] = {}
    for _, _, op in operations():
        for status, response in op["responses"].items():
            if "$ref" in response:
                statuses.setdefault(response["$ref"], set()).add(status)
    assert all(len(used_for) == 1 for used_for in statuses.values()), statuses
    components = {f"#/components/responses/{name}" for name in openapi()["components"]["responses"]}
    assert components == set(statuses)


def test_openapi_create_task_headers() -> None:
    params = {p["name"]: p for p in map(deref, operation("create_task")["parameters"])}
    assert all(p["in"] == "header" for p in params.values())
    # Optional here: the wan2.2 models answer synchronous calls (ImageSynthesis.sync_call).
    assert params["X-DashScope-Async"]["required"] is False
    generation = {
        p["name"]: p for p in map(deref, operation("create_generation_task")["parameters"])
    }
    assert generation["X-DashScope-Async"]["required"] is True
    sync = {p["name"] for p in map(deref, operation("generate")["parameters"])}
    assert "X-DashScope-Async" not in sync
    assert params["X-DashScope-Async"]["schema"]["enum"] == ["enable"]
    assert params["X-DashScope-OssResourceResolve"]["schema"]["enum"] == ["enable"]
    for optional in ("X-DashScope-WorkSpace", "X-DashScope-DataInspection"):
        assert params[optional].get("required", False) is False
    assert "X-DashScope-OssResourceResolve" in params


def test_openapi_list_tasks_query() -> None:
    params = {p["name"]: p for p in map(deref, operation("list_tasks")["parameters"])}
    query = {name: p["schema"] for name, p in params.items() if p["in"] == "query"}
    assert set(query) == {
        "task_id",
        "start_time",
        "end_time",
        "model_name",
        "status",
        "page_no",
        "page_size",
        "api_key_id",
        "region",
    }
    assert query["start_time"]["pattern"] == query["end_time"]["pattern"] == r"^\d{14}$"
    assert query["page_no"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}
    assert query["page_size"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    assert query["status"] == {"$ref": "task.json#/$defs/task_status"}


def test_openapi_security() -> None:
    schemes = openapi()["components"]["securitySchemes"]
    assert len(schemes) == 1
    (name, scheme), *_ = schemes.items()
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in openapi()
    for operation_id, (_, path, tag) in OPERATIONS.items():
        security = operation(operation_id)["security"]
        if tag == "dashscope":
            assert security == [{name: []}], operation_id
        else:
            assert security == [], operation_id
        if tag == "control":
            assert path.startswith("/_mockscope/")


def test_openapi_download_result() -> None:
    op = operation("download_result")
    params = {p["name"]: p for p in map(deref, op["parameters"])}
    assert params["key"]["in"] == "path"
    assert {name for name, p in params.items() if p["in"] == "query"} == {
        "Expires",
        "OSSAccessKeyId",
        "Signature",
    }
    assert op["responses"]["200"]["content"]["image/png"]["schema"] == {
        "type": "string",
        "contentMediaType": "image/png",
    }
    for status in ("403", "404", "412", "416"):
        schema = op["responses"][status]["content"]["application/xml"]["schema"]
        assert deref(schema)["type"] == "string"


def test_openapi_path_parameters_are_declared() -> None:
    for path, method, op in operations():
        declared = {p["name"] for p in map(deref, op.get("parameters", [])) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path}"


def test_openapi_links_chain_submit_get_cancel() -> None:
    def links(operation_id: str) -> dict[str, dict[str, Any]]:
        response = operation(operation_id)["responses"]["200"]
        return {name: deref(link) for name, link in response.get("links", {}).items()}

    assert {n: ln["operationId"] for n, ln in links("create_task").items()} == {
        "GetTask": "get_task",
        "CancelTask": "cancel_task",
    }
    assert {n: ln["operationId"] for n, ln in links("get_task").items()} == {
        "CancelTask": "cancel_task"
    }
    for operation_id in ("create_task", "get_task"):
        for link in links(operation_id).values():
            assert link["parameters"] == {"task_id": "$response.body#/output/task_id"}
            target = operation(link["operationId"])
            assert "task_id" in {p["name"] for p in map(deref, target["parameters"])}


def test_openapi_examples_match_their_schemas() -> None:
    checked = 0
    for where, node in walk(openapi()):
        if "schema" in node and "examples" in node and isinstance(node["schema"], dict):
            ref = node["schema"].get("$ref", "")
            assert ref in SCHEMA_NAMES, where
            for name, example in node["examples"].items():
                errors = list(validator(ref).iter_errors(example["value"]))
                assert not errors, f"{where}/examples/{name}: {describe(errors)}"
                checked += 1
    assert checked


def test_openapi_passes_openapi_spec_validator() -> None:
    openapi_spec_validator.validate(openapi(), base_uri=OPENAPI.as_uri())


def test_schemathesis_loads_openapi_and_follows_links() -> None:
    schema = schemathesis.openapi.from_path(str(OPENAPI))
    found = {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}
    assert found == set(OPERATIONS)
    rules = [name for name in dir(schema.as_state_machine()) if "__200_" in name]
    # create (text2image and image-generation) -> get and cancel; get -> cancel.
    assert len(rules) == 5, rules
