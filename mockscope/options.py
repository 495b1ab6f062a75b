"""The one options model: what a fake is built from, wherever it is started.

`Options` is a frozen dataclass; each field is one option, and its metadata (an `Option`) says
what it means, how a value is checked, and where it is offered:

- every field is a keyword of `MockServer(...)` (its constructor is this dataclass's);
- fields with `marker=True` are keywords of `@pytest.mark.mockscope(...)` and fixtures
  `mockscope_<name>` (the plugin derives both from here, `PluginOptions` adds `sdk_sleep`);
- fields with a `cli=Cli(...)` are options of `mockscope serve` (the CLI derives its click
  options from here).

A value that does not fit raises OptionError naming the option, what it must be and what it got.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Concatenate, Final, Literal, ParamSpec, TypeVar, get_args

from mockscope.backend import BackendConfig, with_overrides
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import Clock, JumpingClock, ManualClock, SystemClock
from mockscope.domain.lifecycle import Timing
from mockscope.domain.ratelimit import Limits
from mockscope.scenarios import reading
from mockscope.scenarios.reading import Declaration

TimeMode = Literal["jump", "manual", "realistic", "zero-duration"]
SdkSleep = Literal["virtual", "real"]
TIME_MODES: Final = get_args(TimeMode)
SDK_SLEEPS: Final = get_args(SdkSleep)
T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S")
OptionsT = TypeVar("OptionsT", bound="Options")


class OptionError(ValueError):
    """An option that does not exist, or a value it cannot take."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class _Wrong(Exception):
    """Raised by a check: the value does not fit (with a hint, sometimes)."""


@dataclass(frozen=True)
class Cli:
    """How an option appears in `mockscope serve`: flag, value type and its own default."""

    flag: str
    kind: Literal["str", "int", "float", "choice", "path"] = "str"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    multiple: bool = False
    metavar: str | None = None
    envvar: str | None = None
    #: Where the CLI needs other words than the option's help.
    help: str = ""


#: "The same default as MockServer's".
_SAME: Final = object()


@dataclass(frozen=True)
class Option:
    """What one field means and where it is offered."""

    help: str
    expected: str
    check: Callable[[Any], Any]
    marker: bool = False
    #: The plugin's default, when it differs from MockServer's.
    marker_default: Any = _SAME
    cli: Cli | None = None
    choices: tuple[str, ...] = ()
    name: str = ""


def option(default: T, help: str, expected: str, check: Callable[[Any], Any], **where: Any) -> T:
    spec = Option(help, expected, check, **where)
    return field(default=default, metadata={"mockscope": spec})


# -- checks: each returns the value to keep, or raises _Wrong ----------------------------------


