"""The official dashscope SDK bound to a MockServer, with its polling sleeps on the fake's clock.

`bind_dashscope(server)` points the SDK at the fake for a `with` block and puts everything back
afterwards: `dashscope.base_http_api_url` (read on every call), `DASHSCOPE_HTTP_BASE_URL` (read
when dashscope is imported, e.g. in a child process) and an API key the fake accepts. With
virtual sleeps (the default) the SDK's polling loops (`ImageSynthesis.wait`/`call`,
`AioImageSynthesis`, and the v2 client's `jobs.wait`) advance the fake's clock instead of
sleeping, and read the time from it, so `wait_timeout` is measured on the simulated clock too.

The pytest plugin's `mockscope_dashscope` fixture is this binding; use it directly elsewhere:

    with MockServer(time="jump") as server, bind_dashscope(server) as sdk:
        ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from mockscope.domain.clock import Clock
from mockscope.options import SDK_SLEEPS, SdkSleep
from mockscope.server import MockServer

__all__ = ["DEFAULT_API_KEY", "SDK_SLEEPS", "DashScopeBinding", "SdkSleep", "bind_dashscope"]

#: The key the SDK gets when it has none (or one the fake refuses) and the fake accepts any key.
DEFAULT_API_KEY = "sk-mockscope"
_ABSENT = object()


@dataclass
class DashScopeBinding:
    """What `bind_dashscope` set up: the SDK talks to `server` with `api_key`.

    With virtual sleeps (`sdk_sleep == "virtual"`) every sleep of the SDK's polling loops
    advances the fake's clock instead of waiting, and is recorded in `slept`.
    """

    server: MockServer
    api_key: str
    sdk_sleep: SdkSleep
    slept: list[float] = field(default_factory=list)

    @property
    def base_http_api_url(self) -> str:
        return self.server.base_http_api_url


class _VirtualTime:
    """Stands in for the `time` module inside the SDK's polling loops."""

    def __init__(self, clock: Clock, slept: list[float]) -> None:
        self._clock = clock
        self._slept = slept

    def time(self) -> float:
        return self._clock.now_ms() / 1000

    monotonic = time

    def sleep(self, seconds: float) -> None:
        self._slept.append(seconds)
        self._clock.advance(seconds)


class _VirtualAsyncio:
    """Stands in for `asyncio` inside the SDK's async polling loops: sleeps advance the clock."""

    def __init__(self, clock: Clock, slept: list[float]) -> None:
        self._clock = clock
        self._slept = slept

    async def sleep(self, seconds: float, result: Any = None) -> Any:
        self._slept.append(seconds)
        self._clock.advance(seconds)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def accepted_key(server: MockServer, wanted: str = "") -> str:
    """`wanted` if the fake accepts it, else a key it accepts."""
    config = server.backend.config
    account_keys = [key for account in config.accounts for key in account.api_keys]
    if wanted and (config.api_keys is None or wanted in config.api_keys or wanted in account_keys):
        return wanted
    if config.api_keys:
        return sorted(config.api_keys)[0]
    return account_keys[0] if account_keys else DEFAULT_API_KEY


@contextmanager
def bind_dashscope(
    server: MockServer, *, api_key: str | None = None, sdk_sleep: SdkSleep = "virtual"
) -> Iterator[DashScopeBinding]:
    """Point the dashscope SDK at `server` for the block; restore it all afterwards.

    `api_key`: the key the SDK sends; by default the one it already has (`dashscope.api_key`
    or `DASHSCOPE_API_KEY`) if the fake accepts it, else one the fake accepts. `sdk_sleep`:
    "virtual" moves the SDK's polling sleeps onto the fake's clock, "real" leaves them alone.
    Raises ImportError when dashscope cannot be imported.
    """
    if sdk_sleep not in SDK_SLEEPS:
        raise ValueError(f"sdk_sleep must be one of {SDK_SLEEPS}, got {sdk_sleep!r}")
    import dashscope
    from dashscope.client import base_api

    url = server.base_http_api_url
    had = dashscope.api_key or os.environ.get("DASHSCOPE_API_KEY") or ""
    binding = DashScopeBinding(server, api_key or accepted_key(server, had), sdk_sleep)
    with ExitStack() as restore:
        _setenv(restore, "DASHSCOPE_HTTP_BASE_URL", url)
        _setattr(restore, dashscope, "base_http_api_url", url)
        if binding.api_key != had:
            _setenv(restore, "DASHSCOPE_API_KEY", binding.api_key)
        _setattr(restore, dashscope, "api_key", binding.api_key)
        if sdk_sleep == "virtual":
            virtual_time = _VirtualTime(server.clock, binding.slept)
            virtual_asyncio = _VirtualAsyncio(server.clock, binding.slept)
            for module in (base_api, _v2_jobs()):
                if module is not None:
                    _setattr(restore, module, "time", virtual_time)
                    _setattr(restore, module, "asyncio", virtual_asyncio)
        yield binding


def _v2_jobs() -> Any:
    """The v2 client's polling module, where there is one (dashscope >= 2)."""
    try:
        from dashscope.v2.resources import _jobs
    except ImportError:
        return None
    return _jobs


def _setattr(restore: ExitStack, target: object, name: str, value: object) -> None:
    old = getattr(target, name, _ABSENT)
    setattr(target, name, value)
    if old is _ABSENT:
        restore.callback(delattr, target, name)
    else:
        restore.callback(setattr, target, name, old)


def _setenv(restore: ExitStack, name: str, value: str) -> None:
    old = os.environ.get(name)
    os.environ[name] = value
    if old is None:
        restore.callback(os.environ.pop, name, None)
    else:
        restore.callback(os.environ.__setitem__, name, old)
