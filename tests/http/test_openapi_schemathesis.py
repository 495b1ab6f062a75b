"""Schemathesis against the document the server serves, GET /_mockscope/openapi.json: every
operation in it (the DashScope API, downloads and uploads, and the control plane), positive and
negative data, checked against the same document.

The control plane changes the fake itself (a scenario may inject 5xx answers, a limit may stop
every submission), so every case runs on a fake returned to its starting state afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import Case, GenerationMode

from mockscope import Limits, MockServer, openapi
from tests.support import assert_schema_conformance

KEY = "sk-schemathesis"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
#: Per operation and generation mode: enough to reach the documented statuses of each
#: operation while the whole suite stays quick.
MAX_EXAMPLES = 15
#: The tags whose operations contract_tests/test_schemathesis.py fuzzes against the fake with the
#: same checks (its coverage phase and 20 random examples per mode, from schemas/openapi.yaml). Here
#: they need only show that the bundled, served document describes the same answers: a few
#: examples each. The `files` operations are fuzzed only here, at MAX_EXAMPLES.
FUZZED_IN_CONTRACT_TESTS = frozenset({"dashscope", "control"})
SERVED_ONLY_EXAMPLES = 5
#: Only `enable` is documented for this header and the fake ignores any other value when no
#: `oss://` reference is sent (as contract_tests/cases.py explains); not a negative case here.
OSS_RESOLVE = "x-dashscope-ossresourceresolve"


@pytest.fixture(scope="module")
def fake() -> Iterator[MockServer]:
    # A jumping clock: an answer held for a while (a delay, a synchronous generation) is let go
    # at once, as nobody advances the clock here.
    with MockServer(time="jump", api_keys={KEY}, seed=5, validate_responses=True) as server:
        yield server
        assert_schema_conformance(server)


def negatable(operation: dict[str, Any]) -> bool:
    """Whether a request can be made wrong: a body, or a parameter other than a path string
    (a path segment holds any non-empty string)."""
    parameters = [openapi.resolve(parameter) for parameter in operation.get("parameters", [])]
    return "requestBody" in operation or any(
        not (p["in"] == "path" and p["schema"].get("type") == "string") for p in parameters
    )


#: Every operation of the document as it ships (the served copy differs only in `servers`), in
#: both generation modes; negative only where there is something to get wrong.
CASES = sorted(
    (operation["operationId"], mode)
    for item in openapi.document()["paths"].values()
    for operation in item.values()
    if isinstance(operation, dict) and "operationId" in operation
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or negatable(operation)
)


@pytest.fixture(scope="module")
def served_schema(fake: MockServer) -> Any:
    """The document as the server serves it, loaded by schemathesis from its URL."""
    config = schemathesis.Config.from_dict(
        {"checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}}
    )
    return schemathesis.openapi.from_url(f"{fake.url}/_mockscope/openapi.json", config=config)


@pytest.mark.parametrize(("operation_id", "mode"), CASES, ids=[f"{o}-{m.value}" for o, m in CASES])
def test_every_operation_conforms_to_the_served_document(
    served_schema: Any, fake: MockServer, operation_id: str, mode: GenerationMode
) -> None:
    operation = served_schema.find_operation_by_id(operation_id)
    authenticated = bool(operation.definition.raw.get("security"))
    fuzzed_elsewhere = FUZZED_IN_CONTRACT_TESTS.issuperset(operation.definition.raw["tags"])

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=SERVED_ONLY_EXAMPLES if fuzzed_elsewhere else MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def conforms(case: Case[Any]) -> None:
        headers = case.headers if case.headers is not None else {}
        for name in [name for name in headers if name.lower() == OSS_RESOLVE]:
            if headers[name] != "enable":
                del headers[name]
        if authenticated:
            headers.setdefault("Authorization", f"Bearer {KEY}")
        case.headers = headers
        try:
            response = case.call()
            case.validate_response(response)
        finally:
            fake.reset()
            fake.set_limits(Limits())

    conforms()


def test_the_served_document_lists_the_api_and_the_control_plane(served_schema: Any) -> None:
    tags = {
        tag
        for result in served_schema.get_all_operations()
        for tag in result.ok().definition.raw.get("tags", [])
    }
    assert tags == {"dashscope", "files", "control"}
    assert len({operation_id for operation_id, _ in CASES}) >= 20
