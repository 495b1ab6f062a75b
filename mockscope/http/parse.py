"""Request bodies to domain requests: JSON decoding, schema validation, error mapping.

The schema decides what is valid; this module only decides which documented error code a
given violation is reported under.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from mockscope import spec
from mockscope.domain import errors
from mockscope.domain.tasks import TaskRequest

CREATE_REQUEST_SCHEMA = "task-create-request.json"


def decode_json(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise errors.IllegalInput() from None


def parse_create_request(raw: bytes, model_exists: Callable[[str], bool]) -> TaskRequest:
    """A validated create-task request, or the error the service would answer with."""
    body = decode_json(raw)
    schema = spec.request_schema(CREATE_REQUEST_SCHEMA)
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
    body: object, violations: Iterable[ValidationError], model_exists: Callable[[str], bool]
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
    worst = best_match(violations)
    if worst is None:
        return errors.InvalidParameter()
    return errors.InvalidParameter(_describe(worst))


def _describe(violation: ValidationError) -> str:
    where = ".".join(str(part) for part in violation.absolute_path) or "body"
    required = violation.validator_value
    if violation.validator == "required" and isinstance(violation.instance, dict):
        assert isinstance(required, list)
        missing = [name for name in required if name not in violation.instance]
        return f"Required parameter `{where}.{missing[0]}` is missing."
    return f"Parameter `{where}` is invalid: {violation.message}."
