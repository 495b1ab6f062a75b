"""Instructions per request, fake vs bare aiohttp, counted by valgrind's callgrind.

    .venv/bin/python bench/bench_instructions.py [--requests N] [--only LOAD ...]

Throughput on a shared 2-core machine follows whatever else runs on it; an instruction count
does not. Each server runs under `valgrind --tool=callgrind` with instrumentation off; a
client warms it up, counting is switched on for exactly `--requests` requests of one load, and the
instructions the server executed are divided by that number. The same count twice gives the
same figure (to well under 1 %), so a change of a few hundred instructions per request shows,
which wrk's requests/s on a busy machine cannot. Instructions are not time (a cache miss costs
more than an add), so bench_http.py stays the measure of the targets; this one is for A/B work
on the hot path. Needs valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from _apps import KINDS, Kind
from _load import Target
from bench_http import OPERATIONS, Operation, target_for

HERE = Path(__file__).resolve().parent
#: Requests in flight at once: enough that the server always has work queued, as under wrk.
CONCURRENCY = 16


async def _send(target: Target, count: int) -> None:
    """`count` requests of `target` over keep-alive connections; any non-2xx answer fails."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                # No body at all for a GET: an empty one would still carry a Content-Type,
                # which a signed result URL's signature covers (as on object storage).
                async with session.request(
                    target.method, target.url, headers=target.headers, data=target.body or None
                ) as response:
                    await response.read()
                    if response.status >= 300:
                        raise RuntimeError(f"{target.method} {target.url}: {response.status}")

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _instructions(out_file: Path) -> int:
    """The total of the `summary:` / `totals:` line of a callgrind output file."""
    text = out_file.read_text()
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no totals in {out_file}")
    return int(found.group(1))


def measure(kind: Kind, operation: Operation, requests: int, warm_up: int) -> float:
    """Instructions the server spends per request of `operation`."""
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as scratch:
        out = Path(scratch) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(HERE / "_serve.py"),
            "--kind",
            kind,
            "--port",
            "0",
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError(f"{kind} server did not start under valgrind: {line!r}")
            base_url = f"http://127.0.0.1:{line.split()[1]}"
            target = target_for(operation, base_url)
            asyncio.run(_send(target, warm_up))
            _control(child.pid, "--instr=on")
            _control(child.pid, "--zero")
            asyncio.run(_send(target, requests))
            _control(child.pid, "--dump")
            # The dump is written by the server's own thread once valgrind schedules it.
            deadline = time.monotonic() + 60
            dumps: list[Path] = []
            while time.monotonic() < deadline:
                dumps = [p for p in Path(scratch).iterdir() if p.stat().st_size > 0]
                if dumps:
                    break
                time.sleep(0.2)
            if not dumps:
                raise RuntimeError("callgrind wrote no dump")
            return sum(_instructions(path) for path in dumps) / requests
        finally:
            child.terminate()
            child.wait(timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warm-up", type=int, default=500)
    loads = [operation for operation, _, _ in OPERATIONS]
    parser.add_argument("--only", action="append", choices=loads, help="repeatable")
    parser.add_argument("--kind", action="append", choices=KINDS, help="repeatable")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    kinds = args.kind or list(KINDS)
    print(f"{'load':12} " + " ".join(f"{kind:>14}" for kind in kinds) + "   ratio")
    for operation in args.only or loads:
        figures = [measure(kind, operation, args.requests, args.warm_up) for kind in kinds]
        ratio = f"{figures[-1] / figures[0]:7.2f}x" if len(figures) == 2 else ""
        print(f"{operation:12} " + " ".join(f"{f:14,.0f}" for f in figures) + f"   {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
