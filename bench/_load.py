"""Load generators: wrk when installed, else a multi-process aiohttp client (much weaker)."""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from time import perf_counter

import aiohttp


@dataclass(frozen=True)
class Target:
    """One request, repeated for the whole run."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class LoadResult:
    requests_per_s: float
    p99_ms: float
    #: Non-2xx/3xx answers plus socket errors; any at all make the figures suspect.
    errors: int
    #: Requests completed in the run.
    requests: int = 0
    #: The server process's CPU time (user + system, all threads) per request, in µs: unlike
    #: throughput, it barely moves when other processes compete for the machine.
    cpu_us: float = float("nan")
    #: Of that, the time spent in the kernel (system calls, page faults, waking the client).
    system_us: float = float("nan")
    #: Minor page faults of the server process per request: memory it grew into.
    page_faults: float = float("nan")


def wrk_path() -> str | None:
    return shutil.which("wrk")


# -- wrk ---------------------------------------------------------------------------------------


def _lua_string(text: str) -> str:
    # A long bracket needs no escaping as long as the text never contains its closing "]==]".
    assert "]==]" not in text
    return f"[==[{text}]==]"


def _wrk_script(target: Target) -> str:
    lines = [f"wrk.method = {_lua_string(target.method)}"]
    if target.body:
        lines.append(f"wrk.body = {_lua_string(target.body.decode())}")
    lines += [
        # The spaces matter: "[[" would open a Lua long string instead of indexing the table.
        f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}"
        for name, value in target.headers.items()
    ]
    return "\n".join(lines) + "\n"


def run_wrk(target: Target, duration_s: float, connections: int) -> LoadResult:
    """One wrk run with a single load thread: wrk in C needs only one core to saturate Python."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        script = Path(scratch) / "request.lua"
        script.write_text(_wrk_script(target))
        command = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{duration_s:g}s",
            "--latency",
            "-s",
            str(script),
            target.url,
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(completed.stdout)


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> LoadResult:
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket_errors = re.search(r"Socket errors:([^\n]*)", output)
    if socket_errors is not None:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    done = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    requests = int(done.group(1)) if done is not None else 0
    p99_ms = float(p99.group(1)) * _UNIT_MS[p99.group(2)]
    return LoadResult(float(rate.group(1)), p99_ms, errors, requests)


# -- the aiohttp fallback -----------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkerResult:
    elapsed_s: float
    latencies_s: list[float]
    errors: int


async def _client_loop(
    session: aiohttp.ClientSession, target: Target, deadline: float, out: list[float]
) -> int:
    errors = 0
    while perf_counter() < deadline:
        sent = perf_counter()
        try:
            async with session.request(
                target.method, target.url, headers=target.headers, data=target.body or None
            ) as response:
                await response.read()
                errors += response.status >= 400
        except aiohttp.ClientError:
            errors += 1
            continue
        out.append(perf_counter() - sent)
    return errors


async def _worker_async(target: Target, duration_s: float, connections: int) -> _WorkerResult:
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = perf_counter()
        deadline = began + duration_s
        loops = (_client_loop(session, target, deadline, latencies) for _ in range(connections))
        errors = sum(await asyncio.gather(*loops))
        elapsed = perf_counter() - began
    return _WorkerResult(elapsed, latencies, errors)


def _worker(target: Target, duration_s: float, connections: int) -> _WorkerResult:
    return asyncio.run(_worker_async(target, duration_s, connections))


def run_aiohttp_load(
    target: Target, duration_s: float, connections: int, processes: int = 2
) -> LoadResult:
    """Several client processes, since one Python client is slower than the server it loads."""
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    # spawn, not fork: a forked child would inherit whatever loop or threads the parent holds.
    with ProcessPoolExecutor(len(shares), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker, target, duration_s, share) for share in shares if share]
        results = [future.result() for future in futures]
    latencies = [latency for result in results for latency in result.latencies_s]
    rate = sum(len(result.latencies_s) / result.elapsed_s for result in results)
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else float("nan")
    errors = sum(result.errors for result in results)
    return LoadResult(rate, p99 * 1000, errors, len(latencies))
