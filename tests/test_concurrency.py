"""Rate limits under real concurrency: real sockets, the system clock, many submitters.

The clock runs 20 times faster than real time, so a one-second window is 50 ms of waiting;
what is checked does not depend on timing: the server's own record of accepted submissions.
"""

from __future__ import annotations

import asyncio

import aiohttp

from mockscope import MockServer, SystemClock
from tests.support import CREATE_PATH, assert_schema_conformance, headers_for

TIME_SCALE = 20.0
BODY = {"model": "wanx-v1", "input": {"prompt": "a cat"}, "parameters": {"n": 1}}


async def _submit_until_accepted(
    session: aiohttp.ClientSession, key: str, refusals: list[int]
) -> None:
    while True:
        async with session.post(CREATE_PATH, json=BODY, headers=headers_for(key)) as response:
            if response.status == 200:
                return
            assert response.status == 429, await response.text()
            retry_after = int(response.headers["Retry-After"])
            refusals.append(retry_after)
        await asyncio.sleep(retry_after / TIME_SCALE)


def _max_in_any_window(times_ms: list[int], window_ms: int = 1000) -> int:
    times_ms = sorted(times_ms)
    return max(
        sum(1 for t in times_ms[i:] if t < start + window_ms) for i, start in enumerate(times_ms)
    )


def test_64_concurrent_submitters_never_get_more_than_2_per_sliding_second() -> None:
    async def run(server: MockServer) -> list[int]:
        refusals: list[int] = []
        async with aiohttp.ClientSession(server.url) as session:
            await asyncio.gather(
                *(_submit_until_accepted(session, "sk-shared", refusals) for _ in range(64))
            )
        return refusals

    with MockServer(clock=SystemClock(TIME_SCALE), validate_responses=True) as server:
        refusals = asyncio.run(run(server))
        accepted = [task.submit_ms for task in server.tasks()]
        assert_schema_conformance(server)
    assert len(accepted) == 64, "every submitter got through eventually"
    assert refusals, "64 submitters at once must have been throttled"
    assert all(retry_after >= 1 for retry_after in refusals)
    assert _max_in_any_window(accepted) <= 2


def test_a_submitter_that_waits_retry_after_is_never_refused_again() -> None:
    async def paced(session: aiohttp.ClientSession, key: str) -> list[int]:
        """Submit back to back 6 times; after each refusal, wait Retry-After and count."""
        retries_refused = []
        for _ in range(6):
            refused_before = False
            while True:
                async with session.post(
                    CREATE_PATH, json=BODY, headers=headers_for(key)
                ) as response:
                    if response.status == 200:
                        break
                    retries_refused.append(int(refused_before))
                    refused_before = True
                    await asyncio.sleep(int(response.headers["Retry-After"]) / TIME_SCALE)
        return retries_refused

    async def run(server: MockServer) -> list[list[int]]:
        async with aiohttp.ClientSession(server.url) as session:
            return await asyncio.gather(*(paced(session, f"sk-{k}") for k in range(8)))

    with MockServer(clock=SystemClock(TIME_SCALE), validate_responses=True) as server:
        outcomes = asyncio.run(run(server))
        assert_schema_conformance(server)
    assert all(outcome for outcome in outcomes), "each account was throttled at least once"
    # A refusal right after waiting Retry-After would show up as a 1.
    assert all(flag == 0 for outcome in outcomes for flag in outcome)
