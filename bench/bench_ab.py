"""A/B: two versions of the fake side by side, server CPU per request, alternating short runs.

    git archive main mockscope schemas | tar -x -C /tmp/before
    .venv/bin/python bench/bench_ab.py --before /tmp/before [--rounds 10] [--duration 3]

Starts the fake of this checkout and the fake found in `--before` (a tree holding `mockscope/`
and `schemas/`, put first on PYTHONPATH) as two long-lived server processes, then loads them in
turn with wrk, a few seconds each, alternating which goes first, for every load of
bench_http.py (GET a PENDING task, POST, GET a SUCCEEDED task, download its image). What is
compared is each server's CPU time per request (user + system, all threads, from /proc): on a
machine shared with other work throughput follows the neighbours, CPU per request much less,
and alternating short runs spreads what is left over both sides. Prints each side's median and
every run, and after/before. Needs wrk and Linux.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _load import Target, run_wrk
from bench_http import OPERATIONS, Operation, cpu_seconds, target_for

HERE = Path(__file__).resolve().parent
SIDES = ("before", "after")


@contextmanager
def fake(pythonpath: str | None) -> Iterator[tuple[int, str]]:
    """One fake server process (pid, base URL), its mockscope taken from `pythonpath` if given."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, str(HERE / "_serve.py"), "--kind", "fake", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        if ready[:1] != ["READY"]:
            raise RuntimeError(f"server child said {ready!r} (exit code {process.poll()})")
        yield process.pid, f"http://127.0.0.1:{ready[1]}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def compare(operation: Operation, before: str, rounds: int, duration_s: float) -> str:
    with fake(before) as old, fake(None) as new:
        servers = {"before": old, "after": new}
        targets: dict[str, Target] = {
            side: target_for(operation, url) for side, (_, url) in servers.items()
        }
        for side in SIDES:
            run_wrk(targets[side], 2, 32)  # warm-up, discarded
        cpu: dict[str, list[float]] = {side: [] for side in SIDES}
        for round_no in range(rounds):
            for side in SIDES if round_no % 2 == 0 else reversed(SIDES):
                pid, _ = servers[side]
                spent = cpu_seconds(pid)
                result = run_wrk(targets[side], duration_s, 32)
                cpu[side].append((cpu_seconds(pid) - spent) * 1e6 / max(result.requests, 1))
    medians = {side: statistics.median(values) for side, values in cpu.items()}
    lines = [
        f"{operation:9} {side:6} median {medians[side]:6.1f} us/req   "
        + " ".join(f"{value:.1f}" for value in cpu[side])
        for side in SIDES
    ]
    lines.append(f"{operation:9} after/before {medians['after'] / medians['before']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="a tree with mockscope/ and schemas/")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument(
        "--only",
        choices=[operation for operation, _, _ in OPERATIONS],
        action="append",
        help="compare only this load (repeatable)",
    )
    args = parser.parse_args(argv)
    for operation, _, _ in OPERATIONS:
        if args.only and operation not in args.only:
            continue
        print(compare(operation, args.before, args.rounds, args.duration), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
