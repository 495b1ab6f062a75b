"""`mockscope serve` and friends."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import click

from mockscope.backend import BackendConfig
from mockscope.domain.clock import ManualClock, SystemClock
from mockscope.domain.ratelimit import Limits
from mockscope.scenarios import reading
from mockscope.scenarios.rules import ScenarioError
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
@click.option(
    "--retry-after",
    is_flag=True,
    help="Send Retry-After with 429 answers (the live service sends none; the journal's "
    "Retry-After check needs it).",
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
    retry_after: bool,
    quiet: bool,
) -> None:
    """Serve the fake API until Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    clock = ManualClock() if time_scale == 0 else SystemClock(time_scale)
    scenario = None
    if scenario_file is not None:
        try:
            scenario = reading.read_file(scenario_file)
            reading.checked(scenario)
        except ScenarioError as error:
            raise click.ClickException(f"{scenario_file}: {error}") from None
    server = MockServer(
        config=BackendConfig(journal_size=journal_size),
        scenario=scenario,
        host=host,
        port=port,
        clock=clock,
        api_keys=set(api_keys) if api_keys else None,
        limits=Limits(retry_after=True) if retry_after else None,
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


@main.command()
@click.option(
    "--target",
    type=click.Choice(["live", "fake"]),
    default="fake",
    show_default=True,
    help="Probe the live service (or --base-url), or a second in-process fake (a self-check).",
)
@click.option(
    "--base-url",
    default="https://dashscope.aliyuncs.com",
    show_default=True,
    envvar="MOCKSCOPE_LIVE_BASE_URL",
    help="The live API's root (with or without /api/v1), e.g. a stand-in `mockscope serve`.",
)
@click.option(
    "--api-key",
    default="",
    envvar="DASHSCOPE_API_KEY",
    help="The live API key (default: $DASHSCOPE_API_KEY). Redacted from every output.",
)
@click.option(
    "--live-opt-in",
    is_flag=True,
    envvar="MOCKSCOPE_LIVE",
    help="Allow calls to the live service (also MOCKSCOPE_LIVE=1); they may cost money.",
)
@click.option(
    "--budget-images",
    default=2,
    show_default=True,
    type=click.IntRange(min=0),
    help="At most this many billable images (n=1 each); probes that do not fit are skipped.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the markdown drift report here (default: standard output).",
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the target's exchanges here as JSON lines, secrets redacted.",
)
@click.option(
    "--replay",
    "replay_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Compare a recording (from --record) with the fake instead of probing a target.",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Simulated seconds per real second of the target (a `serve --time-scale N` stand-in).",
)
@click.option(
    "--poll-timeout",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Stop polling a task after this many seconds.",
)
def check(
    target: str,
    base_url: str,
    api_key: str,
    live_opt_in: bool,
    budget_images: int,
    report_path: str | None,
    record_path: str | None,
    replay_path: str | None,
    time_scale: float,
    poll_timeout: float,
) -> None:
    """Probe a target and the fake with the same cheap requests and report every difference.

    Exits 0 when the fake answered every probe as the target did, 1 when there is drift,
    2 on a usage error (including --target live without an opt-in or an API key).
    """
    from mockscope import drift  # the probes pull in nothing that `serve` needs

    if replay_path is not None:
        result = drift.replay(replay_path)
    else:
        if target == "live":
            if not live_opt_in:
                raise click.UsageError(
                    "refusing to call the live service without --live-opt-in (or "
                    f"MOCKSCOPE_LIVE=1): it may bill up to {budget_images} image(s)"
                )
            if not api_key:
                raise click.UsageError("--target live needs --api-key or DASHSCOPE_API_KEY")
        options = drift.CheckOptions(
            target="live" if target == "live" else "fake",
            base_url=base_url,
            api_key=api_key,
            budget_images=budget_images,
            time_scale=time_scale,
            poll_timeout=poll_timeout,
        )
        result = drift.run_check(options)
    markdown = result.markdown()
    if report_path is None:
        click.echo(markdown, nl=False)
    else:
        with open(report_path, "w", encoding="utf-8") as report:
            report.write(markdown)
    if record_path is not None:
        result.write_recording(record_path, secrets=[api_key])
    verdict = f"{len(result.differences)} difference(s)" if result.drifted else "no drift"
    click.echo(f"mockscope check: {verdict} ({result.target_label})", err=True)
    sys.exit(1 if result.drifted else 0)


if __name__ == "__main__":
    main()
