"""What an option is: its metadata (help, what it must be, where it is offered) and its checks.

A check returns the value to keep (normalised: a set of keys becomes a frozenset, one scenario
rule a list of one) or raises Wrong; the model turns that into one OptionError naming the option.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar

from mockscope.backend.catalogue import CatalogueError, catalogue_for
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.models import ModelCatalogue
from mockscope.scenarios import reading
from mockscope.scenarios.rules import ScenarioRules

T = TypeVar("T")


class OptionError(ValueError):
    """An option that does not exist, or a value it cannot take."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


class Wrong(Exception):
    """Raised by a check: the value does not fit (with a hint, sometimes)."""


@dataclass(frozen=True)
class Cli:
    """How an option appears in `mockscope serve`: flag, value type and its own default."""

    flag: str
    kind: Literal["str", "int", "float", "choice", "path", "flag"] = "str"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    multiple: bool = False
    metavar: str | None = None
    envvar: str | None = None
    #: Where the CLI needs other words than the option's help.
    help: str = ""


#: "The same default as MockServer's".
SAME: Final = object()


@dataclass(frozen=True)
class Option:
    """What one field means and where it is offered."""

    help: str
    expected: str
    check: Callable[[Any], Any]
    marker: bool = False
    #: The plugin's default, when it differs from MockServer's.
    marker_default: Any = SAME
    cli: Cli | None = None
    choices: tuple[str, ...] = ()
    name: str = ""


def option(default: T, help: str, expected: str, check: Callable[[Any], Any], **where: Any) -> T:
    spec = Option(help, expected, check, **where)
    return field(default=default, metadata={"mockscope": spec})


# -- checks: each returns the value to keep, or raises Wrong ----------------------------------


def is_(kind: type, optional: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not (isinstance(value, kind) or (optional and value is None)):
            raise Wrong()
        return value

    return check


def optional(kind: type) -> Callable[[Any], Any]:
    return is_(kind, optional=True)


def one_of(*allowed: object, hint: Mapping[str, str] | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str) and hint and value in hint:
            raise Wrong(hint[value])
        if value not in allowed:
            raise Wrong()
        return value

    return check


def whole(minimum: int, maximum: int | None = None, optional: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise Wrong()
        if maximum is not None and value > maximum:
            raise Wrong()
        return value

    return check


def seconds(maximum: float) -> Callable[[Any], Any]:
    """A finite number of seconds from 0 to `maximum` (0 switches the limit off)."""

    def check(value: Any) -> Any:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Wrong()
        if not 0 <= value <= maximum:  # NaN fails both
            raise Wrong()
        return float(value)

    return check


def time_scale(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise Wrong()
    return float(value)


def start_time(value: Any) -> int | None:
    """Epoch milliseconds from epoch milliseconds, a datetime or an ISO 8601 string (UTC unless
    it carries an offset)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise Wrong()
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise Wrong("not an ISO 8601 time such as 2024-03-01T09:38:24Z") from None
    if not isinstance(value, datetime):
        raise Wrong()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def keys(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise Wrong()
    keys = frozenset(value)
    if not keys or not all(isinstance(key, str) and key for key in keys):
        raise Wrong()
    return keys


def accounts(value: Any) -> tuple[AccountSpec, ...] | None:
    if value is None:
        return None
    accounts = tuple(value) if isinstance(value, Iterable) else (value,)
    if not all(isinstance(account, AccountSpec) for account in accounts):
        raise Wrong()
    return accounts


def scenario(value: Any) -> ScenarioRules | None:
    """The rules read once; a malformed scenario raises ScenarioError as it is."""
    if value is None or isinstance(value, ScenarioRules):
        return value
    if isinstance(value, str):  # one rule on its own is a list of one
        value = [value]
    if not isinstance(value, Mapping | list | tuple):
        raise Wrong()
    return reading.checked(value)


def models(value: Any) -> ModelCatalogue | None:
    """The catalogue to serve, built (and checked against the schemas) once, here."""
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike | Mapping | list | tuple | ModelCatalogue):
        raise Wrong()
    if isinstance(value, list | tuple) and not all(isinstance(i, str) and i for i in value):
        raise Wrong()
    try:
        return catalogue_for(value)
    except CatalogueError as error:
        raise Wrong(str(error)) from None


def specs(options_type: type) -> tuple[Option, ...]:
    """Every option (field) of a dataclass of options, in declaration order, named."""
    found = _SPECS.get(options_type)
    if found is None:
        found = tuple(
            replace(item.metadata["mockscope"], name=item.name) for item in fields(options_type)
        )
        _SPECS[options_type] = found
    return found


_SPECS: dict[type, tuple[Option, ...]] = {}
