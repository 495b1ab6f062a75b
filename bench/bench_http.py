"""Benchmark mockscope's fake against a bare aiohttp app serving the same JSON, in one run.

    .venv/bin/python bench/bench_http.py [--duration 10] [--connections 32] [--repeat 3] [--quick]

Measures in-process start-up time to the first response, then GET-task and POST-create
throughput and p99 latency with each server in its own child process under wrk, and prints
both side by side with the ratio fake/baseline and the spec's targets. Exits 1 on any MISS,
2 if a load run saw errors. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import statistics
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from _apps import (
    ADVANCE_PATH,
    AUTH_HEADERS,
    CREATE_BODY,
    CREATE_BODY_V2,
    CREATE_HEADERS,
    CREATE_PATH,
    GENERATION_BODY,
    GENERATION_PATH,
    HOST,
    KINDS,
    Kind,
    task_path,
)
from _load import LoadResult, Target, run_aiohttp_load, run_wrk, wrk_path
from _startup import time_restarts

HERE = Path(__file__).resolve().parent
WARM_UP_S = 2.0
RESTARTS = 50
READY_TIMEOUT_S = 30.0

Operation = Literal["GET", "POST", "POST v2", "POST wan2.6", "GET done", "download"]
LoadRunner = Callable[[Target, float, int], LoadResult]


@dataclass(frozen=True)
class Settings:
    duration_s: float
    connections: int
    repeat: int
    first_starts: int
    loadgen: Literal["wrk", "aiohttp"]
    #: The loads to measure (all by default); start-up is measured only with all of them.
    only: tuple[Operation, ...] = ()

    def measures(self, operation: Operation) -> bool:
        return not self.only or operation in self.only


@dataclass(frozen=True)
class Row:
    """One line of the report; `target` is the least (or most) ratio fake/baseline allowed."""

    metric: str
    baseline: float | None
    fake: float
    target: tuple[Literal["<=", ">="], float] | None = None
    #: False for a figure whose baseline is next to nothing (the baseline's page faults):
    #: a ratio to it says nothing.
    compared: bool = True

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline or not self.compared else self.fake / self.baseline

    @property
    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return ""
        op, bound = self.target
        met = self.ratio <= bound if op == "<=" else self.ratio >= bound
        return "PASS" if met else "MISS"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return seconds * 1000


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[8]


# -- start-up ----------------------------------------------------------------------------------


def first_start(kind: Kind) -> dict[str, float]:
    """The first start in a fresh interpreter, so each kind pays its own one-time costs."""
    command = [sys.executable, str(HERE / "_startup.py"), "--kind", kind]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(completed.stdout)
    return result


def first_start_rows(samples: int) -> list[Row]:
    runs: dict[Kind, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(samples):
        for kind in KINDS:
            runs[kind].append(first_start(kind))

    def median(kind: Kind, key: str) -> float:
        return ms(statistics.median(run[key] for run in runs[kind]))

    note = f"fresh process, median of {samples}"
    return [
        Row("import mockscope after aiohttp [ms]", None, median("fake", "import_s")),
        Row(
            f"first start -> 1st GET [ms] ({note})",
            median("baseline", "start_s"),
            median("fake", "start_s"),
            ("<=", 1.5),
        ),
        Row(
            "  then its 1st POST [ms]",
            median("baseline", "first_post_s"),
            median("fake", "first_post_s"),
        ),
    ]


def restart_rows() -> list[Row]:
    samples = asyncio.run(time_restarts(RESTARTS))
    base, fake = samples["baseline"], samples["fake"]
    return [
        Row(
            f"start -> 1st GET [ms], median of {RESTARTS}",
            ms(statistics.median(base)),
            ms(statistics.median(fake)),
            ("<=", 1.5),
        ),
        Row(f"start -> 1st GET [ms], p90 of {RESTARTS}", ms(p90(base)), ms(p90(fake))),
    ]


# -- throughput ---------------------------------------------------------------------------------


def _await_ready(process: subprocess.Popen[str]) -> int:
    """The port from the child's `READY <port>` line; fails fast if the child dies instead."""
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], READY_TIMEOUT_S)
    if not readable:
        raise RuntimeError(f"server child printed nothing within {READY_TIMEOUT_S:g} s")
    line = process.stdout.readline()
    if not line.startswith("READY "):
        raise RuntimeError(f"server child said {line!r} (exit code {process.poll()})")
    return int(line.split()[1])


@dataclass(frozen=True)
class Child:
    url: str
    pid: int


