"""Scenarios: declared outcomes for the paths the live API rarely shows.

A scenario is a list of rules. A rule matches calls (by operation, API key, account, prompt
pattern or header), lives for some of them (always, once, the nth, the first n), may fire only
with a probability drawn from the scenario's seed, and picks one outcome: what happens to the
task a create makes (a task outcome) or to the answer itself (a request outcome). Everything
here is data and matching; the backend applies task outcomes and the HTTP layer applies
request outcomes.

Rules come from documents (a file, the control plane, Python dicts) shaped as
`schemas/scenario.json` describes, or from the one-line form a request header carries:
`failed; code=DataInspectionFailed`. Either way a malformed scenario raises ScenarioError
saying what is wrong, before anything is installed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockscope.domain import errors
from mockscope.domain.operations import Operation

TASK_OUTCOMES = frozenset({"failed", "partial", "suspended", "never", "timing", "polls"})
REQUEST_OUTCOMES = frozenset({"error", "delay", "reset", "empty", "truncate", "lost"})

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


class ScenarioError(ValueError):
    """A scenario that cannot be installed; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Call:
    """What a rule may look at in one request."""

    operation: Operation
    api_key: str | None = None
    account: str | None = None
    prompt: str | None = None
    #: Request headers; names in lower case.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One outcome: its kind (e.g. `failed`) and its parameters."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def for_task(self) -> bool:
        return self.kind in TASK_OUTCOMES

    def describe(self) -> str:
        """The one-line form, e.g. `failed; code=DataInspectionFailed` (messages left out)."""
        details = "; ".join(
            f"{name}={value}" for name, value in sorted(self.params.items()) if name != "message"
        )
        return f"{self.kind}; {details}" if details else self.kind


@dataclass(frozen=True, slots=True)
class Match:
    """Which calls a rule is about; an empty match is about every call."""

    operations: frozenset[Operation] = frozenset()
    api_key: str | None = None
    account: str | None = None
    prompt: re.Pattern[str] | None = None
    header: tuple[str, re.Pattern[str]] | None = None

    def matches(self, call: Call) -> bool:
        if self.operations and call.operation not in self.operations:
            return False
        if self.api_key is not None and call.api_key != self.api_key:
            return False
        if self.account is not None and call.account != self.account:
            return False
        if self.prompt is not None and (call.prompt is None or not self.prompt.search(call.prompt)):
            return False
        if self.header is not None:
            name, pattern = self.header
            value = call.headers.get(name)
            if value is None or not pattern.fullmatch(value):
                return False
        return True


@dataclass(slots=True)
class Rule:
    """A match, a lifetime over the matching calls, a probability, and an outcome."""

    outcome: Outcome
    match: Match = field(default_factory=Match)
    #: "always", "once", "nth" (only the nth matching call) or "first" (the first n).
    times: str = "always"
    n: int = 1
    probability: float = 1.0
    calls: int = 0
    fired: int = 0

    def applies(self, call: Call, rng: random.Random) -> bool:
        """Count the call if it matches; True when the rule fires for it."""
        if not self.match.matches(call):
            return False
        self.calls += 1
        if self.times == "once":
            alive = self.fired == 0
        elif self.times == "nth":
            alive = self.calls == self.n
        elif self.times == "first":
            alive = self.calls <= self.n
        else:
            alive = True
        if not alive:
            return False
        # A rule with a probability below 1 always draws, so the sequence of draws (and so
        # of outcomes) depends only on the seed and the calls, not on earlier outcomes.
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcomes that apply to one call: at most one for the answer, one for the task."""

    request: Outcome | None = None
    task: Outcome | None = None

    def describe(self) -> str:
        return ", ".join(o.describe() for o in (self.request, self.task) if o is not None)


NOTHING = Resolution()


class Scenario:
    """The installed rules, in order, with the seeded source of their probabilities."""

    def __init__(self, rules: Sequence[Rule] = (), seed: int | None = None) -> None:
        self.rules = list(rules)
        self.seed = seed
        self._rng = random.Random(seed)

    def resolve(self, call: Call, extra: Sequence[Rule] = ()) -> Resolution:
        """The first firing request outcome and the first firing task outcome for a call.

        `extra` rules (from a request's own header) come first and only see this call.
        """
        if not self.rules and not extra:
            return NOTHING
        request: Outcome | None = None
        task: Outcome | None = None
        for rule in [*extra, *self.rules]:
            wanted = rule.outcome.for_task and task is None
            wanted = wanted or (not rule.outcome.for_task and request is None)
            if not wanted or not rule.applies(call, self._rng):
                continue
            if rule.outcome.for_task:
                task = rule.outcome
            else:
                request = rule.outcome
        return Resolution(request, task) if request or task else NOTHING

    def uniform(self, low: float, high: float) -> float:
        """A seeded draw, for outcomes with a spread (a delay between min and max)."""
        return self._rng.uniform(low, high)

    def restart(self) -> None:
        """Replay the draws from the seed and forget every call count."""
        self._rng = random.Random(self.seed)
        for rule in self.rules:
            rule.calls = rule.fired = 0


# -- reading scenarios ---------------------------------------------------------------------


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
            params["message"] = MESSAGES.get(code, f"The task failed with {code}.")
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
