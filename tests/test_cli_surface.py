"""The command line as a newcomer meets it: help that fits, environment variables for every
`serve` option, a clock start, `python -m mockscope`, and `check` that shows its progress."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from mockscope import ManualClock, MockServer
from mockscope import cli as cli_module
from mockscope.cli import envvar_of, main
from mockscope.domain.clock import DEFAULT_MANUAL_START_MS
from mockscope.options import CLI_OPTIONS, OptionError, Options

START = "2025-06-01T12:00:00Z"
START_MS = int(datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp() * 1000)

#: The serve options that name a file (MockServer receives what the file says).
FILES = {"scenario", "models"}
#: A value for each other serve option in its environment variable, and what MockServer receives.
ENVIRONMENT = {
    "time": ("manual", "manual"),
    "time_scale": ("0.5", 0.5),
    "start_time": (START, START),
    "api_keys": ("sk-a sk-b", ("sk-a", "sk-b")),
    "seed": ("7", 7),
    "journal_size": ("12", 12),
    "host": ("127.0.0.2", "127.0.0.2"),
    "port": ("0", 0),
    "public_url": ("http://fake.example", "http://fake.example"),
    "control_token": ("secret", "secret"),
    "header_timeout": ("2.5", 2.5),
    "keepalive_timeout": ("30", 30.0),
    "max_connections": ("7", 7),
    "header_scenarios": ("false", False),
    "retry_after": ("true", True),
}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`serve` builds its MockServer from the options it parsed, and serves nothing."""
    seen: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, **options: Any) -> None:
            seen.append(options)

    async def no_serving(server: object) -> None:
        return None

    monkeypatch.setattr(cli_module, "MockServer", Recording)
    monkeypatch.setattr(cli_module, "_serve_until_signalled", no_serving)
    return seen


def test_every_serve_option_has_an_environment_variable_shown_in_help() -> None:
    help_text = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    for spec in CLI_OPTIONS:
        assert spec.cli is not None
        variable = spec.cli.envvar or envvar_of(spec.cli.flag)
        assert variable.startswith("MOCKSCOPE_"), spec.name
        assert f"env var: {variable}" in help_text, spec.name
    assert "env var: MOCKSCOPE_QUIET" in help_text
    names = {spec.name for spec in CLI_OPTIONS}
    assert set(ENVIRONMENT) | (FILES & names) == names


def test_every_serve_option_is_read_from_its_environment_variable(
    started: list[dict[str, Any]], tmp_path: Any
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("rules:\n  - outcome: failed\n")
    models = tmp_path / "models.yaml"
    models.write_text("serve: [wanx-v1]\n")
    files = {"scenario": scenario, "models": models}
    environment = {
        envvar_of(spec.cli.flag): str(files[spec.name])
        if spec.name in FILES
        else ENVIRONMENT[spec.name][0]
        for spec in CLI_OPTIONS
        if spec.cli
    }
    environment["MOCKSCOPE_QUIET"] = "1"
    result = CliRunner().invoke(main, ["serve"], env=environment)
    assert result.exit_code == 0, result.output
    (options,) = started
    for name, (_, expected) in ENVIRONMENT.items():
        assert options[name] == expected, name
    assert options["scenario"] == {"rules": [{"outcome": "failed"}]}
    if "models" in options:
        assert options["models"] is not None
    assert options["access_log"] is None, "MOCKSCOPE_QUIET=1 is --quiet"


def test_a_flag_wins_over_its_environment_variable(started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "9"], env={"MOCKSCOPE_PORT": "7"})
    assert result.exit_code == 0, result.output
    assert started[0]["port"] == 9


def test_a_wrong_environment_value_names_its_variable() -> None:
    result = CliRunner().invoke(main, ["serve"], env={"MOCKSCOPE_PORT": "eighty"})
    assert result.exit_code == 2
    assert "--port" in result.output


@pytest.mark.parametrize(
    ("time", "scale"), [("manual", None), ("jump", None), ("realistic", 60.0), ("realistic", 0.0)]
)
def test_the_clock_starts_at_start_time_in_every_mode(time: Any, scale: float | None) -> None:
    clock = Options(time=time, time_scale=scale, start_time=START).new_clock()
    # A realistic clock runs on from its start; a second of wall time is plenty of slack.
    assert START_MS <= clock.now_ms() < START_MS + 60_000 * 2
    clock.advance(10)
    clock.restart()
    assert START_MS <= clock.now_ms() < START_MS + 60_000, "a reset goes back to the start"


@pytest.mark.parametrize(
    "given",
    [
        START,
        "2025-06-01T20:00:00+08:00",
        "2025-06-01T12:00:00",
        str(START_MS),
        START_MS,
        datetime(2025, 6, 1, 12, tzinfo=UTC),
    ],
)
def test_start_time_forms(given: Any) -> None:
    assert Options(start_time=given).start_time == START_MS


@pytest.mark.parametrize("given", ["yesterday", -1, 1.5, True])
def test_a_wrong_start_time_is_refused_naming_the_option(given: Any) -> None:
    with pytest.raises(OptionError, match="start_time="):
        Options(start_time=given)


def test_start_time_and_a_clock_of_ones_own_do_not_mix() -> None:
    with pytest.raises(OptionError, match=re.escape("ManualClock(start_ms=...)")):
        MockServer(clock=ManualClock(), start_time=START)


def test_the_manual_clock_still_starts_at_its_documented_date() -> None:
    assert Options(time="manual").new_clock().now_ms() == DEFAULT_MANUAL_START_MS
    assert datetime.fromtimestamp(DEFAULT_MANUAL_START_MS / 1000, UTC).isoformat() == (
        "2024-03-01T09:38:24+00:00"
    )


def test_serve_start_time_reaches_the_clock(started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(main, ["serve", "--time", "manual", "--start-time", START])
    assert result.exit_code == 0, result.output
    assert (
        Options(**{k: v for k, v in started[0].items() if k != "access_log"}).new_clock().now_ms()
        == START_MS
    )


def test_top_level_help_shows_every_command_summary_in_full() -> None:
    output = CliRunner().invoke(main, ["--help"]).output
    commands = output[output.index("Commands:") :]
    assert "..." not in commands, "a summary cut short"
    flat = " ".join(output.split())
    for name, command in main.commands.items():
        assert command.short_help, name
        assert " ".join(command.short_help.split()) in flat, name


def test_serve_help_names_routes_not_repository_paths() -> None:
    output = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    assert "schemas/" not in output
    assert 'POST /_mockscope/clock/advance with a JSON body such as {"seconds": 60}' in output
    assert "POST /_mockscope/scenarios" in output


def test_python_dash_m_mockscope_is_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockscope", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mockscope, version ")


@pytest.mark.parametrize("flag", ["--progress", "--no-progress"])
def test_check_shows_one_line_per_probe_and_a_summary(flag: str) -> None:
    from mockscope.drift import PROBES

    result = CliRunner().invoke(main, ["check", flag])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    if flag == "--progress":
        total = len(PROBES)
        assert len(progress) == 2 * total, "one line per probe on each side"
        assert progress[0].startswith(f"[ 1/{total}] target ")
        assert progress[-1].startswith(f"[{total}/{total}] fake ")
    else:
        assert progress == []
    summary = re.fullmatch(r"mockscope check: (\d+) probe\(s\) run, (\d+) skipped, .*", lines[-1])
    assert summary is not None, lines[-1]
    assert int(summary.group(1)) + int(summary.group(2)) == len(PROBES)
    assert "no drift" in lines[-1]
