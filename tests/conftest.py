"""Shared fixtures: a fake on a manual clock whose every response is checked against schemas/."""

from __future__ import annotations

from collections.abc import Iterator

import dashscope
import httpx
import pytest
import requests
from dashscope.client import base_api

from mockscope import ManualClock, MockServer
from tests.support import API_KEY, VirtualTime, assert_schema_conformance


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
def sdk(server: MockServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    """The SDK pointed at the fake, its polling sleeps moved onto the fake's clock."""
    monkeypatch.setattr(dashscope, "base_http_api_url", server.base_http_api_url)
    monkeypatch.setattr(dashscope, "api_key", API_KEY)
    virtual_time = VirtualTime(clock)
    monkeypatch.setattr(base_api, "time", virtual_time)
    return virtual_time


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
