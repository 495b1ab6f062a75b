"""Schemathesis over schemas/openapi.yaml: every DashScope operation, positive and negative data.

Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection. Then the stateful phase follows the
OpenAPI links (create -> get -> cancel) and ends each scenario by listing what it created.

The `dashscope` tag is exercised on every target; the `control` tag (the fake's own plane
under /_mockscope/) on the fake only, against a fake of its own so that its resets and clock
advances do not reach the other tests, with the same checks. `files` (result downloads, the
OSS upload form) lives on storage hosts, not under the API's base URL, live.

Live, a request that would create images is sent with n=1 and only while the image budget
lasts; a generated example over budget is not sent at all (the test passes vacuously for it),
a stateful scenario over budget skips. Requests are paced within the documented rate limits and
a 429 is retried after its Retry-After.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from schemathesis import Case

from contract_tests.cases import is_create, is_positive, prepare, send, validate
from contract_tests.support import Target, openapi
from mockscope import MockServer

schema = openapi()
control = openapi("control")


@schema.parametrize()
def test_operation_conforms(case: Case[Any], target: Target) -> None:
    if not prepare(case, target):
        return  # live and over the image budget: not sent
    validate(case, send(case, target), target)


#: Control-plane exchanges sent and 5xx answers seen, by status class (printed at the end).
CONTROL_SENT: Counter[str] = Counter()


@pytest.fixture(scope="module")
def control_fake(target: Target) -> Iterator[MockServer]:
    if target.live:
        pytest.skip("the control plane is the fake's own")
    with MockServer(time="manual", validate_responses=True) as server:
        yield server
        server.check()
    print(f"\ncontrol plane: {sum(CONTROL_SENT.values())} requests, {dict(CONTROL_SENT)}")


@control.parametrize()
def test_control_operation_conforms(case: Case[Any], control_fake: MockServer) -> None:
    response = case.call(base_url=control_fake.url)
    CONTROL_SENT[f"{response.status_code // 100}xx"] += 1
    case.validate_response(response, transport_kwargs={"base_url": control_fake.url})


# -- stateful: the OpenAPI links -------------------------------------------------------------------


def test_links_create_get_cancel_then_list(target: Target) -> None:
    created: list[str] = []
    listing = schema["/api/v1/tasks"]["GET"]

    class Links(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            created.clear()

        def before_call(self, case: Case[Any]) -> None:
            if is_create(case) and is_positive(case) and isinstance(case.body, dict):
                # The schema allows any model name and the generator rarely hits a real one;
                # without a created task there are no links to follow.
                case.body = {**case.body, "model": "wanx-v1"}
            if not prepare(case, target):
                pytest.skip("live image budget spent")

        def call(self, case: Case[Any], **kwargs: Any) -> Any:
            return send(case, target)

        def after_call(self, response: Any, case: Case[Any]) -> None:
            super().after_call(response, case)
            if is_create(case) and response.status_code == 200:
                created.append(response.json()["output"]["task_id"])

        def validate_response(self, response: Any, case: Case[Any], **kwargs: Any) -> None:
            validate(case, response, target)

        def teardown(self) -> None:
            # Every task the scenario created is listed (it is less than 24 hours old).
            for task_id in created:
                case = listing.Case(query={"task_id": task_id})
                response = send(case, target, target.auth)
                validate(case, response, target)
                assert response.status_code == 200, response.text
                listed = [item["task_id"] for item in response.json()["data"]]
                assert listed == [task_id], f"list?task_id={task_id} answered {listed}"

    budget_left = target.budget.left
    # 20 scenarios of up to 6 steps: generating their bodies is what costs (about 0.3 s each).
    options: dict[str, Any] = {"max_examples": 20}
    if budget_left is not None:
        # Live: as many scenarios as images left, and no shrinking replays of billable creates.
        options = {"max_examples": max(1, budget_left), "phases": [hypothesis.Phase.generate]}
    Links.run(
        settings=hypothesis.settings(
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            **options,
        )
    )
