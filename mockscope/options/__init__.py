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

from mockscope.options.model import (
    SDK_SLEEPS,
    TIME_MODES,
    Options,
    PluginOptions,
    SdkSleep,
    TimeMode,
)
from mockscope.options.spec import Cli, Option, OptionError, specs
from mockscope.options.surfaces import (
    CLI_OPTIONS,
    MARKER_OPTIONS,
    PLUGIN_DEFAULTS,
    build,
    default_of,
    takes_options,
)

__all__ = [
    "CLI_OPTIONS",
    "MARKER_OPTIONS",
    "PLUGIN_DEFAULTS",
    "SDK_SLEEPS",
    "TIME_MODES",
    "Cli",
    "Option",
    "OptionError",
    "Options",
    "PluginOptions",
    "SdkSleep",
    "TimeMode",
    "build",
    "default_of",
    "specs",
    "takes_options",
]
