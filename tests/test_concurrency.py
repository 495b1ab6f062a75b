"""Rate limits under real concurrency: real sockets, many submitters at once, on a manual clock.

The limiter decides from the fake's clock alone, so the clock here is a ManualClock driven by a
virtual timeline: time stands still while any submitter has a request in flight (so each burst
really is many requests at one instant, interleaved by the server as it pleases), and once
every submitter is waiting out a Retry-After, the clock jumps to the earliest wake-up. No test
waits in real time, and the boundaries are hit exactly: a retry arrives precisely when its
Retry-After says, and arrivals are staggered so that they do not line up with whole seconds.
What is checked is the server's own record of accepted submissions. The submitters pace
themselves by Retry-After, which the fake sends only when asked to (`Limits(retry_after=True)`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable
from typing import TypeVar

import aiohttp

from mockscope import Limits, ManualClock, MockServer
from tests.support import CREATE_PATH, assert_schema_conformance, headers_for

BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}
#: Submitter k starts k × this many milliseconds after the first (a prime: off the second).
STAGGER_MS = 37
#: Real seconds after which a run that should take about one has hung.
HANG_S = 60
T = TypeVar("T")


class Timeline:
    """Virtual time for concurrent coroutines on a ManualClock.

    Every participant is either running (its request may be in flight) or asleep until a time
    on the clock. When the last running one falls asleep (or finishes), the clock moves to the
    earliest wake-up and everyone due then runs again.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self._running = 0
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def run(self, *participants: Awaitable[T]) -> list[T]:
        """Run the participants to the end (a hang fails after a minute of real time)."""
        self._running = len(participants)
        async with asyncio.timeout(HANG_S):
            return await asyncio.gather(*(self._participate(one) for one in participants))

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        due = self.clock.now_ms() + round(seconds * 1000)
        heapq.heappush(self._sleepers, (due, next(self._order), woken))
        self._leave()
        await woken

    async def _participate(self, participant: Awaitable[T]) -> T:
        try:
            return await participant
        finally:
            self._leave()

    def _leave(self) -> None:
        self._running -= 1
        if self._running or not self._sleepers:
            return
        due = self._sleepers[0][0]
        self.clock.set(max(due, self.clock.now_ms()))
        while self._sleepers and self._sleepers[0][0] <= due:
            heapq.heappop(self._sleepers)[2].set_result(None)
            self._running += 1


def _max_in_any_window(times_ms: list[int], window_ms: int = 1000) -> int:
    times_ms = sorted(times_ms)
    return max(
        sum(1 for t in times_ms[i:] if t < start + window_ms) for i, start in enumerate(times_ms)
    )


def test_64_concurrent_submitters_never_get_more_than_2_per_sliding_second() -> None:
    clock = ManualClock()
    timeline = Timeline(clock)

    async def submit_until_accepted(
        session: aiohttp.ClientSession, k: int, refusals: list[int]
    ) -> None:
        await timeline.sleep(k * STAGGER_MS / 1000)
        while True:
            async with session.post(CREATE_PATH, json=BODY, headers=headers_for("sk-shared")) as r:
                if r.status == 200:
                    return
                assert r.status == 429, await r.text()
                retry_after = int(r.headers["Retry-After"])
                refusals.append(retry_after)
            await timeline.sleep(retry_after)

    async def run(server: MockServer) -> list[int]:
        refusals: list[int] = []
        connector = aiohttp.TCPConnector(limit=0)  # all 64 in flight at once
        async with aiohttp.ClientSession(server.url, connector=connector) as session:
            await timeline.run(*(submit_until_accepted(session, k, refusals) for k in range(64)))
        return refusals

    with MockServer(
        clock=clock, limits=Limits(retry_after=True), validate_responses=True
    ) as server:
        refusals = asyncio.run(run(server))
        accepted = [task.submit_ms for task in server.tasks()]
        assert_schema_conformance(server)
    assert len(accepted) == 64, "every submitter got through eventually"
    assert refusals, "64 submitters at once must have been throttled"
    assert all(retry_after >= 1 for retry_after in refusals)
    assert len({t % 1000 for t in accepted}) > 1, "acceptances off whole seconds too"
    # The window's far edge gives 50 ms to clients pacing at the limit (domain/ratelimit.py).
    assert _max_in_any_window(accepted, 1000 - 50) == 2, "never more than 2, and 2 do get through"


def test_a_submitter_that_waits_retry_after_is_never_refused_again() -> None:
    clock = ManualClock()
    timeline = Timeline(clock)

    async def paced(session: aiohttp.ClientSession, k: int) -> list[int]:
        """Submit back to back 6 times; after each refusal, wait Retry-After and count."""
        await timeline.sleep(k * STAGGER_MS / 1000)
        retries_refused = []
        for _ in range(6):
            refused_before = False
            while True:
                headers = headers_for(f"sk-{k}")
                async with session.post(CREATE_PATH, json=BODY, headers=headers) as response:
                    if response.status == 200:
                        break
                    assert response.status == 429, await response.text()
                    retries_refused.append(int(refused_before))
                    refused_before = True
                    retry_after = int(response.headers["Retry-After"])
                await timeline.sleep(retry_after)
        return retries_refused

    async def run(server: MockServer) -> list[list[int]]:
        async with aiohttp.ClientSession(server.url) as session:
            return await timeline.run(*(paced(session, k) for k in range(8)))

    with MockServer(
        clock=clock, limits=Limits(retry_after=True), validate_responses=True
    ) as server:
        outcomes = asyncio.run(run(server))
        assert_schema_conformance(server)
    assert all(outcome for outcome in outcomes), "each account was throttled at least once"
    # A refusal right after waiting exactly Retry-After would show up as a 1.
    assert all(flag == 0 for outcome in outcomes for flag in outcome)
