"""Domain views to DashScope-shaped JSON, field order as the live service writes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from mockscope.domain.identity import REGION, account_uid, api_key_id
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.listing import Listed, TaskPage
from mockscope.domain.objects import ResultObjects
from mockscope.domain.tasks import TaskView

_BEIJING_OFFSET_S = 8 * 3600


_STAMPS: dict[int, str] = {}
_STAMPS_KEPT = 4096


def format_time(epoch_ms: int) -> str:
    """`YYYY-MM-DD HH:MM:SS.mmm` in Beijing time, as task responses carry their times."""
    seconds, millis = divmod(epoch_ms, 1000)
    # Polls read the same few times over and over; strftime is the costly part, so the
    # whole-second stamps are cached (bounded: cleared when full).
    stamp = _STAMPS.get(seconds)
    if stamp is None:
        if len(_STAMPS) >= _STAMPS_KEPT:
            _STAMPS.clear()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds + _BEIJING_OFFSET_S))
        _STAMPS[seconds] = stamp
    return f"{stamp}.{millis:03d}"


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return json_bytes_response(orjson.dumps(body), status, headers)


def json_bytes_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=body, status=status, headers=headers, content_type="application/json", charset="utf-8"
    )


def create_body(task_id: str, request_id: str) -> dict[str, Any]:
    # The submit endpoint writes `output` before `request_id`; its status is always PENDING.
    return {"output": {"task_status": "PENDING", "task_id": task_id}, "request_id": request_id}


def result_url(
    base_url: str,
    task_id: str,
    index: int,
    end_ms: int,
    objects: ResultObjects,
    verb: str = "GET",
) -> str:
    """The URL of image `index` (from 0) of a task that ended at `end_ms`, as the live service
    hands them out: an object of its own per image, signed for GET until `Expires` (see
    `mockscope.domain.objects`), e.g. `{base}/results/1d/d4/20240301/<task id>/<uuid>-1.png
    ?Expires=…&OSSAccessKeyId=…&Signature=…`. The one place result URLs are made (`verb`:
    what the URL is signed for; the service hands out GET URLs)."""
    return base_url + objects.signed_path(task_id, index, end_ms, verb)


def task_body(
    view: TaskView, request_id: str, base_url: Callable[[], str], objects: ResultObjects
) -> dict[str, Any]:
    """The task body; `base_url` is only asked for when there are result URLs to write."""
    # The task endpoints write `request_id` first.
    # TaskStatus is a str enum: orjson writes it as its value, no `.value` lookup needed.
    output: dict[str, Any] = {"task_id": view.task_id, "task_status": view.status}
    body: dict[str, Any] = {"request_id": request_id, "output": output}
    if view.status is TaskStatus.UNKNOWN:
        return body
    if view.submit_ms is not None:
        output["submit_time"] = format_time(view.submit_ms)
    if view.scheduled_ms is not None:
        output["scheduled_time"] = format_time(view.scheduled_ms)
    if view.end_ms is not None:
        output["end_time"] = format_time(view.end_ms)
    if view.failure is not None and view.status is TaskStatus.FAILED:
        output["code"] = view.failure.code
        output["message"] = view.failure.message
    if view.results:
        base = base_url()
        assert view.end_ms is not None, "only a finished task has results"
        end_ms = view.end_ms
        output["results"] = [
            {"url": result_url(base, view.task_id, item.index, end_ms, objects)}
            if item.failure is None
            else {"code": item.failure.code, "message": item.failure.message}
            for item in view.results
        ]
    output["task_metrics"] = {
        "TOTAL": view.total,
        "SUCCEEDED": view.succeeded,
        "FAILED": view.failed,
    }
    if view.status is TaskStatus.SUCCEEDED:
        body["usage"] = {"image_count": view.succeeded}
    return body


def error_body(code: str, message: str, request_id: str) -> dict[str, str]:
    return {"code": code, "message": message, "request_id": request_id}


def cancel_body(request_id: str) -> dict[str, str]:
    return {"request_id": request_id}


def list_body(page: TaskPage, request_id: str) -> dict[str, Any]:
    """The flat listing body: no `output`, epoch-ms times, `end_time` only once finished."""
    return {
        "total": page.total,
        "data": [_listed_item(listed) for listed in page.items],
        "total_page": page.total_page,
        "page_no": page.page_no,
        "page_size": page.page_size,
        "request_id": request_id,
    }


def _listed_item(listed: Listed) -> dict[str, Any]:
    task, view = listed.task, listed.view
    uid = account_uid(task.account)
    item: dict[str, Any] = {
        "api_key_id": api_key_id(task.api_key),
        "caller_parent_id": uid,
        "caller_uid": uid,
        "gmt_create": task.plan.submit_ms,
        "model_name": task.request.model,
        "region": REGION,
        "request_id": task.request_id,
        "status": view.status.value,
        "task_id": task.task_id,
        "user_api_unique_key": f"apikey:v1:aigc:text2image:image-synthesis:{task.request.model}",
    }
    if view.scheduled_ms is not None:
        item["start_time"] = view.scheduled_ms
    if view.end_ms is not None:
        item["end_time"] = view.end_ms
    return item
