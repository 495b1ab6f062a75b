"""`mockscope serve` and friends."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from mockscope.backend.catalogue import CatalogueError, catalogue_for
from mockscope.domain.models import ModelCatalogue, ModelSpec
from mockscope.http.connections import limit_accept_error_logging
from mockscope.options import CLI_OPTIONS, Option, OptionError
from mockscope.scenarios import reading
from mockscope.scenarios.rules import ScenarioError
from mockscope.server import MockServer, tune_gc_for_serving

log = logging.getLogger("mockscope")


@click.group(context_settings={"max_content_width": 100})
@click.version_option(package_name="mockscope")
def main() -> None:
    """An offline, stateful twin of DashScope's text-to-image API (the Wan family)."""


def envvar_of(flag: str) -> str:
    """The environment variable that sets a `serve` option: --time-scale -> MOCKSCOPE_TIME_SCALE
    (an on/off pair is named by its first flag)."""
    return "MOCKSCOPE_" + flag.split("/")[0].lstrip("-").upper().replace("-", "_")


def _serve_options(command: Callable[..., None]) -> Callable[..., None]:
    """One click option per option of mockscope.options that has a `cli` entry, each also
    settable from its environment variable (shown in --help)."""
    for spec in reversed(CLI_OPTIONS):
        cli = spec.cli
        assert cli is not None
        help_text = cli.help or spec.help
        if cli.multiple:
            help_text += " In the environment variable: several, separated by spaces."
        if cli.kind == "flag":
            command = click.option(
                cli.flag,
                spec.name,
                default=cli.default,
                show_default=True,
                envvar=cli.envvar or envvar_of(cli.flag),
                show_envvar=True,
                help=help_text,
            )(command)
            continue
        command = click.option(
            cli.flag,
            spec.name,
            type=_click_type(spec),
            default=cli.default,
            show_default=cli.default not in (None, ""),
            multiple=cli.multiple,
            metavar=cli.metavar,
            envvar=cli.envvar or envvar_of(cli.flag),
            show_envvar=True,
            help=help_text,
        )(command)
    return command


def _click_type(spec: Option) -> click.ParamType[Any] | type:
    cli = spec.cli
    assert cli is not None
    if cli.kind == "choice":
        return click.Choice(spec.choices)
    if cli.kind == "path":
        return click.Path(exists=True, dir_okay=False)
    low, high = cli.minimum, cli.maximum
    if cli.kind == "int" and low is not None:
        return click.IntRange(int(low), None if high is None else int(high))
    if cli.kind == "int":
        return int
    if cli.kind == "float":
        return click.FloatRange(min=low, max=high)
    return str


