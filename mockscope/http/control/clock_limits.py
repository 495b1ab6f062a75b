"""The control plane under /_mockscope/: what a test does in Python, any language can do here.

It answers loopback callers only, unless a token is configured; then the token is required.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any, NoReturn

from aiohttp import web

from mockscope import openapi, schemas
from mockscope.domain import errors
from mockscope.domain.ratelimit import PER_MODEL, Limits
from mockscope.domain.tasks import TaskRecord
from mockscope.http.control import query
from mockscope.http.inbound import same_secret, text
from mockscope.http.keys import BACKEND, CONTROL_TOKEN, OPERATION_ID
from mockscope.http.parse import decode_json, read_body
from mockscope.http.serialize import format_time, json_response

PREFIX = "/_mockscope"
TOKEN_HEADER = "X-Mockscope-Token"
ADVANCE_SCHEMA = "control-advance-request.json"
LIMITS_SCHEMA = "control-limits.json"


def guard(request: web.Request, *, token_in_query: bool = False) -> None:
    """Refuse a caller the control plane does not answer. With `token_in_query` (the
    inspector page, which a browser opens without headers) the token may come as `?token=`."""
    token = request.app[CONTROL_TOKEN]
    if token:
        offered = request.headers.get(TOKEN_HEADER)
        if offered is None:
            offered = request.query.get("token", "") if token_in_query else ""
        if not same_secret(offered, token):
            raise errors.AccessDenied(f"The control plane needs a valid {TOKEN_HEADER} header.")
        return
    if not _is_loopback(request.remote):
        raise errors.AccessDenied("The control plane answers loopback callers only.")


def _is_loopback(remote: str | None) -> bool:
    if remote is None:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1, a dual-stack socket's IPv4
    return address.is_loopback


def _clock_body(request: web.Request) -> dict[str, Any]:
    clock = request.app[BACKEND].clock
    now = clock.now_ms()
    return {
        "now_ms": now,
        "now": format_time(now),
        "mode": clock.mode,
        "time_scale": clock.time_scale,
    }


async def get_clock(request: web.Request) -> web.Response:
    guard(request)
    return json_response(_clock_body(request))


async def advance_clock(request: web.Request) -> web.Response:
    guard(request)
    body = validated(request, await read_body(request), ADVANCE_SCHEMA, "clock advance")
    request.app[BACKEND].clock.advance(float(body["seconds"]))
    return json_response(_clock_body(request))


async def reset(request: web.Request) -> web.Response:
    guard(request)
    await refuse_a_body(request, "it resets everything, or one account with ?account=NAME")
    control = request.app[BACKEND].control
    account, by_id = _account(request), query.account_id(request.query)
    if account is not None and by_id is not None:
        raise errors.InvalidParameter("Name the account by `account` or `account_id`, not both.")
    if by_id is not None:
        # An id that names no account holding anything: there is nothing of it to forget.
        account = control.account_named_by(by_id)
        if account is None:
            return json_response({"ok": True})
    control.reset(account)
    return json_response({"ok": True})


def _account(request: web.Request) -> str | None:
    """The `account` query parameter: absent, or not empty (minLength 1 in openapi.yaml)."""
    account = request.query.get("account")
    if account is not None and not account:
        raise errors.InvalidParameter("Parameter `account` must not be empty.")
    return text(account)


def _limits_body(limits: Limits) -> dict[str, Any]:
    return {
        "create_per_second": _wire(limits.create_per_second),
        "get_per_second": limits.get_per_second,
        "list_per_second": limits.list_per_second,
        "cancel_per_second": limits.cancel_per_second,
        "upload_per_second": limits.upload_per_second,
        "create_per_model": dict(limits.create_per_model),
        "concurrency": _wire(limits.concurrency),
        "concurrency_per_model": dict(limits.concurrency_per_model),
        "retry_after": limits.retry_after,
    }


def _wire(value: object) -> object:
    """PER_MODEL travels as its name, "per-model"."""
    return PER_MODEL.value if value is PER_MODEL else value


def _limits_update(body: dict[str, Any]) -> dict[str, Any]:
    return {name: PER_MODEL if value == PER_MODEL.value else value for name, value in body.items()}


async def get_limits(request: web.Request) -> web.Response:
    guard(request)
    return json_response(_limits_body(request.app[BACKEND].control.limits))


async def set_limits(request: web.Request) -> web.Response:
    guard(request)
    body = _whole_numbers(validated(request, await read_body(request), LIMITS_SCHEMA, "limits"))
    control = request.app[BACKEND].control
    control.set_limits(replace(control.limits, **_limits_update(body)))
    return json_response(_limits_body(control.limits))


def _whole_numbers(value: Any) -> Any:
    """JSON Schema calls 1000.0 an integer; the limits want ints (and answer them as such)."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return int(value) if isinstance(value, float) else value


async def list_all_tasks(request: web.Request) -> web.Response:
    guard(request)
    backend = request.app[BACKEND]
    now = backend.clock.now_ms()
    shown = backend.directory.shown  # an account that is just its key shows it masked
    accounts: dict[str, list[dict[str, Any]]] = {}
    for record in backend.control.tasks(_account(request)):
        accounts.setdefault(shown(record.account), []).append(record_body(record))
    body = [{"account": name, "tasks": tasks} for name, tasks in accounts.items()]
    return json_response({"now_ms": now, "accounts": body})


def record_body(record: TaskRecord) -> dict[str, Any]:
    return {
        "task_id": record.task_id,
        "status": record.status,
        "model": record.request.model,
        "endpoint": record.endpoint,
        "listed": record.listed,
        "n": record.request.n,
        "submit_ms": record.submit_ms,
        "scheduled_ms": record.scheduled_ms,
        "end_ms": record.end_ms,
        "canceled_ms": record.canceled_ms,
        "expires_ms": record.expires_ms,
    }


def validated(request: web.Request, raw: bytes, schema_name: str, what: str) -> dict[str, Any]:
    """The JSON body of a control request, checked against its schema; anything else is
    refused with a message that shows the body expected."""
    schema = schemas.request_schema(schema_name)
    if not raw.strip():
        refuse(request, f"Invalid {what}: the body is empty")
    try:
        body = decode_json(raw)
    except errors.IllegalInput:
        refuse(request, f"Invalid {what}: the body is not JSON")
    if not schema.is_valid(body):
        details = schemas.describe_each(schema.errors(body))
        refuse(request, f"Invalid {what}: {details}")
    assert isinstance(body, dict)
    return body


async def refuse_a_body(request: web.Request, instead: str) -> None:
    """A route without a body refuses one rather than ignore what its caller meant (a reset
    with {"account": ...} must not reset everything)."""
    if (await read_body(request)).strip():
        operation_id = request[OPERATION_ID]
        raise errors.InvalidParameter(
            f"{openapi.route(operation_id)} takes no body: {instead}. GET "
            f"/_mockscope/openapi.json describes it (operation {operation_id})."
        )


def refuse(request: web.Request, problem: str) -> NoReturn:
    """400 InvalidParameter: `problem`, then how the route wants to be called."""
    if request.query:
        names = ", ".join(sorted(request.query))
        problem += f" (query parameters are not read: send {names} in the body)"
    raise errors.InvalidParameter(f"{problem}. {openapi.expected_body(request[OPERATION_ID])}.")
