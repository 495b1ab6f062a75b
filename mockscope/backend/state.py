"""What the simulated service holds, and the two rules that keep it consistent.

The API operations (`operations.py`) and the control operations (`control.py`) are two views
over one State; neither imports the other. What both need to keep the state consistent when a
task's plan moves (its queue is redrawn, its expiry follows) lives here, once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from mockscope.backend.catalogue import built_in
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import DAY_MS, Clock
from mockscope.domain.identity import Directory
from mockscope.domain.ids import IdSource
from mockscope.domain.images import ImageCache
from mockscope.domain.journal import Journal
from mockscope.domain.lifecycle import Timing
from mockscope.domain.models import ModelCatalogue, ModelSpec
from mockscope.domain.objects import ResultObjects
from mockscope.domain.ratelimit import Limits, RateLimiter
from mockscope.domain.store import TaskStore
from mockscope.domain.tasks import Task
from mockscope.domain.uploads import Uploads
from mockscope.scenarios.rules import Scenario, ScenarioRules


@dataclass(frozen=True)
class BackendConfig:
    """How the simulated service behaves. Every field has the live service's default."""

    #: The models served: a catalogue, the ids of built-in models to serve, or None for every
    #: model of the built-in catalogue; a request for any other gets 400 InvalidParameter
    #: "Model not exist.", as live.
    models: ModelCatalogue | tuple[str, ...] | None = None
    #: Accepted API keys; None accepts any non-empty key (keys in `accounts` always count).
    api_keys: frozenset[str] | None = None
    #: Keys and workspaces grouped into shared accounts; any other key is its own account.
    accounts: tuple[AccountSpec, ...] = ()
    #: One timing for every task; None (the default) gives each model its own, shaped like
    #: the live service (the catalogue's `timing`).
    timing: Timing | None = None
    limits: Limits = field(default_factory=Limits)
    #: How long a finished task stays readable (the live service keeps it 24 hours).
    retention_ms: int = DAY_MS
    #: Seeds task ids, unseeded image seeds and scenario draws; None for fresh randomness.
    seed: int | None = None
    #: How many requests the journal keeps (the oldest are dropped).
    journal_size: int = 10_000
    #: The scenario in force at start and after every full reset, already read and checked
    #: (`mockscope.scenarios.reading.checked`); its seed, if any, replaces `seed` for its draws.
    scenario: ScenarioRules | None = None

    def __post_init__(self) -> None:
        if self.api_keys is not None and not all(self.api_keys):
            raise ValueError("API keys must be non-empty strings")
        if self.retention_ms < 0:
            raise ValueError("retention_ms must not be negative")


class State:
    """Everything the service knows, driven by an injected clock."""

    def __init__(self, config: BackendConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.ids = IdSource(config.seed)
        self.directory = Directory(config.api_keys, config.accounts)
        self.models = _served(config.models)
        self.limiter = RateLimiter(config.limits, self._own_rate)
        self.store = TaskStore(config.retention_ms, self.slots)
        self.journal = Journal(config.journal_size)
        secret = _server_secret(config.seed)
        self.uploads = Uploads(secret=secret + b"/uploads")
        #: Names, signs and checks result URLs (the same ones for a seed, run after run).
        self.objects = ResultObjects(
            secret + b"/results", _oss_access_key_id(secret), config.retention_ms
        )
        #: One Scenario for the service's whole life: installing rules replaces its contents.
        self.scenario = Scenario(*self._seeded(config.scenario or ScenarioRules()))
        self.images = ImageCache()
        #: Called whenever plans move by other means than time (cancel, finish, new limits,
        #: reset): held synchronous answers look again at when their task ends.
        self.watchers: set[Callable[[], None]] = set()

    def timing(self, spec: ModelSpec) -> Timing:
        """The model's own timing, unless one timing was configured for every task."""
        return self.config.timing if self.config.timing is not None else spec.timing

    def slots(self, model: str) -> int:
        """Tasks in progress at once for a model (its lane), under the limits in force."""
        spec = self.models.get(model)
        own = spec.limits.tasks_in_progress if spec is not None else 1
        return self.limiter.limits.slots(model, own)

    def notify(self) -> None:
        for watcher in list(self.watchers):
            watcher()

    def _own_rate(self, model: str) -> int | None:
        spec = self.models.get(model)
        return spec.limits.submit_qps if spec is not None else None

    def restore_scenario(self) -> None:
        """Install the scenario the service was configured with (none if it had none)."""
        self.install_scenario(self.config.scenario or ScenarioRules())

    def install_scenario(self, declared: ScenarioRules) -> None:
        self.scenario.install(*self._seeded(declared))

    def _seeded(self, declared: ScenarioRules) -> ScenarioRules:
        """The rules with the seed of their draws: their own, or else the service's."""
        return declared if declared.seed is not None else declared._replace(seed=self.config.seed)

    def live_task(self, task_id: str, now_ms: int) -> Task | None:
        """A stored task that has not expired, of any account."""
        store = self.store
        task = store.get(task_id)
        if task is not None and task.plan.waiting:
            store.catch_up(task, now_ms)
        if task is None or store.is_expired(task, now_ms):
            return None
        return task

    def replan(self, account_name: str, now_ms: int) -> None:
        """Redraw the plans of an account's waiting tasks (the concurrency changed)."""
        self.store.replan(account_name, now_ms)

    def moved(self, task: Task, now_ms: int) -> None:
        """A task's plan was moved by hand: its queue and its expiry follow."""
        self.store.rescheduled(task)
        self.store.replan(task.account, now_ms, moved=task)
        self.notify()


def _served(models: ModelCatalogue | tuple[str, ...] | None) -> ModelCatalogue:
    if models is None:
        return built_in()
    if isinstance(models, ModelCatalogue):
        return models
    return built_in().serving(models)


def _server_secret(seed: int | None) -> bytes:
    """What a server signs with: from the seed (the same URLs run after run), else random."""
    if seed is None:
        return secrets.token_bytes(32)
    return hashlib.sha256(f"mockscope/secret/{seed}".encode()).digest()


def _oss_access_key_id(secret: bytes) -> str:
    """An id shaped like a live OSSAccessKeyId (LTAI5t + 18 characters) that says it is the
    fake's: the signed result URLs carry it."""
    tail = hashlib.sha256(secret + b"/access-key-id").hexdigest()[:9]
    return f"LTAI5tMockscope{tail}"
