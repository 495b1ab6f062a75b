"""Request bodies to domain requests: JSON decoding, schema validation, error mapping.

The schema decides what is valid; this module only decides which documented error code a
given violation is reported under.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from mockscope import schemas
from mockscope.domain import errors
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.listing import ListQuery
from mockscope.domain.tasks import TaskRequest
from mockscope.http.inbound import read_bounded

if TYPE_CHECKING:
    from jsonschema import ValidationError

CREATE_REQUEST_SCHEMA = "task-create-request.json"
BEIJING = timezone(timedelta(hours=8))


#: JSON bodies are small; the larger application limit exists for file uploads.
MAX_JSON_BYTES = 1024 * 1024


async def read_body(request: web.Request) -> bytes:
    """The body of a JSON request, decoded, refused with 413 past MAX_JSON_BYTES (counted as
    it streams in and is decoded, see inbound.read_bounded)."""
    return await read_bounded(request, MAX_JSON_BYTES)


def decode_json(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.IllegalInput() from None


def parse_create_request(raw: bytes, model_exists: Callable[[str], bool]) -> TaskRequest:
    """A validated create-task request, or the error the service would answer with."""
    body = decode_json(raw)
    schema = schemas.request_schema(CREATE_REQUEST_SCHEMA)
    if not schema.is_valid(body):
        raise _error_for(body, schema.errors(body), model_exists)
    assert isinstance(body, dict)
    model = body["model"]
    if not model_exists(model):
        raise errors.ModelNotFound.for_model(model)
    inputs: dict[str, Any] = body["input"]
    parameters: dict[str, Any] = body.get("parameters") or {}
    return TaskRequest(
        model=model,
        prompt=inputs["prompt"],
        negative_prompt=inputs.get("negative_prompt"),
        ref_img=inputs.get("ref_img", inputs.get("ref_image")),
        style=parameters.get("style", "<auto>"),
        size=parameters.get("size", "1024*1024"),
        # JSON Schema counts 2.0 as an integer; the domain wants a real int.
        n=int(parameters.get("n", 4)),
        seed=None if parameters.get("seed") is None else int(parameters["seed"]),
        ref_strength=parameters.get("ref_strength"),
        ref_mode=parameters.get("ref_mode"),
    )


def _error_for(
    body: object, violations: Iterator[ValidationError], model_exists: Callable[[str], bool]
) -> errors.DashScopeError:
    """The error the gateway reports first: body shape, then model, then input, then params."""
    if not isinstance(body, dict):
        return errors.IllegalInput()
    model = body.get("model")
    if model is None or model == "":
        return errors.EmptyModel()
    inputs = body.get("input")
    if not isinstance(inputs, dict) or inputs.get("prompt") in (None, ""):
        return errors.EmptyInput()
    if isinstance(model, str) and not model_exists(model):
        return errors.ModelNotFound.for_model(model)
    # Named parameter and rule, or the documented generic text: never jsonschema's wording.
    return errors.InvalidParameter(schemas.best_description(iter(violations)))


def parse_list_query(query: Mapping[str, str]) -> ListQuery:
    """The list query string, checked against the OpenAPI parameters of list_tasks."""
    validator, integers = schemas.query_validator("list_tasks")
    values: dict[str, Any] = dict(query)
    for name in integers & values.keys():
        text = values[name].strip()
        if text.isascii() and text.isdigit():  # not `１`: str.isdigit takes any script's
            values[name] = int(text)
    problems = sorted(validator.iter_errors(values), key=lambda error: list(error.path))
    if problems:
        # Worded as for a body: the parameter and the rule it breaks.
        raise errors.InvalidParameter(schemas.describe(problems[0]))
    status = values.get("status")
    return ListQuery(
        task_id=values.get("task_id"),
        start_ms=_beijing_ms(values.get("start_time"), "start_time"),
        end_ms=_beijing_ms(values.get("end_time"), "end_time"),
        model_name=values.get("model_name"),
        status=TaskStatus(status) if status else None,
        page_no=values.get("page_no", 1),
        page_size=values.get("page_size", 10),
        api_key_id=values.get("api_key_id"),
        region=values.get("region"),
    )


def _beijing_ms(text: str | None, name: str) -> int | None:
    """`YYYYMMDDhhmmss` in Beijing time to epoch ms."""
    if text is None:
        return None
    try:
        moment = datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError:
        raise errors.InvalidParameter(f"Parameter `{name}` is not a valid time: {text}.") from None
    return int(moment.timestamp() * 1000)
