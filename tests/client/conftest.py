"""Fixtures for the reference client: a Client on the fake, its time driven by the fake's clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockscope import ManualClock, MockServer
from tests.support import API_KEY, VirtualTime
from wanx_client import Client


@pytest.fixture
def vtime(clock: ManualClock) -> VirtualTime:
    """The client's sleep and clock: sleeping advances the fake's manual clock."""
    return VirtualTime(clock)


@pytest.fixture
def client(server: MockServer, vtime: VirtualTime) -> Iterator[Client]:
    with Client(
        api_key=API_KEY,
        base_url=server.base_http_api_url,
        sleep=vtime.sleep,
        clock=vtime.time,
    ) as wanx:
        yield wanx
