"""Loads `schemas/` into compiled validators: the single source of truth for every message.

Request bodies on the hot path are checked by `jsonschema_rs` (compiled Rust, ~100x faster);
only a body that fails is walked again by `jsonschema` to say precisely what is wrong.
Response checking (used by tests and `validate_responses=True`) follows the OpenAPI document.
`jsonschema`, `referencing` and `yaml` are imported on first use, so that starting a server
costs only what serving valid requests needs.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    import jsonschema
    from referencing import Registry

_PACKAGE_DIR = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """The schemas shipped inside the wheel, or the repository's own when run from a checkout."""
    for candidate in (_PACKAGE_DIR / "_schemas", _PACKAGE_DIR.parent / "schemas"):
        if (candidate / "openapi.yaml").is_file():
            return candidate
    raise FileNotFoundError("mockscope's schemas/ directory is missing from this installation")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """One schema document by file name, e.g. `task.json`."""
    with (schema_dir() / name).open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


#: The model catalogue: data, not a message schema, so it sits out of `registry()`'s way.
CATALOGUE_FILE = "catalogue/models.json"
CATALOGUE_SCHEMA = "model-catalogue.json"


@functools.cache
def catalogue_document() -> dict[str, Any]:
    """The built-in model catalogue as plain data (read once per process)."""
    return load_schema(CATALOGUE_FILE)


def problems(ref: str, instance: object, limit: int = 5) -> list[str]:
    """What is wrong with `instance` under the schema `ref`, each as `where: what`."""
    found = sorted(validator(ref).iter_errors(instance), key=lambda error: list(error.path))
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in found[:limit]
    ]


def read_document(path: str | os.PathLike[str]) -> object:
    """A JSON (.json) or YAML (anything else) document from a file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


@functools.cache
def registry() -> Registry[Any]:
    """Every schema registered under its file name, so relative `$ref`s between files resolve."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources = [
        (
            path.name,
            Resource.from_contents(load_schema(path.name), default_specification=DRAFT202012),
        )
        for path in sorted(schema_dir().glob("*.json"))
    ]
    return Registry().with_resources(resources)


@functools.cache
def validator(ref: str) -> jsonschema.Draft202012Validator:
    """A full validator for a schema reference such as `task.json` or `task.json#/$defs/x`."""
    import jsonschema

    return jsonschema.Draft202012Validator({"$ref": ref}, registry=registry())


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """An in-memory schema compiled twice: a fast yes/no check, and a detailed one for errors."""

    schema: Mapping[str, Any]
    fast: Any

    def is_valid(self, instance: object) -> bool:
        return bool(self.fast.is_valid(instance))

    def errors(self, instance: object) -> Iterator[jsonschema.ValidationError]:
        import jsonschema

        yield from jsonschema.Draft202012Validator(self.schema).iter_errors(instance)


def compile_schema(schema: Mapping[str, Any]) -> CompiledSchema:
    """Compile a self-contained schema (e.g. one derived from the model catalogue). Callers
    keep the result: compiling is what the hot path must never do."""
    return CompiledSchema(schema, jsonschema_rs.validator_for(dict(schema)))


@dataclass(frozen=True, slots=True)
class RequestSchema:
    """A request schema compiled twice: a fast yes/no check, and a detailed one for errors."""

    name: str
    fast: Any

    def is_valid(self, instance: object) -> bool:
        return bool(self.fast.is_valid(instance))

    def errors(self, instance: object) -> Iterator[jsonschema.ValidationError]:
        yield from validator(self.name).iter_errors(instance)


@functools.cache
def request_schema(name: str) -> RequestSchema:
    """A self-contained request schema (no cross-file refs), compiled once per process."""
    return RequestSchema(name, jsonschema_rs.validator_for(load_schema(name)))


@functools.cache
def openapi() -> dict[str, Any]:
    import yaml

    with (schema_dir() / "openapi.yaml").open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


@functools.cache
def _responses_by_operation() -> Mapping[str, Mapping[str, Any]]:
    table: dict[str, Mapping[str, Any]] = {}
    for path_item in openapi()["paths"].values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "operationId" in operation:
                table[operation["operationId"]] = _resolve_responses(operation.get("responses", {}))
    return table


