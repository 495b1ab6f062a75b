"""Domain views to DashScope-shaped JSON, field order as the live service writes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import hdrs, web
from multidict import CIMultiDict

from mockscope.domain.identity import REGION, account_uid, api_key_id
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.listing import Listed, TaskPage
from mockscope.domain.objects import ResultObjects
from mockscope.domain.tasks import TaskView
from mockscope.http.wire import WholeAnswer

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
    if status == 200 and headers is None:  # the usual answer: made from one set of headers
        return WholeAnswer.made_from(body, _JSON)
    return WholeAnswer(
        body=body, status=status, headers=headers, content_type="application/json", charset="utf-8"
    )


#: What `content_type="application/json", charset="utf-8"` makes a response's headers; never
#: changed (see WholeAnswer.made_from).
_JSON: CIMultiDict[str] = CIMultiDict({hdrs.CONTENT_TYPE: "application/json; charset=utf-8"})


def create_answer(task_id: str, request_id: str) -> bytes:
    """The submit answer: `output` before `request_id`, its status always PENDING.

    Written as text rather than through a dict and orjson (every create answers this): both
    ids are made by `IdSource`, hex digits and hyphens, so nothing in them needs escaping.
    """
    return (
        f'{{"output":{{"task_status":"PENDING","task_id":"{task_id}"}},'
        f'"request_id":"{request_id}"}}'
    ).encode()


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
    """The task body; `base_url` is only asked for when there are result URLs to write.

    Its shape follows the model's result style: `results` with `task_metrics` (wanx-v1 and the
    V2 prompt models, the latter with `orig_prompt` / `actual_prompt`), or `choices` with
    `finished` and token-style `usage` (wan2.6-t2i).
    """
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
    style = view.style
    if style is not None and style.shape == "choices":
        if view.status is TaskStatus.SUCCEEDED:
            output["finished"] = True
            output["choices"] = _choices(view, base_url(), objects)
            body["usage"] = _token_usage(view, ASYNC_USAGE_ORDER)
        return body
    if view.results:
        output["results"] = _results(view, base_url(), objects)
    if style is None or style.task_metrics:
        output["task_metrics"] = {
            "TOTAL": view.total,
            "SUCCEEDED": view.succeeded,
            "FAILED": view.failed,
        }
    if view.status is TaskStatus.SUCCEEDED:
        body["usage"] = {"image_count": view.succeeded}
    return body


def generation_body(
    view: TaskView, request_id: str, base_url: str, objects: ResultObjects
) -> dict[str, Any]:
    """The answer of a synchronous generation (multimodal-generation): no task, just choices."""
    return {
        "output": {"choices": _choices(view, base_url, objects), "finished": True},
        "usage": _token_usage(view, SYNC_USAGE_ORDER),
        "request_id": request_id,
    }


#: `usage` keys in the order each endpoint writes them (documented bodies, verbatim).
ASYNC_USAGE_ORDER = ("size", "total_tokens", "image_count", "output_tokens", "input_tokens")
SYNC_USAGE_ORDER = ("image_count", "input_tokens", "output_tokens", "size", "total_tokens")


def _results(view: TaskView, base: str, objects: ResultObjects) -> list[dict[str, Any]]:
    style, request = view.style, view.request
    assert view.end_ms is not None, "only a finished task has results"
    end_ms = view.end_ms
    prompts: dict[str, str] = {}
    if style is not None and request is not None:
        # Documented HTTP key order: orig_prompt, actual_prompt, url.
        if style.orig_prompt:
            prompts["orig_prompt"] = request.prompt
        if style.actual_prompt and (actual := request.actual_prompt) is not None:
            prompts["actual_prompt"] = actual
    return [
        {**prompts, "url": result_url(base, view.task_id, item.index, end_ms, objects)}
        if item.failure is None
        else {"code": item.failure.code, "message": item.failure.message}
        for item in view.results
    ]


def _choices(view: TaskView, base: str, objects: ResultObjects) -> list[dict[str, Any]]:
    """One choice per generated image; images that failed are left out [INF]."""
    assert view.end_ms is not None, "only a finished task has images"
    end_ms = view.end_ms
    return [
        {
            "finish_reason": "stop",
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "image": result_url(base, view.task_id, item.index, end_ms, objects),
                        "type": "image",
                    }
                ],
            },
        }
        for item in view.results
        if item.failure is None
    ]


def _token_usage(view: TaskView, order: tuple[str, ...]) -> dict[str, Any]:
    size = view.request.size if view.request is not None else ""
    values = {"size": size, "image_count": view.succeeded}
    # Image generation bills images, not tokens: the documented bodies carry zeros.
    return {key: values.get(key, 0) for key in order}


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
        "user_api_unique_key": _unique_key(task.endpoint, task.request.model),
    }
    if view.scheduled_ms is not None:
        item["start_time"] = view.scheduled_ms
    if view.end_ms is not None:
        item["end_time"] = view.end_ms
    return item


def _unique_key(endpoint: str, model: str) -> str:
    """`apikey:v1:aigc:text2image:image-synthesis:wanx-v1`: the endpoint's path, then the model."""
    return (
        "apikey:v1:" + endpoint.strip("/").removeprefix("services/").replace("/", ":") + f":{model}"
    )
