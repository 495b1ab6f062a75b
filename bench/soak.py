"""A bounded soak of `mockscope serve` on loopback: mixed traffic until expiry has started.

    .venv/bin/python bench/soak.py             # 5 minutes
    .venv/bin/python bench/soak.py --quick     # 30 seconds
    .venv/bin/python bench/soak.py --duration 600 --accounts 32

It starts `mockscope serve --time realistic` in a child process on a free loopback port, with a
time scale chosen so that the first tasks expire (24 simulated hours after they end) 40 % into
the run, and 64 run slots per account so that no queue grows without end; gives every account
`--prefill` (40) finished tasks so that listings answer full pages from the first interval on,
and loads it from this process with `--connections` aiohttp workers: creates, gets, lists (no
filter, a model, a status, a later page) and cancels across `--accounts` accounts.
Every `--every` seconds (30) it prints the server's RSS and the simulated hour; every
`--bucket` seconds (60; 10 with --quick) the requests per second and the p99 latency of that
bucket. At the end: requests, answers by status, and the verdict: no 5xx, RSS flat once expiry
has started (max/min of the samples after it <= 1.15), throughput and p99 flat (the last full
bucket within 25 % / 2x of the first one after warm-up), and the server's CPU time per request
flat (the last sample interval within 1.3x of the first one: on a shared machine
requests per second also measure the neighbours, CPU per request hardly does).

The baseline in the same run is the first full bucket: the question a soak answers is whether
the fake slows down or grows as tasks accumulate, so it is compared with itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path

import aiohttp

CREATE = "/api/v1/services/aigc/text2image/image-synthesis"
DAY_S = 86_400
MODELS = ("wanx-v1",)
WEIGHTS = {"create": 30, "get": 40, "list": 20, "cancel": 10}
#: Tasks in progress at once per account: at ~27 simulated seconds a task and the default time
#: scale (720), one slot runs ~27 tasks per real second, so 64 absorb ~1,700 creates per second
#: per account, more than one core can send.
CONCURRENCY = 64


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_s(pid: int) -> float:
    """The process's CPU time so far (user + system): on a shared box, CPU per request stays
    meaningful when requests per second do not."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Stats:
    def __init__(self, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.started = time.monotonic()
        self.statuses: Counter[int] = Counter()
        self.by_op: Counter[str] = Counter()
        self.buckets: dict[int, list[float]] = {}
        #: The server's CPU time per answered request, per sample interval (microseconds).
        self.cpu_per_request: list[float] = []

    def record(self, op: str, status: int, latency_s: float) -> None:
        self.statuses[status] += 1
        self.by_op[op] += 1
        bucket = int((time.monotonic() - self.started) / self.bucket_s)
        self.buckets.setdefault(bucket, []).append(latency_s * 1000)


async def worker(
    session: aiohttp.ClientSession,
    base: str,
    accounts: list[str],
    recent: dict[str, deque[str]],
    stats: Stats,
    deadline: float,
    draw: random.Random,
) -> None:
    ops, weights = list(WEIGHTS), list(WEIGHTS.values())
    while time.monotonic() < deadline:
        key = draw.choice(accounts)
        op = draw.choices(ops, weights)[0]
        ids = recent[key]
        if op in ("get", "cancel") and not ids:
            op = "create"
        auth = {"Authorization": f"Bearer {key}"}
        started = time.monotonic()
        if op == "create":
            body = {"model": draw.choice(MODELS), "input": {"prompt": "soak"}, "parameters": {}}
            headers = {**auth, "X-DashScope-Async": "enable"}
            async with session.post(base + CREATE, json=body, headers=headers) as response:
                payload = await response.json()
                if response.status == 200:
                    ids.append(payload["output"]["task_id"])
        elif op == "get":
            url = f"{base}/api/v1/tasks/{draw.choice(ids)}"
            async with session.get(url, headers=auth) as response:
                await response.read()
        elif op == "list":
            params = draw.choice(
                [{}, {"model_name": "wanx-v1"}, {"status": "SUCCEEDED"}, {"page_no": "3"}]
            )
            async with session.get(f"{base}/api/v1/tasks", params=params, headers=auth) as response:
                await response.read()
        else:
            url = f"{base}/api/v1/tasks/{ids[-1]}/cancel"  # the newest: most likely still waiting
            async with session.post(url, headers=auth) as response:
                await response.read()
        stats.record(op, response.status, time.monotonic() - started)


async def fill_pages(
    session: aiohttp.ClientSession,
    base: str,
    accounts: list[str],
    recent: dict[str, deque[str]],
    per_account: int,
    scale: float,
) -> None:
    """Give every account a few pages of finished tasks before the clock of the soak starts.

    Without them the first interval lists mostly empty pages (page 3 of nothing, SUCCEEDED of
    nothing), which are cheaper than the full pages of every later interval: a rise that says
    only that pages filled up, not that the fake slows as tasks accumulate.
    """
    body = {"model": MODELS[0], "input": {"prompt": "soak"}, "parameters": {}}
    for _ in range(per_account):
        for key in accounts:
            headers = {"Authorization": f"Bearer {key}", "X-DashScope-Async": "enable"}
            async with session.post(base + CREATE, json=body, headers=headers) as response:
                if response.status == 200:
                    recent[key].append((await response.json())["output"]["task_id"])
                else:
                    await response.read()
                    await asyncio.sleep(0.01)  # its rate limit refills in simulated ms
    # The queues drain (a run is about 30 simulated seconds) before anything is measured.
    await asyncio.sleep(per_account * 30 / scale + 0.2)


async def clock_hours(session: aiohttp.ClientSession, base: str, start_ms: int | None) -> float:
    async with session.get(f"{base}/_mockscope/clock") as response:
        now_ms = int((await response.json())["now_ms"])
    return 0.0 if start_ms is None else (now_ms - start_ms) / 3_600_000


async def run(
    args: argparse.Namespace, server: subprocess.Popen[bytes], port: int, scale: float
) -> tuple[Stats, list[tuple[float, float, int]], int]:
    base = f"http://127.0.0.1:{port}"
    accounts = [f"sk-soak-{k}" for k in range(args.accounts)]
    recent: dict[str, deque[str]] = {key: deque(maxlen=64) for key in accounts}
    print(
        f"soak: {args.duration:.0f} s, time scale {scale:.0f} (expiry from ~"
        f"{0.4 * args.duration:.0f} s), {args.accounts} accounts, {args.connections} workers,"
        f" server pid {server.pid}",
        flush=True,
    )
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=args.connections)
    ) as session:
        for _ in range(100):
            try:
                async with session.get(f"{base}/_mockscope/clock") as response:
                    start_ms = int((await response.json())["now_ms"])
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        # Enough run slots that each account's queue keeps up with whatever load this box can
        # make: a queue that only grows never lets a task finish, so nothing would expire and
        # the soak would measure the load generator's speed, not whether the fake stays flat.
        limits = {"concurrency": CONCURRENCY}
        async with session.post(f"{base}/_mockscope/limits", json=limits) as response:
            if response.status != 200:
                raise SystemExit(f"setting the limits failed: {response.status}")
        baseline_rss = rss_kb(server.pid)
        await fill_pages(session, base, accounts, recent, args.prefill, scale)
        async with session.get(f"{base}/_mockscope/clock") as response:
            start_ms = int((await response.json())["now_ms"])  # simulated hours count from here
        stats = Stats(args.bucket)
        deadline = time.monotonic() + args.duration
        workers = [
            asyncio.create_task(
                worker(session, base, accounts, recent, stats, deadline, random.Random(k))
            )
            for k in range(args.connections)
        ]
        samples: list[tuple[float, float, int]] = []
        last_cpu, last_done = cpu_s(server.pid), 0
        while time.monotonic() < deadline:
            await asyncio.sleep(min(args.every, max(0.0, deadline - time.monotonic())))
            rss, cpu = rss_kb(server.pid), cpu_s(server.pid)
            done = sum(stats.statuses.values())
            # Its own connection: the workers keep every one of the pool's busy.
            async with aiohttp.ClientSession() as control:
                hours = await clock_hours(control, base, start_ms)
            elapsed = time.monotonic() - stats.started
            samples.append((elapsed, hours, rss))
            per_request = (cpu - last_cpu) / max(1, done - last_done) * 1e6
            stats.cpu_per_request.append(per_request)
            last_cpu, last_done = cpu, done
            print(
                f"  t={elapsed:5.0f} s  simulated {hours:6.1f} h  RSS {rss / 1024:7.1f} MB"
                f"  requests {done:>8}  server CPU {per_request:5.0f} us/request",
                flush=True,
            )
        await asyncio.gather(*workers)
    return stats, samples, baseline_rss


