"""The control plane's scenario and journal routes, and telling a waiting task to finish."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from mockscope.domain import errors
from mockscope.domain.identity import api_key_id, masked_key
from mockscope.domain.journal import Entry
from mockscope.domain.operations import Operation
from mockscope.http.control import query as query_params
from mockscope.http.control.clock_limits import guard, refuse, refuse_a_body, validated
from mockscope.http.envelopes import status_for_code
from mockscope.http.keys import BACKEND, PARAMS, PUBLIC_URL
from mockscope.http.parse import decode_json, read_body
from mockscope.http.serialize import json_response, task_body
from mockscope.scenarios import reading
from mockscope.scenarios.rules import InstalledRule, Lifetime, OutcomeKind, ScenarioError

SCENARIO_SCHEMA = reading.SCHEMA
RULE_SCHEMA = "control-rule-request.json"
_POSITION = re.compile(r"[1-9][0-9]{0,8}")
_WITHOUT_N = (Lifetime.ALWAYS, Lifetime.ONCE)


async def get_scenario(request: web.Request) -> web.Response:
    guard(request)
    backend = request.app[BACKEND]
    scenario, shown = backend.scenario, backend.directory.shown
    rules = [_rule_body(installed, shown) for installed in scenario.installed]
    return json_response({"seed": scenario.seed, "rules": rules})


async def set_scenario(request: web.Request) -> web.Response:
    """Replace the scenario in force; a malformed one is refused whole."""
    guard(request)
    raw = await read_body(request)
    if not raw.strip():
        refuse(request, "Invalid scenario: the body is empty")
    try:
        document = decode_json(raw)
    except errors.IllegalInput:
        refuse(request, "Invalid scenario: the body is not JSON")
    if not isinstance(document, dict):
        refuse(request, "Invalid scenario: expected an object with `rules`")
    try:
        declared = reading.checked(document)
    except ScenarioError as error:
        refuse(request, f"Invalid scenario: {error}")
    request.app[BACKEND].control.set_scenario(declared)
    return await get_scenario(request)


async def add_rule(request: web.Request) -> web.Response:
    """Add one rule after those in force (one line, or a mapping); the others keep counting."""
    guard(request)
    body = validated(request, await read_body(request), RULE_SCHEMA, "rule")
    try:
        rule = reading.checked_rule(body["rule"])
    except ScenarioError as error:
        # A one-line rule's errors begin by naming it ("rule: ..."); said once is enough.
        refuse(request, f"Invalid rule: {str(error).removeprefix('rule: ')}")
    request.app[BACKEND].control.add_rule(rule)
    return await get_scenario(request)


async def remove_rule(request: web.Request) -> web.Response:
    """Take out the rule at a position (from 1, as GET /_mockscope/scenarios lists them)."""
    guard(request)
    await refuse_a_body(request, "it removes the rule at the position in the path")
    text_position = request[PARAMS]["position"]
    if not _POSITION.fullmatch(text_position):
        raise errors.InvalidParameter("The rule's position must be a whole number from 1.")
    request.app[BACKEND].control.remove_rule(int(text_position))
    return await get_scenario(request)


async def clear_scenario(request: web.Request) -> web.Response:
    guard(request)
    request.app[BACKEND].control.clear_scenario()
    return json_response({"ok": True})


async def get_journal(request: web.Request) -> web.Response:
    guard(request)
    journal = request.app[BACKEND].journal
    query = request.query
    operation = query.get("operation")
    if operation is not None and operation not in Operation.__members__.values():
        raise errors.InvalidParameter(f"Unknown operation `{operation}`.")
    limit = query_params.bounded_integer(query, "limit", default=0, low=1, high=10**6)
    entries = journal.entries(
        task_id=query.get("task_id"),
        operation=Operation(operation) if operation else None,
        api_key=query.get("api_key"),
        model=query.get("model"),
        latest=limit or None,
    )
    shown = request.app[BACKEND].directory.shown
    body = {"capacity": journal.capacity, "entries": [_entry_body(e, shown) for e in entries]}
    return json_response(body)


async def clear_journal(request: web.Request) -> web.Response:
    guard(request)
    request.app[BACKEND].journal.clear()
    return json_response({"ok": True})


async def finish_task(request: web.Request) -> web.Response:
    """End a task now (one a scenario told to wait `never`, or any unfinished one)."""
    guard(request)
    await refuse_a_body(request, "it ends the task named in the path, now")
    backend = request.app[BACKEND]
    view = backend.control.finish_task(request[PARAMS]["task_id"])
    base = request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"
    request_id = backend.api.new_request_id()
    return json_response(task_body(view, request_id, lambda: base, backend.objects))


def _rule_body(installed: InstalledRule, shown: Callable[[str], str]) -> dict[str, Any]:
    rule = installed.rule
    match = rule.match
    body: dict[str, Any] = {"outcome": rule.outcome.kind, **rule.outcome.params}
    if rule.outcome.kind is OutcomeKind.ERROR and "status" not in body:
        body["status"] = status_for_code(body["code"])  # shown as it will be answered
    matched: dict[str, Any] = {}
    if match.operations:
        matched["operation"] = sorted(match.operations)
    # Keys are shown masked, as everywhere outside the server.
    if match.api_key is not None:
        matched["api_key"] = masked_key(match.api_key)
    if match.account is not None:
        matched["account"] = shown(match.account)
    if match.prompt is not None:
        matched["prompt"] = match.prompt.pattern
    if match.header is not None:
        matched["header"] = {"name": match.header[0], "value": match.header[1].pattern}
    if match.models:
        matched["model"] = sorted(match.models)
    if matched:
        body["match"] = matched
    body["times"] = rule.times if rule.times in _WITHOUT_N else {rule.times.value: rule.n}
    body["probability"] = rule.probability
    return {"rule": body, "calls": installed.calls, "fired": installed.fired}


def _entry_body(entry: Entry, shown: Callable[[str], str]) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "time_ms": entry.time_ms,
        "operation": entry.operation,
        "account": None if entry.account is None else shown(entry.account),
        "api_key_id": None if entry.api_key is None else api_key_id(entry.api_key),
        "task_id": entry.task_id,
        "status": entry.status,
        "outcome": entry.outcome,
        "task_status": entry.task_status,
        "retry_after_s": entry.retry_after_s,
        "model": entry.model,
        "endpoint": entry.endpoint,
        "method": entry.method,
        "path": entry.path,
        "latency_ms": entry.latency_ms,
    }
