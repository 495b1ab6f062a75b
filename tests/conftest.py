"""Shared fixtures: a fake on a manual clock whose every response is checked against schemas/."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import httpx
import pytest
import requests
from httpx._transports import default as httpx_transports

from mockscope import ManualClock, MockServer
from mockscope.sdk import DashScopeBinding, bind_dashscope
from tests.support import API_KEY, assert_schema_conformance


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked start_first go first (in their order): under pytest-xdist's worksteal the
    first worker starts with them, instead of one of them ending the run alone."""
    items.sort(key=lambda item: item.get_closest_marker("start_first") is None)


@pytest.fixture(scope="session", autouse=True)
def _one_tls_context_per_process() -> Iterator[None]:
    """httpx clients built here (by the tests, wanx_client and the helpers) share their TLS
    context. Each would otherwise load the CA bundle, 30-70 ms of CPU, about 900 times a run, to
    talk plain HTTP to a fake on 127.0.0.1; the shared context is built as each would be."""
    with pytest.MonkeyPatch.context() as patch:
        shared = functools.cache(httpx_transports.create_ssl_context)
        patch.setattr(httpx_transports, "create_ssl_context", shared)
        yield


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


@pytest.fixture
def sdk(server: MockServer) -> Iterator[DashScopeBinding]:
    """The SDK pointed at the fake, its polling sleeps (sync, aio, v2) moved onto its clock."""
    with bind_dashscope(server, api_key=API_KEY) as binding:
        yield binding


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
