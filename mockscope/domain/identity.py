"""Who is calling: API keys, workspaces and the accounts they belong to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mockscope.domain.accounts import AccountSpec
from mockscope.domain.errors import AccessDenied, InvalidApiKey

# Listings' numeric ids live with the other ids (the task index needs them too); kept here too.
from mockscope.domain.ids import account_uid as account_uid
from mockscope.domain.ids import api_key_id as api_key_id
from mockscope.domain.ids import numeric_id as numeric_id


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: the key it used and the account that key acts for."""

    account: str
    api_key: str


_KNOWN_CALLERS = 4096


class Directory:
    """Maps keys and workspaces to accounts; by default every key is an account of its own."""

    def __init__(self, api_keys: Iterable[str] | None, accounts: Iterable[AccountSpec]) -> None:
        accounts = tuple(accounts)
        self._named = frozenset(spec.name for spec in accounts)
        self._by_key = {key: spec.name for spec in accounts for key in spec.api_keys}
        self._by_workspace = {ws: spec.name for spec in accounts for ws in spec.workspaces}
        self._accepted: frozenset[str] | None = None
        if api_keys is not None:
            self._accepted = frozenset(api_keys) | frozenset(self._by_key)
        # Every poll repeats the same header; the answer never changes for a directory.
        self._known: dict[tuple[str | None, str | None], Caller] = {}

    def authenticate(self, authorization: str | None, workspace: str | None = None) -> Caller:
        """The caller behind an `Authorization: Bearer <key>` header value."""
        known = self._known.get((authorization, workspace))
        if known is not None:
            return known
        caller = self._authenticate(authorization, workspace)
        if len(self._known) >= _KNOWN_CALLERS:
            self._known.clear()
        self._known[(authorization, workspace)] = caller
        return caller

    def shown(self, account: str) -> str:
        """An account as it may leave the server: a configured account by its name, an account
        that is just its key (the default) by the key masked."""
        return account if account in self._named else masked_key(account)

    def _authenticate(self, authorization: str | None, workspace: str | None) -> Caller:
        if not authorization or not authorization.strip():
            raise InvalidApiKey(InvalidApiKey.missing_message)
        scheme, _, key = authorization.strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer":
            raise InvalidApiKey()
        if not key:
            raise InvalidApiKey(InvalidApiKey.missing_message)
        if self._accepted is not None and key not in self._accepted:
            raise InvalidApiKey()
        own = self._by_key.get(key)
        if workspace and workspace in self._by_workspace:
            account = self._by_workspace[workspace]
            if own is not None and own != account:
                raise AccessDenied(f"The API key has no access to workspace {workspace}.")
            return Caller(account, key)
        return Caller(own if own is not None else key, key)


#: The only region the fake serves; listings report it for every task.
REGION = "cn-beijing"


def masked_key(api_key: str) -> str:
    """An API key as it may be shown: its `sk-` prefix and, for a key long enough to keep them
    secret, its last four characters (`sk-…abcd`); a short key shows nothing but the prefix.

    No key leaves the server in clear: the journal and task listings of the control plane and
    the log lines show keys only this way (or as a configured account's name)."""
    prefix = "sk-" if api_key.startswith("sk-") else ""
    tail = api_key[-4:] if len(api_key) - len(prefix) >= 16 else ""
    return f"{prefix}…{tail}"
