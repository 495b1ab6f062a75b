"""In-process start-up time: from constructing a server to the first response a client has read.

Run as a script (`python bench/_startup.py --kind fake`) it measures the *first* start in a
fresh interpreter and prints one JSON line; bench_http.py runs it in a child process per
sample so that neither server pays, or is spared, the other's one-time costs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
from time import perf_counter

import aiohttp
from _apps import (
    AUTH_HEADERS,
    CREATE_BODY,
    CREATE_HEADERS,
    CREATE_PATH,
    KINDS,
    PROBE_TASK_ID,
    Kind,
    Running,
    start,
    task_path,
)


async def _fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> None:
    """One request, read to its last byte; anything but a 200 would make the timing a lie."""
    async with session.request(method, url, headers=headers, data=body) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {url} answered {response.status}")


def _fresh_session() -> aiohttp.ClientSession:
    # A new connector per measurement forces a new TCP connection to the new server.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector())


async def _timed_start(kind: Kind, session: aiohttp.ClientSession) -> tuple[float, Running]:
    """Seconds from construct + start to the first GET fully read, and the running server."""
    started = perf_counter()
    server = await start(kind)
    await _fetch(session, "GET", server.url + task_path(PROBE_TASK_ID), AUTH_HEADERS)
    return perf_counter() - started, server


async def time_start(kind: Kind) -> float:
    """One start-to-first-response sample; the session exists before the clock starts."""
    async with _fresh_session() as session:
        elapsed, server = await _timed_start(kind, session)
    await server.stop()
    return elapsed


async def time_restarts(count: int) -> dict[Kind, list[float]]:
    """`count` samples per kind, alternating kinds so drift on the box hits both alike."""
    for kind in KINDS:
        await time_start(kind)  # not counted: pays the imports and first-use costs
    samples: dict[Kind, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(count):
        for kind in KINDS:
            samples[kind].append(await time_start(kind))
    return samples


async def _first_start(kind: Kind) -> dict[str, float]:
    async with _fresh_session() as session:
        start_s, server = await _timed_start(kind, session)
        # Whatever is still lazy on the create path (first-use costs) shows up here.
        posted = perf_counter()
        await _fetch(session, "POST", server.url + CREATE_PATH, CREATE_HEADERS, CREATE_BODY)
        first_post_s = perf_counter() - posted
    await server.stop()
    return {"start_s": start_s, "first_post_s": first_post_s}


def main() -> None:
    parser = argparse.ArgumentParser(description="time the first start in a fresh process")
    parser.add_argument("--kind", choices=KINDS, required=True)
    args = parser.parse_args()
    result: dict[str, float] = {}
    if args.kind == "fake":
        # aiohttp and orjson are already loaded here, so this is mockscope's own share.
        began = perf_counter()
        importlib.import_module("mockscope")
        result["import_s"] = perf_counter() - began
    result |= asyncio.run(_first_start(args.kind))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
