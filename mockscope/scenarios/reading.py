"""Reading scenarios as people write them: documents shaped as schemas/scenario.json describes,
lists of rules, the one-line form a request header carries (`failed; code=DataInspectionFailed`),
and YAML/JSON files.

Everything is checked against schemas/scenario.json (`checked`), then read into rules with the
documented defaults filled in and what the schema cannot say checked too; whatever is wrong is
reported in one ScenarioError, and nothing is installed from a scenario that has a fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mockscope import schemas
from mockscope.domain import errors
from mockscope.domain.operations import Operation
from mockscope.scenarios.rules import Match, Outcome, Rule, ScenarioError

SCHEMA = "scenario.json"
#: Documented wording for codes a scenario may name without a message of its own.
MESSAGES: Mapping[str, str] = {
    "InternalError": errors.InternalError.default_message,
    "InternalError.Algo": errors.ALGO_ERROR_MESSAGE,
    "InternalError.Timeout": errors.TIMEOUT_ERROR_MESSAGE,
    "DataInspectionFailed": "Output data may contain inappropriate content.",
    "InvalidParameter": errors.InvalidParameter.default_message,
    "Throttling": "Requests throttling triggered.",
    "Throttling.RateQuota": errors.RateQuotaExceeded.default_message,
    "Throttling.AllocationQuota": "Allocated quota exceeded, please increase your quota limit.",
    "SystemError": "An system error has occured, please try again later.",
    "ModelUnavailable": "Model is unavailable, please try again later.",
    "ModelServingError": (
        "Too many requests. Your requests are being throttled due to system capacity limits. "
        "Please try again later."
    ),
    "RequestTimeOut": "Request timed out, please try again later.",
    "Arrearage": "Access denied, please make sure your account is in good standing.",
    "AccessDenied": errors.AccessDenied.default_message,
}
#: Wording where an error answered at once (outcome `error`) differs from the same code ending a
#: task: content inspection at submit answers "Input data ..." [LIVE, wan family facts §5], while
#: inspection of the output fails the task with "Output data ..." [DOC S3].
ANSWER_MESSAGES: Mapping[str, str] = {
    "DataInspectionFailed": "Input data may contain inappropriate content.",
}
#: The HTTP status an injected error gets when the scenario names only its code.
STATUSES: Mapping[str, int] = {
    "InternalError": 500,
    "InternalError.Algo": 500,
    "InternalError.Timeout": 500,
    "SystemError": 500,
    "ModelUnavailable": 503,
    "ModelServingError": 503,
    "RequestTimeOut": 408,
    "DataInspectionFailed": 400,
    "InvalidParameter": 400,
    "Arrearage": 400,
    "AccessDenied": 403,
}


def rules_from_document(document: Mapping[str, Any]) -> list[Rule]:
    """Rules from a document already valid under schemas/scenario.json."""
    return [rule_from_mapping(raw, where=f"rules[{k}]") for k, raw in enumerate(document["rules"])]


def rule_from_mapping(raw: Mapping[str, Any], where: str = "rule") -> Rule:
    """One rule from its mapping form (valid under scenario.json#/$defs/rule)."""
    kind = raw["outcome"]
    params = {key: value for key, value in raw.items() if key not in _RULE_KEYS}
    outcome = Outcome(kind, _checked_params(kind, params, where))
    times, n = _lifetime(raw.get("times", "always"))
    return Rule(
        outcome=outcome,
        match=_match(raw.get("match", {}), where),
        times=times,
        n=n,
        probability=float(raw.get("probability", 1.0)),
    )


def parse_header(value: str) -> dict[str, Any]:
    """`failed; code=DataInspectionFailed` to its mapping form (numbers become numbers)."""
    kind, *pairs = [part.strip() for part in value.split(";")]
    if not kind:
        raise ScenarioError("the scenario names no outcome")
    mapping: dict[str, Any] = {"outcome": kind}
    for pair in pairs:
        if not pair:
            continue
        name, equals, text = pair.partition("=")
        if not equals or not name.strip():
            raise ScenarioError(f"`{pair}` is not of the form name=value")
        mapping[name.strip()] = _scalar(text.strip())
    if "items" in mapping and isinstance(mapping["items"], str | int):
        mapping["items"] = [int(item) for item in str(mapping["items"]).split(",") if item]
    return mapping


_RULE_KEYS = frozenset({"outcome", "match", "times", "probability"})


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _lifetime(times: Any) -> tuple[str, int]:
    if isinstance(times, str):
        return times, 1
    if "nth" in times:
        return "nth", int(times["nth"])
    return "first", int(times["first"])


def _match(raw: Mapping[str, Any], where: str) -> Match:
    operations = raw.get("operation", [])
    if isinstance(operations, str):
        operations = [operations]
    header = None
    if "header" in raw:
        header = (raw["header"]["name"].lower(), _pattern(raw["header"].get("value", ".*"), where))
    prompt = _pattern(raw["prompt"], where) if "prompt" in raw else None
    return Match(
        operations=frozenset(Operation(name) for name in operations),
        api_key=raw.get("api_key"),
        account=raw.get("account"),
        prompt=prompt,
        header=header,
    )


def _pattern(text: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as error:
        raise ScenarioError(f"{where}: `{text}` is not a valid pattern: {error}") from None


def _checked_params(kind: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """The parameters, with documented defaults filled in and cross-field rules checked."""
    if kind in ("failed", "partial", "error"):
        default_code = {"failed": "InternalError.Algo", "partial": "InternalError.Timeout"}
        code = params.setdefault("code", default_code.get(kind, "InternalError"))
        if "message" not in params:
            answered = ANSWER_MESSAGES.get(code) if kind == "error" else None
            params["message"] = answered or MESSAGES.get(code, f"The task failed with {code}.")
    if kind == "partial" and "items" not in params:
        params.setdefault("failed", 1)
    elif kind == "error":
        status = params.setdefault("status", STATUSES.get(params["code"], 500))
        if status < 400:
            raise ScenarioError(f"{where}: an injected error needs a status of 400 or more")
    elif kind == "polls" and params.get("done", 4) < params.get("running", 2):
        raise ScenarioError(f"{where}: `done` must not come before `running`")
    elif kind == "delay" and params.get("max", 0) < params.get("min", 0):
        raise ScenarioError(f"{where}: `max` must not be below `min`")
    return params


#: What may declare a scenario: a document, a list of rules (mappings or one-line strings).
Declaration = Mapping[str, Any] | Sequence[Mapping[str, Any] | str]


def as_document(declaration: Declaration, seed: int | None = None) -> dict[str, Any]:
    """The document form of a declaration; one-line rules are parsed."""
    if isinstance(declaration, Mapping):
        document = dict(declaration)
    else:
        rules = [
            parse_header(rule) if isinstance(rule, str) else dict(rule) for rule in declaration
        ]
        document = {"rules": rules}
    if seed is not None:
        document["seed"] = seed
    return document


def checked(document: Mapping[str, Any]) -> tuple[list[Rule], int | None]:
    """The rules and seed of a document, or a ScenarioError listing what is wrong."""
    problems = sorted(schemas.validator(SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    if problems:
        # Worded without jsonschema's Python reprs: this text reaches HTTP answers.
        raise ScenarioError(schemas.describe_each(problems, limit=5))
    return rules_from_document(document), document.get("seed")


def read_file(path: str | Path) -> dict[str, Any]:
    """A scenario document from a .json, .yaml or .yml file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(text)
        else:
            import yaml

            loaded = yaml.safe_load(text)
    except (ValueError, ImportError) as error:
        raise ScenarioError(f"{path} cannot be read: {error}") from None
    if isinstance(loaded, list):
        return as_document(loaded)
    if not isinstance(loaded, dict):
        raise ScenarioError(f"{path} holds no scenario (expected a mapping with `rules`)")
    return loaded


def _where(path: Sequence[object]) -> str:
    return ".".join(str(part) for part in path) or "scenario"
