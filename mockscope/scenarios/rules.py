"""Scenarios: declared outcomes for the paths the live API rarely shows.

A scenario is a list of rules. A rule matches calls (by operation, API key, account, prompt
pattern, header or model), lives for some of them (always, once, the nth, the first n), may
fire only with a probability drawn from the scenario's seed, and picks one outcome: what
happens to the task a create makes (a task outcome) or to the answer itself (a request
outcome). Everything here is data and matching; the backend applies task outcomes and the
HTTP layer applies request outcomes.

How rules are read from documents and one-line forms is `scenario_reading`'s business.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockscope.domain.operations import Operation

TASK_OUTCOMES = frozenset({"failed", "partial", "suspended", "never", "timing", "polls"})
REQUEST_OUTCOMES = frozenset({"error", "delay", "reset", "empty", "truncate", "lost"})


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
    #: The model a create asks for (its id, aliases resolved).
    model: str | None = None


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
    #: Model ids; a rule with models matches only creates for one of them.
    models: frozenset[str] = frozenset()

    def matches(self, call: Call) -> bool:
        if self.operations and call.operation not in self.operations:
            return False
        if self.api_key is not None and call.api_key != self.api_key:
            return False
        if self.account is not None and call.account != self.account:
            return False
        if self.prompt is not None and (call.prompt is None or not self.prompt.search(call.prompt)):
            return False
        if self.models and call.model not in self.models:
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
