"""Query parameters of the control routes, read strictly: a wrong one is a 400 that names it."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from mockscope.domain import errors
from mockscope.http.inbound import text

_ACCOUNT_ID = re.compile(r"[0-9]{16}")
_INTEGER = re.compile(r"[0-9]{1,10}")


def account_id(query: Mapping[str, str]) -> str | None:
    """`account_id`: an account's 16-digit numeric user id, or absent."""
    value = query.get("account_id")
    if value is None:
        return None
    if not _ACCOUNT_ID.fullmatch(value):
        raise errors.InvalidParameter("Parameter `account_id` must be an account's 16-digit id.")
    return value


def bounded_integer(
    query: Mapping[str, str], name: str, *, default: int, low: int, high: int
) -> int:
    """A whole number between `low` and `high`, or `default` when absent."""
    value = query.get(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
        raise errors.InvalidParameter(f"Parameter `{name}` must be between {low} and {high}.")
    return int(value)


def bounded_number(query: Mapping[str, str], name: str, *, default: float, high: float) -> float:
    """A finite number above 0 and at most `high`, or `default` when absent."""
    value = query.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= high):
        raise errors.InvalidParameter(
            f"Parameter `{name}` must be a number above 0 and at most {high:g}."
        )
    return number


def one_of(query: Mapping[str, str], name: str, choices: Sequence[str]) -> str | None:
    """One of `choices`, or None when absent."""
    value = query.get(name)
    if value is None:
        return None
    if value not in choices:
        raise errors.InvalidParameter(
            f"Parameter `{name}` must be one of {', '.join(choices)} (got `{text(value[:40])}`)."
        )
    return value
