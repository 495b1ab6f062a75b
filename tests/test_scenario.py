"""Scenarios as data: reading them, matching calls, lifetimes, and seeded probabilities."""

from __future__ import annotations

import pytest

from mockscope import ScenarioError
from mockscope.domain.operations import Operation
from mockscope.scenarios.reading import checked, checked_rule, parse_line, read_file
from mockscope.scenarios.rules import Call, Lifetime, OutcomeKind, Scenario


def _rules(*lines: str) -> Scenario:
    rules, seed = checked(list(lines))
    return Scenario(rules, seed)


def test_the_one_line_form_reads_numbers_and_lists() -> None:
    assert parse_line("failed; code=DataInspectionFailed") == {
        "outcome": "failed",
        "code": "DataInspectionFailed",
    }
    assert parse_line("partial; items=0,2") == {"outcome": "partial", "items": [0, 2]}
    assert parse_line(" delay ; min=0.5;max=2 ") == {"outcome": "delay", "min": 0.5, "max": 2}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "names no outcome"),
        ("failed; code", "name=value"),
        ("explode", r"`(rules\.0|rule)\.outcome` must be one of failed, partial"),
        ("delay", r"`(rules\.0|rule)\.seconds` is missing"),
        ("delay; seconds=1; code=X", "code"),
        ("error; status=302", "400"),
        ("polls; running=5; done=2", "`done` must not come before `running`"),
        ("delay; min=3; max=1", "`max` must not be below `min`"),
        ("failed; match=1", "match"),
    ],
)
def test_malformed_rules_say_what_is_wrong(line: str, says: str) -> None:
    with pytest.raises(ScenarioError, match=says):
        checked([line])
    with pytest.raises(ScenarioError, match=says):
        checked_rule(line)


def test_every_form_reports_problems_in_one_format() -> None:
    """Documents, rule lists and single rules (a request header) are read by one pipeline."""
    with pytest.raises(ScenarioError) as in_a_document:
        checked({"rules": [{"outcome": "failed"}, {"outcome": "partial", "failed": "lots"}]})
    with pytest.raises(ScenarioError) as in_a_list:
        checked(["failed", "partial; failed=lots"])
    with pytest.raises(ScenarioError) as on_its_own:
        checked_rule("partial; failed=lots")
    assert str(in_a_document.value) == str(in_a_list.value)
    # Worded as every answer is: the parameter and its rule, never jsonschema's Python reprs.
    integer = "must be an integer between 1 and 3"
    assert str(in_a_list.value) == f"Parameter `rules.1.failed` {integer}"
    assert str(on_its_own.value) == f"Parameter `rule.failed` {integer}"
    with pytest.raises(ScenarioError, match=r"^rules\.1: `code` is not of the form name=value$"):
        checked(["failed", "failed; code"])


def test_defaults_come_from_the_documented_codes() -> None:
    rules, _ = checked(["failed", "error; code=ModelUnavailable", "partial", "error; status=418"])
    failed, error, partial, teapot = (rule.outcome.params for rule in rules)
    assert failed["code"] == "InternalError.Algo"
    assert failed["message"].startswith("An internal error has occured during execution")
    assert error["message"] == "Model is unavailable, please try again later."
    assert "status" not in error, "the HTTP layer gives a code its status"
    assert (teapot["code"], teapot["status"]) == ("InternalError", 418), "a named status stays"
    assert (partial["code"], partial["failed"]) == ("InternalError.Timeout", 1)


def test_kinds_and_lifetimes_are_enums() -> None:
    rule = checked_rule({"outcome": "reset", "times": {"nth": 3}})
    assert rule.outcome.kind is OutcomeKind.RESET
    assert not rule.outcome.for_task
    assert (rule.times, rule.n) == (Lifetime.NTH, 3)
    assert checked_rule("never").outcome.for_task


def test_rules_match_by_operation_key_account_prompt_and_header() -> None:
    rule = checked_rule(
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
    return [scenario.request_outcome(Call(operation)) is not None for _ in range(calls)]


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
        scenario.request_outcome(Call(op)) is not None
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


def test_the_first_firing_rule_of_each_kind_applies() -> None:
    scenario = _rules("delay; seconds=1", "reset", "failed", "partial")
    request = scenario.request_outcome(Call(Operation.CREATE))
    task = scenario.task_outcome(Call(Operation.CREATE))
    assert request is not None
    assert task is not None
    assert request.describe() == "delay; seconds=1"
    assert task.describe() == "failed; code=InternalError.Algo"
    counts = [(installed.calls, installed.fired) for installed in scenario.installed]
    assert counts == [(1, 1), (0, 0), (1, 1), (0, 0)], "rules after the first are not tried"


def test_a_requests_own_rule_comes_first_and_counts_nowhere() -> None:
    scenario = _rules("error; code=SystemError; times=once")
    own = checked_rule("reset")
    outcome = scenario.request_outcome(Call(Operation.GET), own)
    assert outcome is not None
    assert outcome.kind is OutcomeKind.RESET
    assert scenario.installed[0].calls == 0
    assert scenario.task_outcome(Call(Operation.CREATE), own) is None, "a request outcome"


def test_rules_are_values_and_their_counts_belong_to_the_scenario() -> None:
    declared = checked(["reset; times=once"])
    first, second = Scenario(declared.rules), Scenario(declared.rules)
    assert _fired(first, 2) == [True, False]
    assert _fired(second, 2) == [True, False], "the same rules, installed afresh"


def test_a_scenario_file_in_yaml(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "chaos.yaml"  # type: ignore[operator]
    path.write_text(
        "seed: 5\nrules:\n  - outcome: error\n    code: ModelUnavailable\n"
        "    probability: 0.1\n    match: {operation: create}\n"
    )
    rules, seed = checked(read_file(path))
    assert seed == 5
    assert rules[0].outcome.params["code"] == "ModelUnavailable"


def test_an_unreadable_file_is_a_scenario_error(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "broken.json"  # type: ignore[operator]
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match="cannot be read"):
        read_file(path)