def report(
    args: argparse.Namespace,
    stats: Stats,
    samples: list[tuple[float, float, int]],
    baseline_rss: int,
    server_err: str,
) -> int:
    total = sum(stats.statuses.values())
    print(
        f"\nrequests: {total} ({total / args.duration:.0f}/s); by operation: "
        + ", ".join(f"{op} {n}" for op, n in sorted(stats.by_op.items()))
    )
    print("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(stats.statuses.items())))
    full = [b for b in sorted(stats.buckets) if (b + 1) * args.bucket <= args.duration]
    print(f"\n{'bucket':>12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    rows = []
    for b in full:
        latencies = sorted(stats.buckets[b])
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        rate = len(latencies) / args.bucket
        rows.append((rate, p99))
        print(
            f"{b * args.bucket:>5.0f}-{(b + 1) * args.bucket:<5.0f}s {rate:>8.0f} "
            f"{statistics.median(latencies):>8.2f} {p99:>8.2f}"
        )
    expiring = [rss for _, hours, rss in samples if hours >= 24.2]
    print(
        f"\nRSS: {baseline_rss / 1024:.1f} MB at start; samples "
        + ", ".join(f"{h:.0f}h:{r / 1024:.0f}MB" for _, h, r in samples)
    )
    failures = []
    server_errors = sum(n for s, n in stats.statuses.items() if s >= 500)
    if server_errors:
        failures.append(f"{server_errors} answers 5xx")
    if len(expiring) >= 2:
        spread = max(expiring) / min(expiring)
        print(f"RSS once expiry started: {len(expiring)} samples, max/min {spread:.3f}")
        if spread > 1.15:
            failures.append(f"RSS grew {spread:.2f}x after expiry started")
    else:
        print("RSS once expiry started: fewer than 2 samples (run longer for this verdict)")
    if len(rows) >= 3:
        first, last = rows[1], rows[-1]  # bucket 0 is warm-up
        print(
            f"throughput last/first {last[0] / first[0]:.2f}; p99 last/first "
            f"{last[1] / first[1]:.2f}"
        )
        if last[0] < 0.75 * first[0]:
            failures.append("throughput fell")
        if last[1] > 2 * first[1]:
            failures.append("p99 rose")
    cpu = stats.cpu_per_request
    if len(cpu) >= 3:
        # Against the first interval: by the second, an O(n) fake has already slowed down.
        first_cpu, last_cpu = cpu[0], cpu[-1]
        print(
            f"server CPU per request: {first_cpu:.0f} us in the first interval, {last_cpu:.0f} us"
            f" in the last ({last_cpu / first_cpu:.2f}x; a shared box changes requests/s, hardly"
            " this)"
        )
        if last_cpu > 1.3 * first_cpu:
            failures.append("server CPU per request rose")
    if "Traceback" in server_err:
        failures.append("the server logged a traceback")
        print(server_err[-2000:])
    print("verdict: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    return 0 if not failures else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--quick", action="store_true", help="30 s, 10 s buckets")
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument(
        "--prefill", type=int, default=40, help="finished tasks per account before the soak"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--every", type=float, default=30.0, help="RSS sample period (s)")
    parser.add_argument("--bucket", type=float, default=None, help="latency bucket (s)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.every = 30.0, 5.0
    if args.bucket is None:
        args.bucket = 10.0 if args.quick else 60.0
    port = free_port()
    scale = DAY_S / (0.4 * args.duration)
    mockscope = Path(sys.executable).with_name("mockscope")
    command = [str(mockscope), "serve", "--port", str(port), "--quiet", "--seed", "1"]
    command += ["--time", "realistic", "--time-scale", f"{scale:.3f}"]
    with tempfile.TemporaryFile() as err:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        try:
            stats, samples, baseline_rss = asyncio.run(run(args, server, port, scale))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        err.seek(0)
        logged = err.read().decode(errors="replace")
    return report(args, stats, samples, baseline_rss, logged)


if __name__ == "__main__":
    sys.exit(main())
