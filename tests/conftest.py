"""Shared fixtures: a fake on a manual clock whose every response is checked against schemas/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockscope import ManualClock, MockServer
from tests.support import assert_schema_conformance


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(clock: ManualClock) -> Iterator[MockServer]:
    with MockServer(clock=clock, seed=7, validate_responses=True) as running:
        yield running
        assert_schema_conformance(running)


@pytest.fixture
def api(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
