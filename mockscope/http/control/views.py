"""What the inspector reads beyond the other control routes: a page of tasks, the journal checks.

Both are plain control routes (JSON, the same guard), so a script may read them as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from mockscope.domain.identity import account_uid, masked_key
from mockscope.domain.journal import CHECKS
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.objects import ResultObjects
from mockscope.domain.tasks import TaskRecord, TaskView
from mockscope.http.control.clock_limits import guard, record_body
from mockscope.http.control.query import account_id, bounded_integer, bounded_number, one_of
from mockscope.http.keys import BACKEND, PUBLIC_URL
from mockscope.http.serialize import json_response, result_url

#: Tasks on one page at most: a page is what the inspector draws every second.
MAX_PAGE_SIZE = 100
_STATUSES = [status.value for status in TaskStatus if status is not TaskStatus.UNKNOWN]


async def get_task_page(request: web.Request) -> web.Response:
    """GET /_mockscope/tasks/page: the stored tasks newest first, filtered and paged."""
    guard(request)
    backend = request.app[BACKEND]
    query = request.query
    wanted = account_id(query)
    status = one_of(query, "status", _STATUSES)
    page = bounded_integer(query, "page", default=1, low=1, high=10**9)
    size = bounded_integer(query, "page_size", default=50, low=1, high=MAX_PAGE_SIZE)
    control = backend.control
    account = None if wanted is None else control.account_named_by(wanted)
    if wanted is not None and account is None:
        account = ""  # an account that holds nothing: an empty page, not an error
    found = control.task_page(
        account=account,
        model=query.get("model") or None,
        status=None if status is None else TaskStatus(status),
        skip=(page - 1) * size,
        size=size,
    )
    shown = backend.directory.shown
    base = request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"
    tasks = [
        _task_entry(record, view, shown, base, backend.objects) for record, view in found.tasks
    ]
    body = {
        "now_ms": backend.clock.now_ms(),
        "page": page,
        "page_size": size,
        "total": found.total,
        "accounts": [{"account": shown(a), "account_id": account_uid(a)} for a in found.accounts],
        "models": found.models,
        "tasks": tasks,
    }
    return json_response(body)


def _task_entry(
    record: TaskRecord,
    view: TaskView,
    shown: Callable[[str], str],
    base: str,
    objects: ResultObjects,
) -> dict[str, Any]:
    failure = view.failure if view.status is TaskStatus.FAILED else None
    images = []
    if record.end_ms is not None:
        images = [
            {
                "index": item.index,
                "url": result_url(base, record.task_id, item.index, record.end_ms, objects),
            }
            for item in view.results
            if item.failure is None
        ]
    return {
        "account": shown(record.account),
        "account_id": account_uid(record.account),
        **record_body(record),
        "size": record.request.size,
        "prompt": record.request.prompt,
        "outcome": record.declared,
        "task_metrics": {"TOTAL": view.total, "SUCCEEDED": view.succeeded, "FAILED": view.failed},
        "failure": None if failure is None else {"code": failure.code, "message": failure.message},
        "images": images,
    }


async def get_journal_checks(request: web.Request) -> web.Response:
    """GET /_mockscope/journal/checks: every check for client misbehaviour, with the entries
    that show each problem."""
    guard(request)
    rate = bounded_number(request.query, "max_polls_per_second", default=1.0, high=1000.0)
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in CHECKS}
    for finding in request.app[BACKEND].journal.findings(rate):
        found[finding.check].append(
            {
                "message": finding.worded(masked_key),
                "task_id": finding.task_id,
                "seqs": list(finding.seqs),
            }
        )
    checks = [{"check": name, "findings": findings} for name, findings in found.items()]
    return json_response({"max_polls_per_second": rate, "checks": checks})
