"""Scenarios: declared outcomes for the paths the live API rarely shows.

A scenario is a list of rules. A rule matches calls (by operation, API key, account, prompt
pattern, header or model), lives for some of them (always, once, the nth, the first n), may
fire only with a probability drawn from the scenario's seed, and declares one outcome: what
happens to the task a create makes (a task outcome) or to the answer itself (a request outcome).
Everything here is data, matching and counting; the backend resolves and applies task
outcomes, the HTTP layer resolves and applies request outcomes.

How rules are read from documents, one-line forms and files is `reading`'s business.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from mockscope.domain.operations import Operation


class OutcomeKind(StrEnum):
    """What a rule declares: a task outcome (the first six) or a request outcome."""

    FAILED = "failed"
    PARTIAL = "partial"
    SUSPENDED = "suspended"
    NEVER = "never"
    TIMING = "timing"
    POLLS = "polls"
    ERROR = "error"
    DELAY = "delay"
    RESET = "reset"
    EMPTY = "empty"
    TRUNCATE = "truncate"
    LOST = "lost"

    @property
    def for_task(self) -> bool:
        """True for outcomes that shape the task a create makes, not the answer."""
        return self in TASK_OUTCOMES


TASK_OUTCOMES = frozenset(
    {
        OutcomeKind.FAILED,
        OutcomeKind.PARTIAL,
        OutcomeKind.SUSPENDED,
        OutcomeKind.NEVER,
        OutcomeKind.TIMING,
        OutcomeKind.POLLS,
    }
)


class Lifetime(StrEnum):
    """Which of the calls a rule matches it may fire for."""

    ALWAYS = "always"
    ONCE = "once"  # until it has fired once
    NTH = "nth"  # only the nth matching call
    FIRST = "first"  # the first n matching calls


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
class DeclaredOutcome:
    """The outcome a rule declares: its kind (e.g. `failed`) and its parameters."""

    kind: OutcomeKind
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def for_task(self) -> bool:
        return self.kind.for_task

    def describe(self) -> str:
        """The one-line form, e.g. `failed; code=DataInspectionFailed` (messages left out)."""
        details = "; ".join(
            f"{name}={value}" for name, value in sorted(self.params.items()) if name != "message"
        )
        return f"{self.kind}; {details}" if details else str(self.kind)


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


@dataclass(frozen=True, slots=True)
class Rule:
    """A match, a lifetime over the matching calls, a probability, and a declared outcome.

    A rule is a value: the counts of the calls it saw belong to the scenario it is installed in.
    """

    outcome: DeclaredOutcome
    match: Match = field(default_factory=Match)
    times: Lifetime = Lifetime.ALWAYS
    #: The n of `nth` and `first`.
    n: int = 1
    probability: float = 1.0

    def alive(self, calls: int, fired: int) -> bool:
        """Whether the rule may fire for its `calls`-th matching call, after firing `fired`."""
        times = self.times
        if times is Lifetime.ONCE:
            return fired == 0
        if times is Lifetime.NTH:
            return calls == self.n
        if times is Lifetime.FIRST:
            return calls <= self.n
        return True


@dataclass(slots=True)
class InstalledRule:
    """A rule in force: how many calls it matched and how many it fired for."""

    rule: Rule
    calls: int = 0
    fired: int = 0

    def applies(self, call: Call, rng: random.Random) -> bool:
        """Count the call if it matches; True when the rule fires for it."""
        rule = self.rule
        if not rule.match.matches(call):
            return False
        self.calls += 1
        if not rule.alive(self.calls, self.fired):
            return False
        # A rule with a probability below 1 always draws, so the sequence of draws (and so
        # of outcomes) depends only on the seed and the calls, not on earlier outcomes.
        if rule.probability < 1.0 and rng.random() >= rule.probability:
            return False
        self.fired += 1
        return True


class ScenarioRules(NamedTuple):
    """Checked rules and the seed of their draws (None: the service's own seed)."""

    rules: tuple[Rule, ...] = ()
    seed: int | None = None


class Scenario:
    """The rules in force, in order, with the seeded source of their probabilities.

    One Scenario lives as long as its service; installing rules replaces what it holds.
    Request outcomes and task outcomes are resolved apart (by the HTTP layer and by the
    backend), each by the first firing rule of its kind.
    """

    def __init__(self, rules: Sequence[Rule] = (), seed: int | None = None) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self.installed: list[InstalledRule] = []
        #: The installed rules by kind, in order (read on every call: an empty list is the
        #: fast way to say "nothing declared").
        self.request_rules: list[InstalledRule] = []
        self.task_rules: list[InstalledRule] = []
        for rule in rules:
            self.add(rule)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(installed.rule for installed in self.installed)

    def install(self, rules: Sequence[Rule], seed: int | None) -> None:
        """Replace every rule, and restart the draws from `seed`."""
        self.seed = seed
        self._rng = random.Random(seed)
        self.installed, self.request_rules, self.task_rules = [], [], []
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> None:
        """Install one more rule after those in force."""
        installed = InstalledRule(rule)
        self.installed.append(installed)
        (self.task_rules if rule.outcome.for_task else self.request_rules).append(installed)

    def remove(self, position: int) -> Rule:
        """Take out the rule at `position` (from 0, in the order installed); the others keep
        their counts. IndexError when there is none there."""
        installed = self.installed.pop(position)
        kind = self.task_rules if installed.rule.outcome.for_task else self.request_rules
        # By identity: two equal rules with equal counts are still two rules.
        kind[:] = [other for other in kind if other is not installed]
        return installed.rule

    def request_outcome(self, call: Call, own: Rule | None = None) -> DeclaredOutcome | None:
        """The outcome of the first request-outcome rule that fires for the call.

        `own` is a rule the request declared for itself: it comes first and sees only this call.
        """
        if own is not None and own.outcome.for_task:
            own = None
        return self._first(self.request_rules, call, own)

    def task_outcome(self, call: Call, own: Rule | None = None) -> DeclaredOutcome | None:
        """The outcome of the first task-outcome rule that fires for a create making a task."""
        if own is not None and not own.outcome.for_task:
            own = None
        return self._first(self.task_rules, call, own)

    def uniform(self, low: float, high: float) -> float:
        """A seeded draw, for outcomes with a spread (a delay between min and max)."""
        return self._rng.uniform(low, high)

    def restart(self) -> None:
        """Replay the draws from the seed and forget every call count."""
        self._rng = random.Random(self.seed)
        for installed in self.installed:
            installed.calls = installed.fired = 0

    def _first(
        self, installed: list[InstalledRule], call: Call, own: Rule | None
    ) -> DeclaredOutcome | None:
        if own is not None and InstalledRule(own).applies(call, self._rng):
            return own.outcome
        for candidate in installed:
            if candidate.applies(call, self._rng):
                return candidate.rule.outcome
        return None