@main.command(short_help="Serve the fake API (and its control plane) until Ctrl-C or SIGTERM.")
@_serve_options
@click.option(
    "--quiet",
    is_flag=True,
    envvar=envvar_of("--quiet"),
    show_envvar=True,
    help="No per-request log lines.",
)
def serve(quiet: bool, **values: Any) -> None:
    """Serve the fake API until Ctrl-C or SIGTERM.

    The DashScope API is under /api/v1 (point the SDK at it with DASHSCOPE_HTTP_BASE_URL); the
    control plane is under /_mockscope/, and GET /_mockscope/openapi.json describes both. Every
    option can also be set from the environment variable shown beside it.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    scenario_file = values.pop("scenario")
    if scenario_file is not None:
        try:
            values["scenario"] = reading.read_file(scenario_file)
            reading.checked(values["scenario"])
        except ScenarioError as error:
            raise click.ClickException(f"{scenario_file}: {error}") from None
    values["api_keys"] = values["api_keys"] or None
    try:
        server = MockServer(
            **values, access_log=None if quiet else logging.getLogger("mockscope.access")
        )
    except OptionError as error:
        raise click.UsageError(str(error)) from None
    try:
        asyncio.run(_serve_until_signalled(server))
    except OSError as error:
        host, port = values["host"], values["port"]
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None


async def _serve_until_signalled(server: MockServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    limit_accept_error_logging(loop)
    await server.start_async()
    tune_gc_for_serving()
    # One line says where everything is: the API, and the page to watch it from.
    log.info(
        "mockscope serving the DashScope API at %s and its inspector at %s%s",
        server.base_http_api_url,
        server.inspector_url,
        " (add ?token=<the control token>)" if server.options.control_token else "",
    )
    log.info("point the dashscope SDK at it: DASHSCOPE_HTTP_BASE_URL=%s", server.base_http_api_url)
    try:
        await stop.wait()
    finally:
        log.info("mockscope shutting down")
        await server.stop_async()


@main.command(short_help="Print the models served, with their rules, as a markdown table.")
@click.option(
    "--models",
    "models_file",
    type=click.Path(exists=True, dir_okay=False),
    help='A models file ({"models": [...], "serve": [ids]}, as serve --models takes) to apply '
    "to the catalogue first.",
)
def models(models_file: str | None) -> None:
    """Print the models served, with their rules, as a markdown table."""
    try:
        catalogue = catalogue_for(models_file)
    except CatalogueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(models_table(catalogue), nl=False)


def models_table(catalogue: ModelCatalogue) -> str:
    """The models and their rules, one row each, as the README lists them."""
    lines = [
        "| model | endpoints (below `/api/v1/services/aigc/`) | input | size rule | default "
        "size | n | prompt / negative (chars, truncated beyond) | parameters | submits/s, in "
        "progress | result fields |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for spec in catalogue:
        endpoints = "<br>".join(
            f"`{path.removeprefix('/services/aigc/')}` {', '.join(sorted(modes))}"
            for path, modes in spec.endpoints.items()
        )
        source = "`input.prompt`" if spec.protocol == "prompt" else "`input.messages`"
        fields = [name for name, on in _result_fields(spec) if on]
        cells = [
            f"`{spec.id}`" + "".join(f"<br>(`{alias}`)" for alias in spec.aliases),
            endpoints,
            source,
            spec.size.describe(),
            f"`{spec.size.default}`",
            f"{spec.n_min}-{spec.n_max} ({spec.n_default})",
            f"{spec.prompt_max} / {spec.negative_prompt_max}",
            ", ".join(f"`{p.name}`" for p in spec.parameters),
            f"{spec.limits.submit_qps}, {spec.limits.tasks_in_progress}",
            ", ".join(fields),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _result_fields(spec: ModelSpec) -> list[tuple[str, bool]]:
    style = spec.result
    if style.shape == "choices":
        return [("`choices[].message.content[].image`", True), ("`usage.size`", True)]
    return [
        ("`orig_prompt`", style.orig_prompt),
        ("`actual_prompt` (with `prompt_extend`)", style.actual_prompt),
        ("`url`", True),
    ]


@main.command(
    short_help="Probe a target and the fake with the same cheap requests; report every difference."
)
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
@click.option(
    "--progress/--no-progress",
    default=None,
    help="One line per probe on standard error as it runs (default: when that is a terminal).",
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
    progress: bool | None,
) -> None:
    """Probe a target and the fake with the same cheap requests and report every difference.

    Exits 0 when the fake answered every probe as the target did, 1 when there is drift,
    2 on a usage error (including --target live without an opt-in or an API key).
    """
    from mockscope import drift  # the probes pull in nothing that `serve` needs

    if progress is None:
        progress = sys.stderr.isatty()
    on_probe = _progress_line if progress else None
    if replay_path is not None:
        result = drift.replay(replay_path, progress=on_probe)
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
        result = drift.run_check(options, progress=on_probe)
    markdown = result.markdown()
    if report_path is None:
        click.echo(markdown, nl=False)
    else:
        with open(report_path, "w", encoding="utf-8") as report:
            report.write(markdown)
    if record_path is not None:
        result.write_recording(record_path, secrets=[api_key])
    click.echo(f"mockscope check: {result.summary()}", err=True)
    sys.exit(1 if result.drifted else 0)


@main.command(
    "openapi", short_help="Print the OpenAPI 3.1 document of the API and the control plane."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="The document's format.",
)
@click.option(
    "--server-url",
    default=None,
    metavar="URL",
    help="The URL to name under `servers` (default: http://127.0.0.1:8080).",
)
def openapi_command(output_format: str, server_url: str | None) -> None:
    """Print the one OpenAPI 3.1 document that describes the fake: the DashScope routes, the
    result downloads and uploads, and the /_mockscope/ control plane with its bodies, examples
    and errors. A running server answers the same at GET /_mockscope/openapi.json (naming
    itself under `servers`)."""
    from mockscope import openapi

    if output_format == "json":
        click.echo(openapi.as_json(server_url).decode(), nl=False)
    else:
        click.echo(openapi.as_yaml(server_url), nl=False)


def _progress_line(side: str, number: int, total: int, outcome: Any) -> None:
    """`[ 3/14] target  create-a: 200 (9 requests)`, one per probe and side, as they finish."""
    width = len(str(total))
    if outcome.skipped:
        answer = f"skipped ({outcome.skipped})"
    else:
        statuses = [step.response.status for step in outcome.steps]
        answer = str(statuses[-1] or "no answer")
        if len(statuses) > 1:
            answer += f" ({len(statuses)} requests)"
    click.echo(f"[{number:>{width}}/{total}] {side:<6} {outcome.probe.name}: {answer}", err=True)


if __name__ == "__main__":
    main()
