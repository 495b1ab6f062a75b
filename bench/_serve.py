"""Serve one of the benchmarked apps in this process until SIGTERM.

    python bench/_serve.py --kind fake|baseline --port N [--profile out.prof]

Prints `READY <port>` on stdout once it accepts connections. Runs a single default asyncio
event loop with no access log and the garbage-collector settings of `mockscope serve`, so the
fake and the baseline get exactly the same treatment.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import signal

from _apps import KINDS, Kind, start

from mockscope.server import tune_gc_for_serving


async def serve(kind: Kind, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Installed before READY is printed, so a SIGTERM sent right after READY is never lost.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await start(kind, port)
    # Both servers run with the collector settings `mockscope serve` uses (the baseline keeps
    # no objects, so they change nothing for it).
    tune_gc_for_serving()
    print(f"READY {server.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--profile", metavar="PATH", help="write cProfile stats here on exit")
    args = parser.parse_args()
    if args.profile is None:
        asyncio.run(serve(args.kind, args.port))
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(serve(args.kind, args.port))
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
