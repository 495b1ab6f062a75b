"""What the contract tests share: the target, its image budget and pacing, the schemas.

Everything here goes through public interfaces only (HTTP, the reference client, the files in
schemas/), so each test means the same against the fake and against the live service. The one
thing that differs is time: on the fake it is a ManualClock that waiting advances, on the live
service it is the wall clock.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from schemathesis import BaseSchema

from contract_tests.options import current_options
from mockscope import ManualClock, MockServer
from wanx_client import Client

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
OPENAPI = SCHEMAS / "openapi.yaml"
API = "/api/v1"
CREATE_PATH = f"{API}/services/aigc/text2image/image-synthesis"
#: The only key the fake target accepts, so that schemathesis' invalid credentials are refused
#: there as they are live.
FAKE_KEY = "sk-contract"
#: Minimum gaps between requests on every target: 2 submissions and 20 other calls per second
#: are allowed per account (fact sheet §8, §9); keep well inside them.
CREATE_GAP = 0.6
OTHER_GAP = 0.06
#: A 429 is retried at most this often, after its Retry-After.
MAX_RETRIES = 3


class Budget:
    """Billable images this run may still create; None is no cap (the fake)."""

    def __init__(self, images: int | None) -> None:
        self.limit = images
        self.spent = 0
        self.refused = 0

    @property
    def left(self) -> int | None:
        return None if self.limit is None else self.limit - self.spent

    def take(self, images: int) -> bool:
        """Reserve `images` before a request that may bill them; False when they do not fit
        (and the request must then not be sent)."""
        if self.limit is not None and self.spent + images > self.limit:
            self.refused += 1
            return False
        self.spent += images
        return True


@dataclass
class Target:
    """The service under test: `url` is its root (the API lives under `url + "/api/v1"`)."""

    kind: str  # "fake" or "live"
    url: str
    api_key: str
    budget: Budget
    server: MockServer | None = None
    clock: ManualClock | None = None
    #: Live: the target's seconds per real second (above 1 only for a sped-up stand-in).
    time_scale: float = 1.0
    _last_any: float = field(default=float("-inf"))
    _last_create: float = field(default=float("-inf"))

    @property
    def live(self) -> bool:
        return self.kind == "live"

    @property
    def api_url(self) -> str:
        return self.url + API

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    # -- time ----------------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the target's clock (monotonic for live, the ManualClock for the fake)."""
        if self.clock is not None:
            return self.clock.now_ms() / 1000
        return time.monotonic() * self.time_scale

    def sleep(self, seconds: float) -> None:
        """Let time pass: really (live), or by advancing the fake's clock (no real wait)."""
        if seconds <= 0:
            return
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            time.sleep(seconds / self.time_scale)

    def pace(self, create: bool) -> None:
        """Wait until another request stays inside the documented rate limits."""
        ready = self._last_any + OTHER_GAP
        if create:
            ready = max(ready, self._last_create + CREATE_GAP)
        self.sleep(ready - self.now())
        self._last_any = self.now()
        if create:
            self._last_create = self._last_any

    # -- cost ----------------------------------------------------------------------------------

    def may_create(self) -> bool:
        """Whether a request that would create images may be sent. Live, each such request
        makes one image (see `images`) and must fit in the budget; the fake has no cap."""
        return True if not self.live else self.budget.take(1)

    def images(self, requested: int | None) -> int | None:
        """The `n` to send: live it is always 1 (what the budget counts), on the fake as asked."""
        return 1 if self.live else requested

    # -- clients -------------------------------------------------------------------------------

    @contextmanager
    def client(self, **options: Any) -> Iterator[Client]:
        """The reference client for this target; on the fake, its waits advance the clock (on
        a sped-up stand-in, they are as much shorter)."""
        kwargs: dict[str, Any] = {"api_key": self.api_key, "base_url": self.api_url}
        if self.clock is not None or self.time_scale != 1:
            kwargs.update(sleep=self.sleep, clock=self.now)
        kwargs.update(options)
        with Client(**kwargs) as client:
            yield client

    def reset(self) -> None:
        """A clean slate on the fake (nothing to do live)."""
        if self.server is not None:
            self.server.reset()
            self._last_any = self._last_create = float("-inf")


def skip_unless_fake(target: Target, why: str) -> None:
    if target.live:
        pytest.skip(f"fake only: {why}")


# -- schemas -----------------------------------------------------------------------------------

#: The checks every generated exchange goes through.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
#: Generated cases per operation and generation mode. The coverage phase adds its own cases on
#: top (each enum value, bound, missing and wrong-typed field, built while collecting), so this
#: only bounds the random fuzzing after it; generating bodies is most of this suite's time. 20,
#: as many as the README's schemathesis command draws over the served document.
MAX_EXAMPLES = 20
#: A regular expression: only the operations whose path it matches get tests, in each tag where
#: it matches one. For tests/contract_suite, whose runs against broken fakes select a few
#: operations: building the others' coverage cases while collecting would be most of such a run.
OPERATIONS_ENV = "MOCKSCOPE_CONTRACT_OPERATIONS"


@functools.cache
def openapi(tag: str = "dashscope") -> BaseSchema:
    """schemas/openapi.yaml for schemathesis, restricted to one tag's operations (the DashScope
    API's by default; `control` for the fake's own plane)."""
    config = schemathesis.Config.from_dict(
        {
            "seed": 20240301,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )
    loaded = schemathesis.openapi.from_path(OPENAPI, config=config)
    schema = loaded.include(tag=tag)
    if only := os.environ.get(OPERATIONS_ENV):
        # One include: each call adds operations to the selection (a second would not narrow
        # it). A tag none of whose operations match stays whole: a parametrized test without
        # operations is a collection error.
        narrowed = loaded.include(tag=tag, path_regex=only)
        if any(True for _ in narrowed.get_all_operations()):
            schema = narrowed

    # The key comes from the target in use, and goes only where schemathesis did not negate
    # it: a case generated without (or with a broken) Authorization is sent that way.
    @schema.auth(refresh_interval=None, retry_on=[])
    class TargetKey:
        def get(self, case: Any, context: Any) -> str:
            return api_key_in_use()

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


_active: list[Target] = []


def activate(target: Target) -> None:
    """Make `target` the one generated cases authenticate against (one per session)."""
    _active[:] = [target]


def api_key_in_use() -> str:
    """The key of the target in use; before the `target` fixture has run (schemathesis builds
    its explicit examples while collecting), the key that target will use."""
    if _active:
        return _active[0].api_key
    options = current_options()
    return options.api_key if options is not None and options.target == "live" else FAKE_KEY


def schema_registry() -> Registry[Any]:
    """Every schema file under its own name, as schemas/README.md describes."""
    return Registry().with_resources(
        (path.name, Resource.from_contents(json.loads(path.read_text(encoding="utf-8"))))
        for path in SCHEMAS.glob("*.json")
    )


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=schema_registry())


# -- waiting for a terminal status ---------------------------------------------------------------


def poll_until_terminal(
    read: Callable[[], Any], sleep: Callable[[float], None], deadline: float = 1800.0
) -> Iterator[Any]:
    """Yield every read of a task until one is terminal (the SDK's schedule: 1, 1, 2, 2, ...)."""
    from wanx_client import Backoff

    waited = 0.0
    delays = Backoff().delays()
    while True:
        task = read()
        yield task
        if task.is_terminal or waited > deadline:
            return
        delay = next(delays)
        sleep(delay)
        waited += delay
