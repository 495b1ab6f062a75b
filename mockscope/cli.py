"""`mockscope serve` and friends."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from mockscope import declare
from mockscope.backend import BackendConfig
from mockscope.domain.clock import ManualClock, SystemClock
from mockscope.scenario import ScenarioError
from mockscope.server import MockServer, tune_gc_for_serving

log = logging.getLogger("mockscope")


@click.group()
@click.version_option(package_name="mockscope")
def main() -> None:
    """An offline, stateful twin of DashScope's asynchronous wanx-v1 text-to-image API."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Simulated seconds per real second; 0 starts a manual clock that only "
    "moves through POST /_mockscope/clock/advance.",
)
@click.option("--seed", type=int, default=None, help="Seed for reproducible task ids and images.")
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="Accept only this API key (repeatable); by default any key is accepted.",
)
@click.option(
    "--public-url",
    default="",
    help="Base of the result URLs handed out (default: the address each request came to).",
)
@click.option(
    "--control-token",
    default="",
    envvar="MOCKSCOPE_CONTROL_TOKEN",
    help="Open /_mockscope/ to non-loopback callers that send this token.",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A YAML or JSON scenario file (schemas/scenario.json) in force from the start "
    "and after every reset.",
)
@click.option(
    "--journal-size",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many requests the journal keeps.",
)
@click.option("--quiet", is_flag=True, help="No per-request log lines.")
def serve(
    host: str,
    port: int,
    time_scale: float,
    seed: int | None,
    api_keys: tuple[str, ...],
    public_url: str,
    control_token: str,
    scenario_file: str | None,
    journal_size: int,
    quiet: bool,
) -> None:
    """Serve the fake API until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    clock = ManualClock() if time_scale == 0 else SystemClock(time_scale)
    scenario = None
    if scenario_file is not None:
        try:
            scenario = declare.read_file(scenario_file)
            declare.checked(scenario)
        except ScenarioError as error:
            raise click.ClickException(f"{scenario_file}: {error}") from None
    server = MockServer(
        config=BackendConfig(journal_size=journal_size),
        scenario=scenario,
        host=host,
        port=port,
        clock=clock,
        api_keys=set(api_keys) if api_keys else None,
        seed=seed,
        public_url=public_url,
        control_token=control_token,
        access_log=None if quiet else logging.getLogger("mockscope.access"),
    )
    try:
        asyncio.run(_serve_until_signalled(server))
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None


async def _serve_until_signalled(server: MockServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start_async()
    tune_gc_for_serving()
    log.info("mockscope serving the DashScope API at %s", server.base_http_api_url)
    log.info("point the dashscope SDK at it: DASHSCOPE_HTTP_BASE_URL=%s", server.base_http_api_url)
    try:
        await stop.wait()
    finally:
        log.info("mockscope shutting down")
        await server.stop_async()


if __name__ == "__main__":
    main()
