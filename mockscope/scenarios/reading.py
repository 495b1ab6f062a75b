"""Reading scenarios as people write them, by one pipeline: documents shaped as
schemas/scenario.json describes (from Python, the control plane or a YAML/JSON file), lists of
rules (mappings or one-line strings), and the one-line form a request header carries
(`failed; code=DataInspectionFailed`).

Every declaration is put in document form, checked against schemas/scenario.json, then read into
rules with the documented defaults filled in and what the schema cannot say checked too. Whatever
is wrong is reported in one ScenarioError, each problem as `where: what` (`where` a dotted path
such as `rules.1.code`, or `rule.code` for a rule on its own), and nothing is installed from a
declaration that has a fault. The rules leave here ready for the backend: nothing below reads
declarations.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mockscope import schemas
from mockscope.domain import errors
from mockscope.domain.operations import Operation
from mockscope.scenarios.rules import (
    DeclaredOutcome,
    Lifetime,
    Match,
    OutcomeKind,
    Rule,
    ScenarioError,
    ScenarioRules,
)

SCHEMA = "scenario.json"
RULE_SCHEMA = "scenario.json#/$defs/rule"
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
#: What may declare a scenario: a document, a list of rules (mappings or one-line strings).
Declaration = Mapping[str, Any] | Sequence[Mapping[str, Any] | str]
#: Problems reported at most, so one broken file does not bury the first mistake.
_SHOWN = 5


def checked(declaration: Declaration, seed: int | None = None) -> ScenarioRules:
    """The rules (and seed) a declaration makes, or a ScenarioError listing what is wrong.

    `seed`, when given, replaces the declaration's own.
    """
    document = as_document(declaration, seed)
    _check(document, SCHEMA, "")
    raws = document["rules"]
    rules = tuple(_rule(raw, f"rules.{k}") for k, raw in enumerate(raws))
    seed = document.get("seed")
    # JSON Schema calls 7.0 an integer; the seeded draws want a real int.
    return ScenarioRules(rules, None if seed is None else int(seed))


def checked_rule(rule: Mapping[str, Any] | str) -> Rule:
    """One rule on its own (a request's own header, a rule added to those in force)."""
    raw = _raw_rule(rule, "rule")
    _check(raw, RULE_SCHEMA, "rule")
    assert isinstance(raw, dict)
    return _rule(raw, "rule")


def as_document(declaration: Declaration, seed: int | None = None) -> dict[str, Any]:
    """The document form of a declaration; one-line rules are parsed."""
    if isinstance(declaration, Mapping):
        document = dict(declaration)
    else:
        document = {"rules": [_raw_rule(raw, f"rules.{k}") for k, raw in enumerate(declaration)]}
    if seed is not None:
        document["seed"] = seed
    return document


def parse_line(line: str, where: str = "rule") -> dict[str, Any]:
    """`failed; code=DataInspectionFailed` to its mapping form (numbers become numbers)."""
    kind, *pairs = [part.strip() for part in line.split(";")]
    if not kind:
        raise ScenarioError(f"{where}: the scenario names no outcome")
    mapping: dict[str, Any] = {"outcome": kind}
    for pair in pairs:
        if not pair:
            continue
        name, equals, text = pair.partition("=")
        if not equals or not name.strip():
            raise ScenarioError(f"{where}: `{pair}` is not of the form name=value")
        mapping[name.strip()] = _scalar(text.strip())
    if "items" in mapping and isinstance(mapping["items"], str | int):
        mapping["items"] = [int(item) for item in str(mapping["items"]).split(",") if item]
    return mapping


def read_file(path: str | Path) -> dict[str, Any]:
    """A scenario document from a .json, .yaml or .yml file (checked by `checked`)."""
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


# -- the steps ---------------------------------------------------------------------------------


def _raw_rule(rule: object, where: str) -> object:
    """A rule in mapping form: one-line strings parsed, anything else left for the schema."""
    if isinstance(rule, str):
        return parse_line(rule, where)
    return dict(rule) if isinstance(rule, Mapping) else rule


def _check(instance: object, schema_ref: str, where: str) -> None:
    """Raise one ScenarioError naming every way `instance` breaks the schema (the first few)."""
    problems = sorted(
        schemas.validator(schema_ref).iter_errors(instance), key=lambda e: list(map(str, e.path))
    )
    if problems:
        # Worded without jsonschema's Python reprs: this text reaches HTTP answers.
        raise ScenarioError(schemas.describe_each(problems, limit=_SHOWN, base=where))


def _where(prefix: str, path: Sequence[object]) -> str:
    return ".".join([prefix, *map(str, path)] if prefix else map(str, path)) or "scenario"


def _rule(raw: Mapping[str, Any], where: str) -> Rule:
    """One rule from its mapping form, already valid under the rule schema."""
    for name, value in raw.items():
        # NaN passes every bound of a JSON Schema (no comparison holds), so it is refused here.
        if isinstance(value, float) and not math.isfinite(value):
            raise ScenarioError(f"{where}.{name}: {value} is not a finite number")
    kind = OutcomeKind(raw["outcome"])
    params = {key: value for key, value in raw.items() if key not in _RULE_KEYS}
    times, n = _lifetime(raw.get("times", "always"))
    return Rule(
        outcome=DeclaredOutcome(kind, _checked_params(kind, params, where)),
        match=_match(raw.get("match", {}), where),
        times=times,
        n=n,
        probability=float(raw.get("probability", 1.0)),
    )


_RULE_KEYS = frozenset({"outcome", "match", "times", "probability"})


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        # `nan`, `inf` stay words (the schema then says a number is wanted).
        return number if math.isfinite(number) else text
    return text


def _lifetime(times: Any) -> tuple[Lifetime, int]:
    if isinstance(times, str):
        return Lifetime(times), 1
    if "nth" in times:
        return Lifetime.NTH, int(times["nth"])
    return Lifetime.FIRST, int(times["first"])


def _match(raw: Mapping[str, Any], where: str) -> Match:
    operations = raw.get("operation", [])
    if isinstance(operations, str):
        operations = [operations]
    header = None
    if "header" in raw:
        value = _pattern(raw["header"].get("value", ".*"), f"{where}.match.header.value")
        header = (raw["header"]["name"].lower(), value)
    prompt = _pattern(raw["prompt"], f"{where}.match.prompt") if "prompt" in raw else None
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


def _checked_params(kind: OutcomeKind, params: dict[str, Any], where: str) -> dict[str, Any]:
    """The parameters, with documented defaults filled in and cross-field rules checked.

    An injected error keeps the `status` it names; without one, the HTTP layer answers with
    the status its code travels with.
    """
    if kind in (OutcomeKind.FAILED, OutcomeKind.PARTIAL, OutcomeKind.ERROR):
        code = params.setdefault("code", _DEFAULT_CODES[kind])
        if "message" not in params:
            answered = ANSWER_MESSAGES.get(code) if kind is OutcomeKind.ERROR else None
            params["message"] = answered or MESSAGES.get(code, f"The task failed with {code}.")
    if kind is OutcomeKind.PARTIAL and "items" not in params:
        params.setdefault("failed", 1)
    elif kind is OutcomeKind.POLLS and params.get("done", 4) < params.get("running", 2):
        raise ScenarioError(f"{where}: `done` must not come before `running`")
    elif kind is OutcomeKind.DELAY and params.get("max", 0) < params.get("min", 0):
        raise ScenarioError(f"{where}: `max` must not be below `min`")
    return params


_DEFAULT_CODES = {
    OutcomeKind.FAILED: "InternalError.Algo",
    OutcomeKind.PARTIAL: "InternalError.Timeout",
    OutcomeKind.ERROR: "InternalError",
}