def _resolve_responses(responses: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for status, response in responses.items():
        while "$ref" in response:
            pointer = response["$ref"].removeprefix("#/").split("/")
            node: Any = openapi()
            for part in pointer:
                node = node[part]
            response = node
        resolved[str(status)] = response
    return resolved


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """What OpenAPI says one operation may answer with one status."""

    media_types: tuple[str, ...]
    json_ref: str | None


def response_spec(operation_id: str, status: int) -> ResponseSpec | None:
    """None when the operation does not document that status at all."""
    responses = _responses_by_operation().get(operation_id)
    if responses is None:
        return None
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    response = response or responses.get("default")
    if response is None:
        return None
    content: Mapping[str, Any] = response.get("content", {})
    json_ref = None
    schema = content.get("application/json", {}).get("schema")
    if schema is not None and "$ref" in schema:  # an inline schema is not checked here
        json_ref = schema["$ref"].removeprefix("./")
    return ResponseSpec(tuple(content), json_ref)


@functools.cache
def query_validator(operation_id: str) -> tuple[jsonschema.Draft202012Validator, frozenset[str]]:
    """A validator for an operation's query string as an object, and its integer parameters.

    Query values arrive as strings; the caller turns the integer ones into ints first, so
    `page_no=abc` fails validation as a non-integer rather than slipping through.
    """
    properties: dict[str, Any] = {}
    integers = set()
    for path_item in openapi()["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or operation.get("operationId") != operation_id:
                continue
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    continue
                if parameter.get("in") == "query":
                    properties[parameter["name"]] = parameter["schema"]
                    if parameter["schema"].get("type") == "integer":
                        integers.add(parameter["name"])
    if not properties:
        raise KeyError(f"no query parameters documented for {operation_id}")
    import jsonschema

    schema = {"type": "object", "properties": properties}
    return jsonschema.Draft202012Validator(schema, registry=registry()), frozenset(integers)


# -- violations in the service's voice --------------------------------------------------------

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def parameter_name(violation: jsonschema.ValidationError, base: str = "") -> str:
    """The dotted name of the value a violation is about, e.g. `parameters.n`."""
    parts = [str(part) for part in violation.absolute_path]
    if violation.validator == "required" and isinstance(violation.instance, dict):
        required = violation.validator_value
        names = required if isinstance(required, list) else []
        missing = [name for name in names if name not in violation.instance]
        parts.append(str(missing[0]) if missing else "")
    name = ".".join(part for part in parts if part)
    return ".".join(part for part in (base, name) if part)


def describe(violation: jsonschema.ValidationError, base: str = "") -> str | None:
    """A schema violation as the service would word it: which parameter, and the rule it breaks.

    jsonschema's own messages quote Python values (`'2' is not of type 'integer'`, `None is not
    of type 'object'`); no answer may carry them. None when no rule can be stated plainly (then
    the documented generic message is the answer). `base` prefixes the name (e.g. `rules.0`).
    """
    schema = violation.schema if isinstance(violation.schema, dict) else {}
    name = parameter_name(violation, base) or "body"
    if "propertyNames" in violation.absolute_schema_path:
        # The instance is a key of the object at `name` that is not allowed there.
        key = ".".join(
            part for part in (name if name != "body" else "", str(violation.instance)) if part
        )
        return f"Parameter `{key}` is not allowed here."
    rule = _rule(violation.validator, violation.validator_value, schema, violation.instance)
    if rule is None:
        return None
    if violation.validator == "required":
        return f"Required parameter `{name}` is missing."
    if violation.validator == "additionalProperties":
        return f"{rule} in `{name}`." if name != "body" else f"{rule}."
    return f"Parameter `{name}` {rule}."


def _rule(keyword: object, value: object, schema: dict[str, Any], instance: object) -> str | None:
    if keyword == "required":
        return "is missing"
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        named = [_TYPE_NAMES.get(str(kind), str(kind)) for kind in kinds]
        return f"must be {' or '.join(named)}{_bounds(schema, ' ')}"
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"must be{_bounds(schema, ' ')}"
    if keyword == "enum" and isinstance(value, list):
        return "must be one of " + ", ".join(_plain(choice) for choice in value)
    if keyword == "const":
        return f"must be {_plain(value)}"
    if keyword == "pattern":
        return f"must match the pattern {value}"
    if keyword == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters long"
    if keyword == "maxLength":
        return f"must be at most {value} characters long"
    if keyword == "minItems":
        return "must not be empty" if value == 1 else f"must have at least {value} items"
    if keyword == "maxItems":
        return f"must have at most {value} items"
    if keyword == "minProperties":
        return "must not be empty"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = schema.get("properties", {})
        unknown = sorted(str(key) for key in instance if key not in known)
        if unknown:
            return f"Unknown parameter `{unknown[0]}`"
    return None


def _bounds(schema: dict[str, Any], lead: str) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open, high_open = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if low is not None and high is not None:
        return f"{lead}between {_plain(low)} and {_plain(high)}"
    if low is not None:
        return f"{lead}at least {_plain(low)}"
    if high is not None:
        return f"{lead}at most {_plain(high)}"
    if low_open is not None:
        return f"{lead}greater than {_plain(low_open)}"
    if high_open is not None:
        return f"{lead}less than {_plain(high_open)}"
    return ""


def _plain(value: object) -> str:
    """A schema value as text: strings bare, everything else as JSON (never a Python repr)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def best_description(
    violations: Iterator[jsonschema.ValidationError], base: str = ""
) -> str | None:
    """The description of the violation that matters most (jsonschema's best match)."""
    from jsonschema.exceptions import best_match

    worst = best_match(violations)
    if worst is None:
        return None
    # Inside oneOf / anyOf, the alternative that came closest says the most.
    while worst.context:
        deeper = best_match(worst.context)
        if deeper is None:
            break
        worst = deeper
    return describe(worst, base)


def describe_each(
    violations: Iterable[jsonschema.ValidationError], limit: int = 3, base: str = ""
) -> str:
    """Up to `limit` violations, each as `describe` words it, joined with `; ` (no final dot)."""
    texts: list[str] = []
    for violation in violations:
        text = best_description(iter([violation]), base)
        if text is None:
            text = f"Parameter `{parameter_name(violation, base) or 'body'}` is invalid."
        if text not in texts:
            texts.append(text)
        if len(texts) == limit:
            break
    return "; ".join(text.rstrip(".") for text in texts)
