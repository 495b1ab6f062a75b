"""The target of the contract suite: an in-process fake (default) or the live service.

The options come from contract_tests/options.py (loaded with `-p contract_tests.options`).
Live, nothing is sent unless DASHSCOPE_API_KEY is set and the run opted in: without either,
every test that needs the target skips with the reason.

The fake runs as live does: the live rate limits and timing, and only one API key accepted (so
invalid credentials are refused as they are live), on a ManualClock that the tests' waits
advance. Every answer it gives is also checked against schemas/ on the server's side.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator

import hypothesis
import pytest

from contract_tests.options import BUDGET_KEY, OPTIONS_KEY
from contract_tests.support import FAKE_KEY, Budget, Target, activate
from mockscope import ManualClock, MockServer
from mockscope.drift import api_root

#: For runs that only need to know whether something fails (tests/contract_suite proving the
#: suite can fail): no shrinking, and nothing written to the example database.
hypothesis.settings.register_profile(
    "contract-fail-fast",
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    database=None,
)

#: "module:callable" building the fake target's server instead of the default. For
#: tests/contract_suite, which proves with a deliberately broken fake that the suite can fail.
FAKE_FACTORY_ENV = "MOCKSCOPE_CONTRACT_FAKE"


def default_fake(clock: ManualClock) -> MockServer:
    return MockServer(clock=clock, api_keys={FAKE_KEY}, seed=11, validate_responses=True)


def _fake_factory() -> Callable[[ManualClock], MockServer]:
    spec = os.environ.get(FAKE_FACTORY_ENV)
    if not spec:
        return default_fake
    module, _, name = spec.partition(":")
    factory: Callable[[ManualClock], MockServer] = getattr(importlib.import_module(module), name)
    return factory


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    options = request.config.stash[OPTIONS_KEY]
    if options.target == "live":
        refusal = options.live_refusal
        if refusal:
            pytest.skip(refusal)
        budget = Budget(options.budget_images)
        request.config.stash[BUDGET_KEY] = budget
        url = api_root(options.base_url)
        live = Target("live", url, options.api_key, budget, time_scale=options.time_scale)
        activate(live)
        yield live
        return
    clock = ManualClock()
    with _fake_factory()(clock) as server:
        fake = Target("fake", server.url, FAKE_KEY, Budget(None), server, clock)
        activate(fake)
        yield fake
        violations = server.schema_violations
    assert not violations, "the fake broke schemas/:\n" + "\n".join(map(str, violations[:10]))


@pytest.fixture
def fresh_target(target: Target) -> Target:
    """The target with a clean slate on the fake (a reset), untouched live."""
    target.reset()
    return target
