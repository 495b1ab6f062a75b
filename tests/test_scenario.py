"""Scenarios as data: reading them, matching calls, lifetimes, and seeded probabilities."""

from __future__ import annotations

import pytest

from mockscope import ScenarioError
from mockscope.domain.operations import Operation
from mockscope.scenarios.reading import (
    as_document,
    checked,
    parse_header,
    read_file,
    rule_from_mapping,
)
from mockscope.scenarios.rules import Call, Scenario


def _rules(*lines: str) -> Scenario:
    rules, seed = checked(as_document(list(lines)))
    return Scenario(rules, seed)


def test_the_one_line_form_reads_numbers_and_lists() -> None:
    assert parse_header("failed; code=DataInspectionFailed") == {
        "outcome": "failed",
        "code": "DataInspectionFailed",
    }
    assert parse_header("partial; items=0,2") == {"outcome": "partial", "items": [0, 2]}
    assert parse_header(" delay ; min=0.5;max=2 ") == {"outcome": "delay", "min": 0.5, "max": 2}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "names no outcome"),
        ("failed; code", "name=value"),
        ("explode", "`rules.0.outcome` must be one of failed, partial"),
        ("delay", "`rules.0.seconds` is missing"),
        ("delay; seconds=1; code=X", "code"),
        ("error; status=302", "400"),
        ("polls; running=5; done=2", "`done` must not come before `running`"),
        ("delay; min=3; max=1", "`max` must not be below `min`"),
        ("failed; match=1", "match"),
    ],
)
def test_malformed_rules_say_what_is_wrong(line: str, says: str) -> None:
    with pytest.raises(ScenarioError, match=says):
        checked(as_document([line]))


def test_defaults_come_from_the_documented_codes() -> None:
    rules, _ = checked(as_document(["failed", "error; code=ModelUnavailable", "partial"]))
    failed, error, partial = (rule.outcome.params for rule in rules)
    assert failed["code"] == "InternalError.Algo"
    assert failed["message"].startswith("An internal error has occured during execution")
    assert (error["status"], error["message"]) == (
        503,
        "Model is unavailable, please try again later.",
    )
    assert (partial["code"], partial["failed"]) == ("InternalError.Timeout", 1)


def test_rules_match_by_operation_key_account_prompt_and_header() -> None:
    rule = rule_from_mapping(
        {
            "outcome": "failed",
            "match": {
                "operation": "create",
                "api_key": "sk-a",
                "account": "team",
                "prompt": "ca+t",
                "header": {"name": "X-Case", "value": "yes.*"},
            },
        }
    )
    call = Call(Operation.CREATE, "sk-a", "team", "a caaat", {"x-case": "yes please"})
    assert rule.match.matches(call)
    for changed in (
        Call(Operation.GET, "sk-a", "team", "a caaat", {"x-case": "yes"}),
        Call(Operation.CREATE, "sk-b", "team", "a caaat", {"x-case": "yes"}),
        Call(Operation.CREATE, "sk-a", "other", "a caaat", {"x-case": "yes"}),
        Call(Operation.CREATE, "sk-a", "team", "a dog", {"x-case": "yes"}),
        Call(Operation.CREATE, "sk-a", "team", "a caaat", {"x-case": "no"}),
        Call(Operation.CREATE, "sk-a", "team", "a caaat", {}),
    ):
        assert not rule.match.matches(changed)


def _fired(scenario: Scenario, calls: int, operation: Operation = Operation.CREATE) -> list[bool]:
    return [scenario.resolve(Call(operation)).request is not None for _ in range(calls)]


@pytest.mark.parametrize(
    ("times", "fired"),
    [
        ("always", [True, True, True, True]),
        ("once", [True, False, False, False]),
        ({"nth": 2}, [False, True, False, False]),
        ({"first": 2}, [True, True, False, False]),
    ],
)
def test_lifetimes(times: object, fired: list[bool]) -> None:
    rules, _ = checked({"rules": [{"outcome": "reset", "times": times}]})
    assert _fired(Scenario(rules), 4) == fired


def test_only_matching_calls_count_towards_the_nth() -> None:
    rules = checked(
        {"rules": [{"outcome": "reset", "times": {"nth": 2}, "match": {"operation": "get"}}]}
    )[0]
    scenario = Scenario(rules)
    seen = [
        scenario.resolve(Call(op)).request is not None
        for op in (Operation.GET, Operation.CREATE, Operation.CREATE, Operation.GET)
    ]
    assert seen == [False, False, False, True]


def test_the_same_seed_gives_the_same_outcomes() -> None:
    def run(seed: int) -> list[bool]:
        rules, _ = checked({"rules": [{"outcome": "error", "probability": 0.3}]})
        return _fired(Scenario(rules, seed), 200)

    first = run(7)
    assert first == run(7)
    assert first != run(8)
    assert 30 <= sum(first) <= 90, "about 30% of 200"


def test_restart_replays_the_draws_and_counts() -> None:
    rules, _ = checked(
        {"rules": [{"outcome": "error", "probability": 0.5, "times": {"first": 50}}]}
    )
    scenario = Scenario(rules, seed=3)
    before = _fired(scenario, 60)
    scenario.restart()
    assert _fired(scenario, 60) == before


def test_one_request_outcome_and_one_task_outcome_per_call() -> None:
    scenario = _rules("delay; seconds=1", "reset", "failed", "partial")
    resolution = scenario.resolve(Call(Operation.CREATE))
    assert resolution.request is not None
    assert resolution.request.kind == "delay"
    assert resolution.task is not None
    assert resolution.task.kind == "failed"
    assert resolution.describe() == "delay; seconds=1, failed; code=InternalError.Algo"


def test_a_scenario_file_in_yaml(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "chaos.yaml"  # type: ignore[operator]
    path.write_text(
        "seed: 5\nrules:\n  - outcome: error\n    code: ModelUnavailable\n"
        "    probability: 0.1\n    match: {operation: create}\n"
    )
    rules, seed = checked(read_file(path))
    assert seed == 5
    assert rules[0].outcome.params["status"] == 503


def test_an_unreadable_file_is_a_scenario_error(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "broken.json"  # type: ignore[operator]
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match="cannot be read"):
        read_file(path)
