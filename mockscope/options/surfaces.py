"""Where options are offered: MockServer's keywords, the marker's and fixtures, serve's flags."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import Any, Concatenate, Final, Literal, ParamSpec, TypeVar

from mockscope.options.model import Options, PluginOptions
from mockscope.options.spec import SAME, Option, OptionError, specs

P = ParamSpec("P")
S = TypeVar("S")
OptionsT = TypeVar("OptionsT", bound=Options)


def default_of(spec: Option, surface: Literal["server", "marker", "cli"]) -> Any:
    """An option's default where it is offered."""
    if surface == "cli" and spec.cli is not None:
        return spec.cli.default
    if surface == "marker" and spec.marker_default is not SAME:
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