@dataclass(frozen=True)
class Usage:
    """What a process (all its threads) has used so far, from Linux /proc."""

    user_s: float
    system_s: float
    #: Pages the kernel had to map in on first touch (minor faults): memory the process grew
    #: into. Each costs a trap and a zeroed page; in a virtual machine several microseconds.
    page_faults: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s


def usage(pid: int) -> Usage:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # Fields after the command name (which may hold spaces): minflt is the 10th field of
        # the line, utime the 14th, stime the 15th.
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return Usage(int(fields[11]) / tick, int(fields[12]) / tick, int(fields[7]))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far (Linux /proc)."""
    return usage(pid).cpu_s


@contextmanager
def server_child(kind: Kind) -> Iterator[Child]:
    """A fresh server process per run, so no run inherits the tasks a previous one stored."""
    command = [sys.executable, str(HERE / "_serve.py"), "--kind", kind, "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        yield Child(f"http://{HOST}:{_await_ready(process)}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def create_task(base_url: str) -> str:
    request = urllib.request.Request(
        base_url + CREATE_PATH, data=CREATE_BODY, headers=CREATE_HEADERS, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        task_id: str = json.load(response)["output"]["task_id"]
    return task_id


def finish_tasks(base_url: str) -> None:
    """Move the fake's manual clock a minute on: every task created so far has SUCCEEDED."""
    request = urllib.request.Request(
        base_url + ADVANCE_PATH,
        data=json.dumps({"seconds": 60}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def result_url(base_url: str, task_url: str) -> str:
    request = urllib.request.Request(task_url, headers=AUTH_HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        url: str = json.load(response)["output"]["results"][0]["url"]
    assert url.startswith(base_url), url
    return url


def target_for(operation: Operation, base_url: str) -> Target:
    if operation == "POST":
        return Target("POST", base_url + CREATE_PATH, CREATE_HEADERS, CREATE_BODY)
    if operation == "POST v2":
        return Target("POST", base_url + CREATE_PATH, CREATE_HEADERS, CREATE_BODY_V2)
    if operation == "POST wan2.6":
        return Target("POST", base_url + GENERATION_PATH, CREATE_HEADERS, GENERATION_BODY)
    # A task that exists and, under the fake's manual clock, stays PENDING for the whole run,
    # or, after the clock is moved on, reads SUCCEEDED with one signed result URL.
    task_url = base_url + task_path(create_task(base_url))
    if operation == "GET":
        return Target("GET", task_url, AUTH_HEADERS)
    finish_tasks(base_url)
    if operation == "GET done":
        return Target("GET", task_url, AUTH_HEADERS)
    return Target("GET", result_url(base_url, task_url), {})


def measure(kind: Kind, operation: Operation, settings: Settings, run: LoadRunner) -> LoadResult:
    with server_child(kind) as child:
        target = target_for(operation, child.url)
        run(target, WARM_UP_S, settings.connections)  # warm caches and the allocator; discarded
        before = usage(child.pid)
        result = run(target, settings.duration_s, settings.connections)
        after = usage(child.pid)
    if result.requests:
        per_request = 1e6 / result.requests
        result = replace(
            result,
            cpu_us=(after.cpu_s - before.cpu_s) * per_request,
            system_us=(after.system_s - before.system_s) * per_request,
            page_faults=(after.page_faults - before.page_faults) / result.requests,
        )
    errors = f", {result.errors} ERRORS" if result.errors else ""
    log(
        f"  {operation:11} {kind:8} {result.requests_per_s:9.0f} req/s"
        f"  p99 {result.p99_ms:6.2f} ms  cpu {result.cpu_us:6.1f} us/req"
        f" (kernel {result.system_us:5.1f})  faults {result.page_faults:5.3f}/req{errors}"
    )
    return result


Results = dict[tuple[Operation, Kind], list[LoadResult]]

# Each operation, its label and the least throughput ratio fake/baseline the spec allows.
OPERATIONS: tuple[tuple[Operation, str, float], ...] = (
    ("GET", "GET task", 0.8),
    ("POST", "POST create", 0.5),
    ("POST v2", "POST create wanx2.1-t2i-turbo", 0.5),
    ("POST wan2.6", "POST create wan2.6-t2i", 0.5),
    ("GET done", "GET SUCCEEDED task", 0.8),
    ("download", "GET result image", 0.5),
)


def run_load(settings: Settings) -> Results:
    run: LoadRunner = run_wrk if settings.loadgen == "wrk" else run_aiohttp_load
    results: Results = {}
    # Alternate baseline and fake, repeating the whole sequence, so drift hits both alike.
    for round_no in range(1, settings.repeat + 1):
        log(f"round {round_no}/{settings.repeat}")
        for operation, _, _ in OPERATIONS:
            if not settings.measures(operation):
                continue
            for kind in KINDS:
                result = measure(kind, operation, settings, run)
                results.setdefault((operation, kind), []).append(result)
    return results


def throughput_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    for operation, label, bound in OPERATIONS:
        if (operation, "fake") not in results:
            continue
        for name, field, target, compared in _FIGURES:
            baseline, fake = (
                statistics.median(getattr(run, field) for run in results[(operation, kind)])
                for kind in ("baseline", "fake")
            )
            bounded: tuple[Literal["<=", ">="], float] | None = (">=", bound) if target else None
            rows.append(Row(f"{label} {name}", baseline, fake, bounded, compared))
    return rows


#: Each figure of a load: its name, the LoadResult field, whether the operation's bound applies
#: to it, and whether a ratio to the baseline means anything (the baseline faults next to never).
_FIGURES: tuple[tuple[str, str, bool, bool], ...] = (
    ("throughput [req/s]", "requests_per_s", True, True),
    ("p99 latency [ms]", "p99_ms", False, True),
    ("server CPU [us/request]", "cpu_us", False, True),
    ("of it in the kernel [us/request]", "system_us", False, True),
    ("page faults [per request]", "page_faults", False, False),
)


# -- report -------------------------------------------------------------------------------------


def _cell(value: float | None, width: int) -> str:
    if value is None:
        return "-".rjust(width)
    return f"{value:{width}.{1 if value >= 100 else 2}f}"


def format_table(rows: list[Row]) -> str:
    name_width = max(len(row.metric) for row in rows)
    header = f"{'metric':{name_width}} | {'baseline':>9} | {'fake':>9} | {'ratio':>7} | target"
    lines = [header, "-" * (len(header) + 12)]
    for row in rows:
        # Three decimals, so that a MISS by a hair (0.498 vs 0.5) does not print as "0.50x".
        ratio = "-".rjust(7) if row.ratio is None else f"{row.ratio:6.3f}x"
        target = "" if row.target is None else f"{row.target[0]} {row.target[1]}x"
        lines.append(
            f"{row.metric:{name_width}} | {_cell(row.baseline, 9)} | {_cell(row.fake, 9)} | "
            f"{ratio} | {target:7} {row.verdict}".rstrip()
        )
    return "\n".join(lines)


def parse_settings(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median kept")
    parser.add_argument("--quick", action="store_true", help="smoke run: --duration 3 --repeat 1")
    parser.add_argument(
        "--only",
        choices=[operation for operation, _, _ in OPERATIONS],
        action="append",
        help="measure only this load (repeatable); start-up is then skipped",
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "aiohttp"),
        default="auto",
        help="auto uses wrk when installed, else the (weaker) aiohttp client",
    )
    args = parser.parse_args(argv)
    duration, repeat = (3.0, 1) if args.quick else (args.duration, args.repeat)
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if wrk_path() is not None else "aiohttp"
    if loadgen == "wrk" and wrk_path() is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    first_starts = 3 if args.quick else 5
    only = tuple(args.only or ())
    return Settings(duration, args.connections, repeat, first_starts, loadgen, only)


def describe_load(settings: Settings) -> str:
    if settings.loadgen == "wrk":
        how = f"wrk -t1 -c{settings.connections} -d{settings.duration_s:g}s --latency"
    else:
        how = (
            f"FALLBACK aiohttp client, 2 processes, {settings.connections} connections, "
            f"{settings.duration_s:g} s (wrk not used: figures are client-bound, not comparable)"
        )
    return f"load: {how}; {WARM_UP_S:g} s warm-up per run; median of {settings.repeat} run(s)"


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    if settings.loadgen == "aiohttp" and wrk_path() is None:
        log("wrk not found (apt-get install -y wrk): falling back to the aiohttp load generator")
    rows: list[Row] = []
    if not settings.only:
        log(f"first starts: {settings.first_starts} fresh processes per server")
        rows += first_start_rows(settings.first_starts)
        log(f"restarts: {RESTARTS} per server in one event loop")
        rows += restart_rows()
    log(describe_load(settings))
    results = run_load(settings)
    rows += throughput_rows(results)
    errors = sum(result.errors for runs in results.values() for result in runs)
    print()
    print(format_table(rows))
    print()
    print(describe_load(settings))
    if errors:
        # A server answering errors does less work per request: its figures mean nothing.
        print(f"INVALID: {errors} non-2xx answers or socket errors during load runs")
        return 2
    return 1 if any(row.verdict == "MISS" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
