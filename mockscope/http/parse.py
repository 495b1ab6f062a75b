"""Request bodies to domain requests: JSON decoding, schema validation, error mapping.

The schemas and the model catalogue decide what is valid (`model_rules`); this module only
decides which documented error code a given violation is reported under.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from aiohttp import web

from mockscope import schemas
from mockscope.domain import errors
from mockscope.domain.lifecycle import TaskStatus
from mockscope.domain.listing import ListQuery
from mockscope.domain.models import Mode, ModelCatalogue, ModelSpec
from mockscope.domain.tasks import TaskRequest
from mockscope.http import model_rules
from mockscope.http.inbound import read_bounded

if TYPE_CHECKING:
    from jsonschema import ValidationError

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


class Submission(NamedTuple):
    """A create request the catalogue admits: what to make, for which model, in which mode.
    (A tuple: made on every create, and a frozen dataclass costs more to make.)"""

    request: TaskRequest
    spec: ModelSpec
    mode: Mode


def parse_create_request(
    raw: bytes, models: ModelCatalogue, endpoint: str, async_header: bool
) -> Submission:
    """A validated create request for `endpoint` (below /api/v1), or the error the service
    would answer with: body shape, then model and route, then input, then parameters."""
    try:
        body = orjson.loads(raw)  # as decode_json, without a call on every create
    except orjson.JSONDecodeError:
        raise errors.IllegalInput() from None
    if not isinstance(body, dict):
        raise errors.IllegalInput()
    model = body.get("model")
    if model is None or model == "":
        raise errors.EmptyModel()
    if not isinstance(model, str):
        raise errors.InvalidParameter("Parameter `model` must be a string.")
    route = models.route(model, endpoint, async_header)
    if route.error is not None or route.spec is None or route.mode is None:
        answer = models.errors[route.error or "unknown_model"]
        raise errors.Refused(answer.code, answer.message)
    spec = route.spec
    schema = model_rules.rules(spec)
    if not schema.fast.is_valid(body):
        raise _error_for(spec, body, schema.errors(body))
    if spec.messages is not None:
        broken = model_rules.message_problem(spec, body["input"]["messages"])
        if broken is not None:
            answer = models.errors[broken]
            raise errors.Refused(answer.code, answer.message)
    # The prompt protocol's prompt is where the envelope put it; messages need looking for.
    prompt = body["input"]["prompt"] if spec.messages is None else model_rules.prompt_of(spec, body)
    if not prompt:
        raise errors.EmptyInput()
    # tuple.__new__ directly: the named tuple's own __new__ is a Python function.
    return tuple.__new__(Submission, (_task_request(spec, body, prompt), spec, route.mode))


#: Size and style strings kept for stored tasks to share (bounded: cleared when full).
_SHARED: dict[str, str] = {}
_SHARED_KEPT = 1024


def _task_request(spec: ModelSpec, body: dict[str, Any], prompt: str) -> TaskRequest:
    """The request in domain terms, the model's defaults filled in and its limits applied."""
    inputs: dict[str, Any] = body["input"]
    parameters: dict[str, Any] = body.get("parameters") or {}
    where = inputs if spec.negative_prompt_in == "input" else parameters
    negative = where.get("negative_prompt")
    # Only what the model accepts, its defaults filled in; anything else is ignored, as live.
    # (Written out, not looped: this runs on every create.)
    defaults, known = spec.defaults, spec.body_parameters
    seed = parameters.get("seed") if "seed" in known else None
    ref_img = None
    if spec.input_parameters:
        ref_img = inputs.get("ref_img", inputs.get("ref_image"))
    # Positional: keyword arguments to a 13-field constructor cost more than the rest of this
    # function, and it runs on every create. The order is TaskRequest's.
    size = parameters.get("size", spec.size.default)
    style = parameters.get("style", defaults["style"]) if "style" in known else "<auto>"
    if len(_SHARED) >= _SHARED_KEPT:
        _SHARED.clear()
    return TaskRequest(
        spec.id,
        # Over-long prompts are truncated by the service, never refused.
        prompt[: spec.prompt_max],
        None if negative is None else negative[: spec.negative_prompt_max],
        ref_img,
        # Every stored task keeps its size and style: one string each for all tasks that
        # ask for the same (a client sends a few sizes over and over), not one per task.
        _SHARED.setdefault(style, style) if style.__class__ is str else style,
        _SHARED.setdefault(size, size) if size.__class__ is str else size,
        # JSON Schema counts 2.0 as an integer; the domain wants a real int.
        int(parameters.get("n", spec.n_default)),
        None if seed is None else int(seed),
        parameters.get("ref_strength") if "ref_strength" in known else None,
        parameters.get("ref_mode") if "ref_mode" in known else None,
        (
            parameters.get("prompt_extend", defaults["prompt_extend"])
            if "prompt_extend" in known
            else None
        ),
        parameters.get("watermark", defaults["watermark"]) if "watermark" in known else None,
    )


def _error_for(
    spec: ModelSpec, body: dict[str, Any], violations: Iterator[ValidationError]
) -> errors.DashScopeError:
    """A missing or empty input is EmptyInput; anything else is InvalidParameter, naming the
    parameter."""
    inputs = body.get("input")
    if not isinstance(inputs, dict):
        return errors.EmptyInput()
    main = inputs.get("prompt") if spec.protocol == "prompt" else inputs.get("messages")
    if main is None or main == "" or main == []:
        return errors.EmptyInput()
    # Named parameter and rule, or the documented generic text: never jsonschema's wording.
    return errors.InvalidParameter(schemas.best_description(violations))


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
