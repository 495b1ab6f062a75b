"""GET /_mockscope/openapi.json: one OpenAPI 3.1 document for the API and the control plane, the
same that `mockscope openapi` prints; and control routes that say which body they want."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockscope import ManualClock, MockServer, openapi
from mockscope.cli import main
from mockscope.http.app import OPERATION_IDS
from mockscope.http.control.dispatch import ROUTES as CONTROL_ROUTES

METHODS = ("get", "post", "put", "delete", "patch")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, dict[str, Any]]]:
    with MockServer(validate_responses=True) as server:
        answer = httpx.get(f"{server.url}/_mockscope/openapi.json")
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("application/json")
        assert not server.schema_violations
        yield server.url, answer.json()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def test_the_served_document_is_valid_openapi_3_1(served: tuple[str, dict[str, Any]]) -> None:
    url, document = served
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()
    assert document["servers"] == [{"url": url, "description": "this mockscope server"}]


def test_it_is_self_contained(served: tuple[str, dict[str, Any]]) -> None:
    text = json.dumps(served[1])
    refs = [ref for ref in _refs(served[1]) if not ref.startswith("#/")]
    assert refs == [], "every $ref points inside the document"
    assert ".json#" not in text.replace("openapi.json", "")


def test_it_covers_every_api_and_control_route(served: tuple[str, dict[str, Any]]) -> None:
    documented = {
        op["operationId"]: (method.upper(), path) for method, path, op in operations(served[1])
    }
    for operation_id in OPERATION_IDS.values():
        assert operation_id in documented, operation_id
    for method, path, _, operation_id in CONTROL_ROUTES:
        assert documented.get(operation_id) == (method, f"/_mockscope/{path}"), operation_id


def test_every_control_route_documents_its_body_examples_and_errors(
    served: tuple[str, dict[str, Any]],
) -> None:
    document = served[1]
    for method, path, operation in operations(document):
        if not path.startswith("/_mockscope/"):
            continue
        responses = operation["responses"]
        assert "200" in responses, (method, path)
        # The document and the inspector's script and style sheet hold nothing but what ships
        # with mockscope: they answer every caller.
        if operation["operationId"] not in {"get_openapi", "get_inspector_asset"}:
            assert "403" in responses, (method, path)
        body = operation.get("requestBody")
        if body is None:
            continue
        content = body["content"]["application/json"]
        assert content.get("examples"), f"{method} {path}: no examples of its body"
        assert responses["400"] == {"$ref": "#/components/responses/ControlBadBody"}
    bad = document["components"]["responses"]["ControlBadBody"]
    assert "shows the body expected" in bad["description"]
    shown = bad["content"]["application/json"]["examples"]
    for route in ("clock/advance", "limits", "scenarios"):
        assert any(
            f"POST /_mockscope/{route} takes" in e["value"]["message"] for e in shown.values()
        )


def test_every_example_fits_its_schema(served: tuple[str, dict[str, Any]]) -> None:
    document = served[1]
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource("urn:mockscope", resource)
    checked = 0
    for method, path, operation in operations(document):
        media = [operation.get("requestBody", {}).get("content", {}).get("application/json", {})]
        for response in operation["responses"].values():
            response = _deref(document, response)
            media.append(response.get("content", {}).get("application/json", {}))
        for content in media:
            for name, example in content.get("examples", {}).items():
                schema = {"$ref": "urn:mockscope" + content["schema"]["$ref"]}
                errors = list(
                    Draft202012Validator(schema, registry=registry).iter_errors(example["value"])
                )
                assert not errors, f"{method} {path} example {name}: {errors[0].message}"
                checked += 1
    assert checked >= 8


@pytest.mark.parametrize("output_format", ["json", "yaml"])
def test_the_cli_prints_the_same_document(
    served: tuple[str, dict[str, Any]], output_format: str
) -> None:
    url, document = served
    result = CliRunner().invoke(main, ["openapi", "--format", output_format, "--server-url", url])
    assert result.exit_code == 0, result.output
    printed = (
        json.loads(result.output) if output_format == "json" else yaml.safe_load(result.output)
    )
    assert printed == document


def test_the_cli_names_the_default_server_without_a_url() -> None:
    printed = yaml.safe_load(CliRunner().invoke(main, ["openapi"]).output)
    assert printed["servers"][0]["url"] == "http://127.0.0.1:8080"
    assert printed == openapi.document()


def _deref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


# -- a wrong or missing body is answered with the body expected -----------------------------------

EXPECTED = {
    "clock/advance": '{"seconds": 60}',
    "limits": '{"concurrency": 2, "create_per_second": 10}',
    "scenarios": '{"rules": [{"outcome": "failed", "code": "DataInspectionFailed"}]}',
}
WRONG = {
    "missing": {},
    "not JSON": {"content": b"seconds=60"},
    "wrong shape": {"json": {"secs": 60}},
    "a list": {"json": [60]},
    "in the query": {"params": {"seconds": "60"}},
}


@pytest.mark.parametrize("route", sorted(EXPECTED))
@pytest.mark.parametrize("wrong", sorted(WRONG))
def test_a_wrong_or_missing_body_is_answered_with_the_body_expected(
    api: httpx.Client, route: str, wrong: str
) -> None:
    answer = api.post(f"/_mockscope/{route}", **WRONG[wrong])  # type: ignore[arg-type]
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["code"] == "InvalidParameter"
    assert f"POST /_mockscope/{route} takes a JSON body" in error["message"]
    assert EXPECTED[route] in error["message"]
    assert "GET /_mockscope/openapi.json" in error["message"]
    if wrong == "in the query":
        assert "query parameters are not read: send seconds in the body" in error["message"]


def test_the_expected_body_is_accepted_as_shown(api: httpx.Client) -> None:
    for route, body in EXPECTED.items():
        answer = api.post(
            f"/_mockscope/{route}", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 200, (route, answer.text)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/_mockscope/reset", "POST /_mockscope/reset takes no body: it resets everything, or one "
         "account with ?account=NAME"),
        ("/_mockscope/tasks/a/finish", "POST /_mockscope/tasks/{task_id}/finish takes no body"),
    ],
)  # fmt: skip
def test_a_route_without_a_body_refuses_one_rather_than_guess(
    api: httpx.Client, server: MockServer, path: str, says: str
) -> None:
    server.clock.advance(60)
    answer = api.post(path, json={"account": "sk-a"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameter"
    assert says in answer.json()["message"]
    assert server.clock.now_ms() > ManualClock().now_ms(), "nothing was reset"


def test_the_documented_wrong_body_answers_are_the_answers(
    served: tuple[str, dict[str, Any]], api: httpx.Client
) -> None:
    examples = served[1]["components"]["responses"]["ControlBadBody"]["content"][
        "application/json"
    ]["examples"]
    for name, example in examples.items():
        method, target, *body = example["summary"].split(" ", 2)
        answer = api.request(method, target, content=body[0] if body else None)
        assert answer.status_code == 400, name
        assert answer.json()["message"] == example["value"]["message"], name