def _is(kind: type, optional: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not (isinstance(value, kind) or (optional and value is None)):
            raise _Wrong()
        return value

    return check


def _optional(kind: type) -> Callable[[Any], Any]:
    return _is(kind, optional=True)


def _one_of(*allowed: object, hint: Mapping[str, str] | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str) and hint and value in hint:
            raise _Wrong(hint[value])
        if value not in allowed:
            raise _Wrong()
        return value

    return check


def _whole(
    minimum: int, maximum: int | None = None, optional: bool = False
) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise _Wrong()
        if maximum is not None and value > maximum:
            raise _Wrong()
        return value

    return check


def _time_scale(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise _Wrong()
    return float(value)


def _keys(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _Wrong()
    keys = frozenset(value)
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise _Wrong()
    return keys


def _accounts(value: Any) -> tuple[AccountSpec, ...] | None:
    if value is None:
        return None
    accounts = tuple(value) if isinstance(value, Iterable) else (value,)
    if not all(isinstance(account, AccountSpec) for account in accounts):
        raise _Wrong()
    return accounts


def _scenario(value: Any) -> Mapping[str, Any] | None:
    """The checked document form; a malformed scenario raises ScenarioError as it is."""
    if value is None:
        return None
    if isinstance(value, str):  # one rule on its own is a list of one
        value = [value]
    if not isinstance(value, Mapping | list | tuple):
        raise _Wrong()
    document = reading.as_document(value)
    reading.checked(document)
    return document


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
        _one_of(*TIME_MODES, hint=_RENAMED_TIME),
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
        _time_scale,
        marker=True,
        cli=Cli(
            "--time-scale",
            "float",
            default=1.0,
            minimum=0,
            help="Simulated seconds per real second (with --time jump: between jumps); 0 gives "
            "a clock that moves only through POST /_mockscope/clock/advance (and jumps).",
        ),
    )
    clock: Clock | None = option(
        None,
        "A clock to use instead of the one `time` builds, e.g. JumpingClock(start_ms=...).",
        "a Clock or None",
        _optional(Clock),
    )
    timing: Timing | None = option(
        None,
        "How long every task takes; by default live-like (zero with time='zero-duration').",
        "a mockscope.Timing or None",
        _optional(Timing),
        marker=True,
    )
    # -- accounts, limits, behaviour -------------------------------------------------------
    limits: Limits | None = option(
        None,
        "Rate limits and concurrency; by default the live service's (Limits.unlimited(): none).",
        "a mockscope.Limits or None",
        _optional(Limits),
        marker=True,
    )
    api_keys: Iterable[str] | None = option(
        None,
        "Accept only these API keys; by default any non-empty key.",
        "a set of non-empty key strings or None",
        _keys,
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
        _accounts,
        marker=True,
    )
    seed: int | None = option(
        None,
        "Seed for reproducible task ids, images and scenario draws.",
        "an int or None",
        _whole(-(2**63), optional=True),
        marker=True,
        cli=Cli("--seed", "int"),
    )
    scenario: Declaration | None = option(
        None,
        "Scenario rules in force from the start and after every reset.",
        "a list of rules, a scenario document or None",
        _scenario,
        marker=True,
        cli=Cli(
            "--scenario",
            "path",
            metavar="FILE",
            help="A YAML or JSON scenario file (schemas/scenario.json) in force from the start "
            "and after every reset.",
        ),
    )
    journal_size: int | None = option(
        None,
        "How many requests the journal keeps (10,000 unless `config` says otherwise).",
        "an int >= 1 or None",
        _whole(1, optional=True),
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
        _optional(BackendConfig),
    )
    validate_responses: bool = option(
        False,
        "Check every response against schemas/ (see server.schema_violations).",
        "True or False",
        _is(bool),
    )
    # -- serving ---------------------------------------------------------------------------
    host: str = option(
        "127.0.0.1",
        "Address to listen on.",
        "a host name or address",
        _is(str),
        cli=Cli("--host", default="127.0.0.1"),
    )
    port: int = option(
        0,
        "Port to listen on (0 picks a free one).",
        "a port number, 0 to 65535",
        _whole(0, 65535),
        cli=Cli("--port", "int", default=8080, minimum=0, maximum=65535),
    )
    public_url: str = option(
        "",
        "Base of the result URLs handed out (default: the address each request came to).",
        "a URL string",
        _is(str),
        cli=Cli("--public-url", default=""),
    )
    control_token: str = option(
        "",
        "Open /_mockscope/ to non-loopback callers that send this token.",
        "a string",
        _is(str),
        cli=Cli("--control-token", default="", envvar="MOCKSCOPE_CONTROL_TOKEN"),
    )
    access_log: logging.Logger | None = option(
        None,
        "Where to log one line per request; None for none.",
        "a Logger or None",
        _optional(logging.Logger),
    )

    def __post_init__(self) -> None:
        for spec in specs(type(self)):
            value = getattr(self, spec.name)
            try:
                kept = spec.check(value)
            except _Wrong as wrong:
                detail = f" ({wrong})" if wrong.args else ""
                raise OptionError(
                    spec.name,
                    f"mockscope option {spec.name}= must be {spec.expected}, got {value!r}{detail}",
                ) from None
            object.__setattr__(self, spec.name, kept)

    # -- what the options make ------------------------------------------------------------------

    def kwargs(self) -> dict[str, Any]:
        """The options as MockServer keywords: `MockServer(**options.kwargs())`."""
        return {spec.name: getattr(self, spec.name) for spec in specs(Options)}

    def new_clock(self) -> Clock:
        """The clock `time` and `time_scale` describe (or the `clock` given)."""
        if self.clock is not None:
            return self.clock
        scale = self.time_scale
        if self.time == "jump":
            return JumpingClock(flow=scale or 0.0)
        if self.time == "manual" or scale == 0:
            return ManualClock()
        return SystemClock(scale if scale is not None else 1.0)

    def backend_config(self) -> BackendConfig:
        """The backend configuration: `config` (or the defaults) with the options applied."""
        timing = self.timing
        if timing is None and self.time == "zero-duration":
            timing = Timing.instant()
        return with_overrides(
            self.config or BackendConfig(),
            scenario=self.scenario,
            api_keys=frozenset(self.api_keys) if self.api_keys is not None else None,
            accounts=tuple(self.accounts) if self.accounts is not None else None,
            timing=timing,
            limits=self.limits,
            seed=self.seed,
            journal_size=self.journal_size,
        )


@dataclass(frozen=True, kw_only=True)
class PluginOptions(Options):
    """The pytest plugin's options: a MockServer's, and how the dashscope SDK waits."""

    sdk_sleep: SdkSleep | None = option(
        None,
        "The dashscope SDK's polling sleeps: 'virtual' (they advance the fake's clock) or "
        "'real'; by default real only under time='realistic'.",
        "'virtual' | 'real' | None",
        _one_of(*SDK_SLEEPS, None),
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


def specs(options_type: type[Options] = Options) -> tuple[Option, ...]:
    """Every option of `options_type`, in declaration order, named."""
    found = _SPECS.get(options_type)
    if found is None:
        found = tuple(
            replace(item.metadata["mockscope"], name=item.name) for item in fields(options_type)
        )
        _SPECS[options_type] = found
    return found


_SPECS: dict[type, tuple[Option, ...]] = {}


def default_of(spec: Option, surface: Literal["server", "marker", "cli"]) -> Any:
    """An option's default where it is offered."""
    if surface == "cli" and spec.cli is not None:
        return spec.cli.default
    if surface == "marker" and spec.marker_default is not _SAME:
        return spec.marker_default
    default: Any = {item.name: item.default for item in fields(PluginOptions)}[spec.name]
    return default


MARKER_OPTIONS: Final = tuple(spec for spec in specs(PluginOptions) if spec.marker)
CLI_OPTIONS: Final = tuple(spec for spec in specs(Options) if spec.cli is not None)
PLUGIN_DEFAULTS: Final = PluginOptions(
    **{spec.name: default_of(spec, "marker") for spec in MARKER_OPTIONS}
)


def build(
    options_type: type[OptionsT], where: str, given: Mapping[str, Any], known: Iterable[str] = ()
) -> OptionsT:
    """`options_type(**given)`, a name outside `known` (default: all) refused as OptionError."""
    known = list(known) or [spec.name for spec in specs(options_type)]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise OptionError(
            unknown[0],
            f"{where}: unknown option(s) {', '.join(unknown)}; options: {', '.join(known)}",
        )
    return options_type(**given)


def _taking(
    constructor: Callable[P, Options],
) -> Callable[[Callable[[S, Options], None]], Callable[Concatenate[S, P], None]]:
    """Give `__init__(self, options)` the keyword parameters of `constructor` (typed too)."""

    def decorate(init: Callable[[S, Options], None]) -> Callable[Concatenate[S, P], None]:
        def init_from_options(self: S, /, *args: P.args, **kwargs: P.kwargs) -> None:
            if args:
                raise TypeError("MockServer takes keyword options only")
            init(self, build(Options, "MockServer", kwargs))

        init_from_options.__doc__ = init.__doc__
        # help(MockServer) and IDEs show the options themselves.
        self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
        parameters = [self_parameter, *inspect.signature(constructor).parameters.values()]
        init_from_options.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        return init_from_options

    return decorate


#: Decorates MockServer.__init__: its keyword options are the fields of Options.
takes_options = _taking(Options)
