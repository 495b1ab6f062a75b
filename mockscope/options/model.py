"""The options themselves: one frozen dataclass, one field per option (see mockscope.options)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal, get_args

from mockscope.backend import BackendConfig, with_overrides
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import Clock, JumpingClock, ManualClock, SystemClock
from mockscope.domain.lifecycle import Timing
from mockscope.domain.ratelimit import Limits
from mockscope.options import spec as checks
from mockscope.options.spec import Cli, OptionError, Wrong, option, specs
from mockscope.scenarios.reading import Declaration

TimeMode = Literal["jump", "manual", "realistic", "zero-duration"]
SdkSleep = Literal["virtual", "real"]
TIME_MODES: Final = get_args(TimeMode)
SDK_SLEEPS: Final = get_args(SdkSleep)

_RENAMED_TIME = {
    "instant": "'instant' is gone: use 'jump' (a task is finished at its first read, with "
    "live-like times) or 'zero-duration' (tasks take no time at all)",
}


@dataclass(frozen=True, kw_only=True)
class Options:
    """Everything a MockServer is built from; see the module docstring."""

    # -- time -------------------------------------------------------------------------------
    time: TimeMode = option(
        "realistic",
        "How time passes: 'jump' (a read of an unfinished task jumps the clock to its end), "
        "'manual' (only explicit advances), 'realistic' (the wall clock times time_scale), "
        "'zero-duration' (the wall clock; every task takes no time).",
        " | ".join(map(repr, TIME_MODES)),
        checks.one_of(*TIME_MODES, hint=_RENAMED_TIME),
        marker=True,
        marker_default="jump",
        cli=Cli("--time", "choice", default="realistic"),
        choices=TIME_MODES,
    )
    time_scale: float | None = option(
        None,
        "Simulated seconds per real second: of a realistic or zero-duration clock (1 unless "
        "given; 0 gives a manual clock), and of a jumping clock between jumps (it stands still "
        "unless given).",
        "a number >= 0 or None",
        checks.time_scale,
        marker=True,
        cli=Cli(
            "--time-scale",
            "float",
            default=1.0,
            minimum=0,
            help="Simulated seconds per real second (with --time jump: between jumps); 0 gives "
            "a clock that moves only when told: POST /_mockscope/clock/advance with a JSON body "
            'such as {"seconds": 60}.',
        ),
    )
    start_time: int | str | datetime | None = option(
        None,
        "When the fake's clock starts (and starts again at every reset): epoch milliseconds, a "
        "datetime or an ISO 8601 string such as '2024-03-01T09:38:24Z' (UTC unless it has an "
        "offset). By default: now, except a manual clock, which starts at 2024-03-01T09:38:24Z.",
        "epoch milliseconds, a datetime, an ISO 8601 string or None",
        checks.start_time,
        marker=True,
        cli=Cli(
            "--start-time",
            metavar="TIME",
            help="When the fake's clock starts (and again at every POST /_mockscope/reset): an "
            "ISO 8601 time such as 2024-03-01T09:38:24Z (UTC unless it has an offset) or epoch "
            "milliseconds. By default now; with --time manual (or --time-scale 0) "
            "2024-03-01T09:38:24Z.",
        ),
    )
    clock: Clock | None = option(
        None,
        "A clock to use instead of the one `time` builds, e.g. JumpingClock(start_ms=...).",
        "a Clock or None",
        checks.optional(Clock),
    )
    timing: Timing | None = option(
        None,
        "How long every task takes; by default live-like (zero with time='zero-duration').",
        "a mockscope.Timing or None",
        checks.optional(Timing),
        marker=True,
    )
    # -- accounts, limits, behaviour -------------------------------------------------------
    limits: Limits | None = option(
        None,
        "Rate limits and concurrency; by default the live service's (Limits.unlimited(): none).",
        "a mockscope.Limits or None",
        checks.optional(Limits),
        marker=True,
    )
    retry_after: bool = option(
        False,
        "Send Retry-After with 429 answers. No recording shows the live service sending it, so "
        "by default neither does the fake; the journal's Retry-After check needs it on. Also "
        "`Limits(retry_after=True)`.",
        "True or False",
        checks.is_(bool),
        marker=True,
        cli=Cli(
            "--retry-after/--no-retry-after",
            "flag",
            default=False,
            help="Send Retry-After with 429 answers (the live service sends none; the "
            "journal's Retry-After check needs it).",
        ),
    )
    api_keys: Iterable[str] | None = option(
        None,
        "Accept only these API keys; by default any non-empty key.",
        "a set of non-empty key strings or None",
        checks.keys,
        marker=True,
        cli=Cli(
            "--api-key",
            multiple=True,
            metavar="KEY",
            help="Accept only this API key (repeatable); by default any key is accepted.",
        ),
    )
    accounts: Iterable[AccountSpec] | None = option(
        None,
        "Keys and workspaces sharing an account; by default each key is its own account.",
        "a list of mockscope.AccountSpec or None",
        checks.accounts,
        marker=True,
    )
    seed: int | None = option(
        None,
        "Seed for reproducible task ids, images and scenario draws.",
        "an int or None",
        checks.whole(-(2**63), optional=True),
        marker=True,
        cli=Cli("--seed", "int"),
    )
    scenario: Declaration | None = option(
        None,
        "Scenario rules in force from the start and after every reset.",
        "a list of rules, a scenario document or None",
        checks.scenario,
        marker=True,
        cli=Cli(
            "--scenario",
            "path",
            metavar="FILE",
            help="A YAML or JSON scenario file in force from the start and after every reset: "
            'the document POST /_mockscope/scenarios takes, e.g. {"rules": [{"outcome": '
            '"failed", "code": "DataInspectionFailed"}]} (GET /_mockscope/openapi.json '
            "describes it).",
        ),
    )
    models: Any = option(
        None,
        "The models served: the ids to serve, a models file (YAML or JSON, "
        "schemas/models-file.json: models to add or change, and the ones to serve), such a "
        "document, or a ModelCatalogue; by default every model of the catalogue.",
        "a list of model ids, a models-file path or mapping, a ModelCatalogue or None",
        checks.models,
        marker=True,
        cli=Cli(
            "--models",
            "path",
            metavar="FILE",
            help='A YAML or JSON file {"models": [entries to add, or an id with the keys to '
            'change], "serve": [ids]}; by default every model of the catalogue is served '
            "(`mockscope models` prints them).",
        ),
    )
    journal_size: int | None = option(
        None,
        "How many requests the journal keeps (10,000 unless `config` says otherwise).",
        "an int >= 1 or None",
        checks.whole(1, optional=True),
        cli=Cli(
            "--journal-size",
            "int",
            default=10_000,
            minimum=1,
            help="How many requests the journal keeps.",
        ),
    )
    config: BackendConfig | None = option(
        None,
        "The simulated service's configuration, which the options above override.",
        "a mockscope.BackendConfig or None",
        checks.optional(BackendConfig),
    )
    validate_responses: bool = option(
        False,
        "Check every response against schemas/ (see server.schema_violations).",
        "True or False",
        checks.is_(bool),
    )
    # -- serving ---------------------------------------------------------------------------
    host: str = option(
        "127.0.0.1",
        "Address to listen on.",
        "a host name or address",
        checks.is_(str),
        cli=Cli("--host", default="127.0.0.1"),
    )
    port: int = option(
        0,
        "Port to listen on (0 picks a free one).",
        "a port number, 0 to 65535",
        checks.whole(0, 65535),
        cli=Cli("--port", "int", default=8080, minimum=0, maximum=65535),
    )
    public_url: str = option(
        "",
        "Base of the result URLs handed out (default: the address each request came to).",
        "a URL string",
        checks.is_(str),
        cli=Cli("--public-url", default=""),
    )
    control_token: str = option(
        "",
        "Require this token (X-Mockscope-Token) from every caller of /_mockscope/, loopback "
        "included; with it the plane also answers non-loopback callers.",
        "a string",
        checks.is_(str),
        cli=Cli("--control-token", default="", envvar="MOCKSCOPE_CONTROL_TOKEN"),
    )
    header_timeout: float = option(
        10.0,
        "Seconds a new connection has to send its first request header; 0 for no limit.",
        "a number of seconds, 0 to 3600",
        checks.seconds(3600),
        cli=Cli("--header-timeout", "float", default=10.0, minimum=0),
    )
    keepalive_timeout: float = option(
        75.0,
        "Seconds an idle keep-alive connection (or a slow header after an answer) stays open.",
        "a number of seconds, 0 to 3600",
        checks.seconds(3600),
        cli=Cli("--keepalive-timeout", "float", default=75.0, minimum=0),
    )
    max_connections: int = option(
        1000,
        "How many connections may be open at once; more are answered 503 and closed (0: no cap).",
        "an int >= 0",
        checks.whole(0),
        cli=Cli("--max-connections", "int", default=1000, minimum=0),
    )
    header_scenarios: bool = option(
        True,
        "Let a request declare its own outcome in an X-Mockscope-Scenario header (switch off "
        "on servers shared by clients that must not hold or break each other's answers).",
        "True or False",
        checks.is_(bool),
        cli=Cli("--header-scenarios/--no-header-scenarios", "flag", default=True),
    )
    access_log: logging.Logger | None = option(
        None,
        "Where to log one line per request; None for none.",
        "a Logger or None",
        checks.optional(logging.Logger),
    )

    def __post_init__(self) -> None:
        for spec in specs(type(self)):
            value = getattr(self, spec.name)
            try:
                kept = spec.check(value)
            except Wrong as wrong:
                detail = f" ({wrong})" if wrong.args else ""
                raise OptionError(
                    spec.name,
                    f"mockscope option {spec.name}= must be {spec.expected}, got {value!r}{detail}",
                ) from None
            object.__setattr__(self, spec.name, kept)
        if self.clock is not None and self.start_time is not None:
            raise OptionError(
                "start_time",
                "mockscope option start_time= cannot be combined with clock=: give the clock "
                "its start instead, e.g. ManualClock(start_ms=...)",
            )

    # -- what the options make ------------------------------------------------------------------

    def kwargs(self) -> dict[str, Any]:
        """The options as MockServer keywords: `MockServer(**options.kwargs())`."""
        return {spec.name: getattr(self, spec.name) for spec in specs(Options)}

    def new_clock(self) -> Clock:
        """The clock `time` and `time_scale` describe (or the `clock` given)."""
        if self.clock is not None:
            return self.clock
        scale, start = self.time_scale, self.start_time
        assert start is None or isinstance(start, int)  # the check made it epoch milliseconds
        if self.time == "jump":
            return JumpingClock(start, flow=scale or 0.0)
        if self.time == "manual" or scale == 0:
            return ManualClock() if start is None else ManualClock(start)
        return SystemClock(scale if scale is not None else 1.0, start_ms=start)

    def backend_config(self) -> BackendConfig:
        """The backend configuration: `config` (or the defaults) with the options applied."""
        timing = self.timing
        if timing is None and self.time == "zero-duration":
            timing = Timing.instant()
        limits = self.limits
        if self.retry_after:
            base = limits or (self.config or BackendConfig()).limits
            limits = replace(base, retry_after=True)
        return with_overrides(
            self.config or BackendConfig(),
            scenario=self.scenario,
            api_keys=frozenset(self.api_keys) if self.api_keys is not None else None,
            accounts=tuple(self.accounts) if self.accounts is not None else None,
            timing=timing,
            limits=limits,
            seed=self.seed,
            journal_size=self.journal_size,
            models=self.models,
        )


@dataclass(frozen=True, kw_only=True)
class PluginOptions(Options):
    """The pytest plugin's options: a MockServer's, and how the dashscope SDK waits."""

    sdk_sleep: SdkSleep | None = option(
        None,
        "The dashscope SDK's polling sleeps: 'virtual' (they advance the fake's clock) or "
        "'real'; by default real only under time='realistic'.",
        "'virtual' | 'real' | None",
        checks.one_of(*SDK_SLEEPS, None),
        marker=True,
    )

    @property
    def effective_sdk_sleep(self) -> SdkSleep:
        if self.sdk_sleep is not None:
            return self.sdk_sleep
        return "real" if self.time == "realistic" else "virtual"

    def server_options(self) -> Options:
        """The options the server is built from (all but the plugin's own)."""
        return Options(**self.kwargs())
