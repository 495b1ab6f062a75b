"""Memory under endless traffic: 1,000,000 tasks pushed through 48 virtual hours.

Run by hand: `.venv/bin/python bench/bench_memory.py [--tasks N] [--hours H] [--accounts A]`.

Tasks arrive at an even rate, spread over many accounts (each within its 2-per-second budget
and never queueing), on a manual clock. Finished tasks are kept 24 hours, so from hour ~24 on
the number of live tasks should stop growing, and so should memory. Printed beside it, in the
same run: the baseline of the same process before any task, and what a naive fake that keeps
each task's request and response JSON as Python dicts would hold for the same live tasks.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc

from mockscope import Backend, BackendConfig, ManualClock
from mockscope.domain.identity import Caller
from mockscope.domain.tasks import TaskRequest

PROMPT = "近景镜头,18岁的中国女孩,古代服饰,圆脸,正面看着镜头,民族优雅的服装,商业摄影"
TARGET_BYTES_PER_TASK = 2048


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def naive_bytes_per_task(sample: int = 20_000) -> float:
    """What keeping request and response JSON as dicts costs per task (the naive design)."""
    gc.collect()
    tracemalloc.start()
    kept = {}
    for k in range(sample):
        task_id = f"{k:08x}-1111-4222-8333-444455556666"
        kept[task_id] = (
            {
                "model": "wanx-v1",
                "input": {"prompt": PROMPT + str(k)},
                "parameters": {"n": 1, "size": "1024*1024"},
            },
            {
                "request_id": f"{k:08x}-aaaa-bbbb-cccc-ddddeeeeffff",
                "output": {
                    "task_id": task_id,
                    "task_status": "SUCCEEDED",
                    "submit_time": "2024-03-01 17:38:24.817",
                    "scheduled_time": "2024-03-01 17:38:24.831",
                    "end_time": "2024-03-01 17:38:55.565",
                    "results": [{"url": f"http://127.0.0.1:8080/results/{task_id}/0.png"}],
                    "task_metrics": {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0},
                },
                "usage": {"image_count": 1},
            },
        )
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return current / sample


def traced_bytes_per_task(sample: int = 20_000) -> float:
    """Exact bytes the fake allocates per stored task (tracemalloc, on a sample)."""
    clock = ManualClock()
    backend = Backend(BackendConfig(seed=1), clock)
    callers = [Caller(f"acct-{k}", f"sk-{k}") for k in range(1000)]
    gc.collect()
    tracemalloc.start()
    for k in range(sample):
        request = TaskRequest(model="wanx-v1", prompt=PROMPT + str(k), n=1)
        backend.api.create_task(callers[k % len(callers)], request, backend.api.new_request_id())
        if k % 1000 == 999:
            clock.advance(1)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / sample


def run(tasks: int, hours: float, accounts: int) -> int:
    clock = ManualClock()
    backend = Backend(BackendConfig(seed=1), clock)
    callers = [Caller(f"acct-{k}", f"sk-{k}") for k in range(accounts)]
    step_ms = hours * 3600 * 1000 / tasks
    gc.collect()
    baseline = rss_bytes()
    print(f"baseline RSS before any task: {baseline / 2**20:.1f} MiB")
    print(f"{'hour':>5} {'created':>10} {'live':>9} {'RSS MiB':>9} {'bytes/live':>11}")
    report_every = tasks // 24
    peak_live = peak_delta = 0
    started = time.perf_counter()
    elapsed_ms = 0.0
    plateau: list[int] = []
    for k in range(tasks):
        request = TaskRequest(model="wanx-v1", prompt=PROMPT + str(k % 1000), n=1)
        backend.api.create_task(callers[k % accounts], request, backend.api.new_request_id())
        elapsed_ms += step_ms
        whole = int(elapsed_ms)
        if whole:
            clock.advance(whole / 1000)
            elapsed_ms -= whole
        if (k + 1) % report_every == 0:
            live = backend.control.footprint().tasks
            delta = rss_bytes() - baseline
            peak_live, peak_delta = max(peak_live, live), max(peak_delta, delta)
            hour = (clock.now_ms() - ManualClock().now_ms()) / 3_600_000
            if hour > 30:
                plateau.append(delta)
            print(f"{hour:5.1f} {k + 1:10d} {live:9d} {delta / 2**20:9.1f} {delta / live:11.0f}")
    seconds = time.perf_counter() - started
    traced = traced_bytes_per_task()
    naive = naive_bytes_per_task()
    per_live = peak_delta / peak_live
    growth = (max(plateau) - min(plateau)) / max(plateau) if plateau else float("nan")
    print()
    print(
        f"{tasks:,} tasks over {hours:g} virtual hours in {seconds:.1f} s "
        f"({tasks / seconds:,.0f} submissions/s, domain only)"
    )
    print(f"peak live tasks: {peak_live:,}; peak RSS growth: {peak_delta / 2**20:.1f} MiB")
    print(f"{'metric':<44} {'naive dicts':>12} {'mockscope':>10} {'ratio':>7}")
    print(
        f"{'bytes per stored task (tracemalloc)':<44} {naive:12.0f} {traced:10.0f} "
        f"{traced / naive:7.2f}"
    )
    print(f"{'bytes per live task (peak RSS / peak live)':<44} {'':>12} {per_live:10.0f}")
    print(f"RSS spread after hour 30 (flat once expiry runs): {growth:.1%}")
    ok = traced <= TARGET_BYTES_PER_TASK and per_live <= TARGET_BYTES_PER_TASK
    print(f"target <= {TARGET_BYTES_PER_TASK} bytes per stored task: {'PASS' if ok else 'MISS'}")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--hours", type=float, default=48)
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args()
    sys.exit(run(args.tasks, args.hours, args.accounts))


if __name__ == "__main__":
    main()
