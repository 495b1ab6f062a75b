"""Per-model request rules, derived from the model catalogue and compiled once per model.

A model's rules are its protocol's envelope (`protocols[...].request_schema`) plus a schema
built from its entry: the JSON Schema fragment of every parameter it accepts, `n` within its
range, `size` a string, the negative prompt where the model takes it. Parameters a model does
not know are ignored, as the live service ignores them (the SDK even leaks `is_async` into
`parameters`). Nothing here names a model: a new catalogue entry needs no code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from mockscope import schemas
from mockscope.domain.models import ModelSpec


@functools.cache
def envelope(protocol: str) -> schemas.CompiledSchema:
    """A protocol's request envelope, as the catalogue states it."""
    document = schemas.catalogue_document()
    return schemas.compile_schema(document["protocols"][protocol]["request_schema"])


@functools.lru_cache(maxsize=256)
def rules(spec: ModelSpec) -> schemas.CompiledSchema:
    """The envelope and the model's own rules in one schema: one check per request.

    Keyed by the spec's identity: the built-in catalogue's specs live for the whole process,
    so each model is compiled once; a user's catalogue compiles its own.
    """
    return schemas.compile_schema(merged(envelope(spec.protocol).schema, model_schema(spec)))


def merged(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Two object schemas as one: properties merged key by key, `required` joined.

    Equivalent to `allOf` for these schemas (plain objects, no conflicting keywords), and one
    schema is checked in about half the time of two: this runs on every create.
    """
    result = dict(first)
    for key, value in second.items():
        if key == "properties" and key in result:
            properties = dict(result[key])
            for name, schema in value.items():
                known = properties.get(name)
                properties[name] = merged(known, schema) if known is not None else schema
            result[key] = properties
        elif key == "required" and key in result:
            result[key] = [*result[key], *(name for name in value if name not in result[key])]
        else:
            result[key] = value
    return result


def model_schema(spec: ModelSpec) -> dict[str, Any]:
    """What a model's entry says about `input` and `parameters`, as a JSON Schema."""
    inputs: dict[str, Any] = {}
    parameters: dict[str, Any] = {
        "n": {"type": "integer", "minimum": spec.n_min, "maximum": spec.n_max},
        # Any string is accepted: a size outside the rule fails the task later, as live.
        "size": {"type": "string"},
    }
    for parameter in spec.parameters:
        target = inputs if parameter.where == "input" else parameters
        target[parameter.name] = dict(parameter.schema)
    negative = inputs if spec.negative_prompt_in == "input" else parameters
    negative["negative_prompt"] = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "input": {"type": "object", "properties": inputs},
            "parameters": {"type": "object", "properties": parameters},
        },
    }


def message_problem(spec: ModelSpec, messages: list[Mapping[str, Any]]) -> str | None:
    """The catalogue error key a messages-protocol request breaks, or None."""
    rule = spec.messages
    if rule is None:
        return None
    if len(messages) > rule.max_messages:
        return "messages_count"
    # Plain loops, no comprehension or generator frames: every messages-protocol create runs this.
    for message in messages:
        if message["role"] not in rule.roles:
            return "messages_role"
        texts = others = 0
        for item in message["content"]:
            if isinstance(item, dict) and "text" in item:
                if not isinstance(item["text"], str):
                    return "messages_text_count"
                texts += 1
            else:
                others += 1
        if texts != rule.text_items:
            return "messages_text_count"
        if rule.reject_other_items and others:
            return "messages_other_item"
    return None


def prompt_of(spec: ModelSpec, body: Mapping[str, Any]) -> str:
    """The prompt: `input.prompt`, or the one text item of the one message."""
    inputs = body["input"]
    if spec.protocol == "prompt":
        prompt: str = inputs["prompt"]
        return prompt
    for item in inputs["messages"][0]["content"]:
        if isinstance(item, dict) and "text" in item:
            text: str = item["text"]
            return text
    return ""
