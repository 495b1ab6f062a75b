"""The fake's description of itself: one self-contained OpenAPI 3.1 document.

`schemas/openapi.yaml` ties the JSON Schema files (one per message) to routes by `$ref`s to
file names. Here those files are embedded under `components/schemas` (named by their
`title`) and every reference is rewritten to point inside the one document, so a tool that
reads a single URL (schemathesis, Swagger UI, a code generator) sees everything: the DashScope
routes, the result downloads and uploads, and the `/_mockscope/` control plane with its
bodies, examples and errors. `GET /_mockscope/openapi.json` serves it and `mockscope openapi`
prints it; nothing in it is written anywhere but in `schemas/`.
"""

from __future__ import annotations

import copy
import functools
import json
from collections import deque
from typing import Any

from mockscope import schemas

COMPONENTS = "#/components/schemas/"


def component_name(file_name: str) -> str:
    """The name a schema file gets under components/schemas: its title, or its file name in
    CamelCase (`task-list.json` -> `TaskList`)."""
    title = schemas.load_schema(file_name).get("title")
    if isinstance(title, str) and title.isidentifier():
        return title
    return "".join(part.capitalize() for part in file_name.removesuffix(".json").split("-"))


def _rewrite(node: Any, home: str | None, needed: deque[str]) -> Any:
    """A copy of `node` with every `$ref` pointing inside the bundle; `home` is the schema file
    the node comes from (None: the OpenAPI document itself). Files referred to are queued."""
    if isinstance(node, list):
        return [_rewrite(item, home, needed) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: _rewrite(value, home, needed) for key, value in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str):
        target, _, pointer = ref.partition("#")
        target = target.removeprefix("./")
        if target:
            needed.append(target)
            rewritten["$ref"] = COMPONENTS + component_name(target) + pointer
        elif home is not None:
            rewritten["$ref"] = COMPONENTS + component_name(home) + pointer
    return rewritten


@functools.cache
def _bundle() -> dict[str, Any]:
    needed: deque[str] = deque()
    document: dict[str, Any] = _rewrite(schemas.openapi(), None, needed)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    embedded: dict[str, str] = {}
    while needed:
        file_name = needed.popleft()
        name = component_name(file_name)
        if name in embedded:
            if embedded[name] != file_name:
                raise ValueError(f"{file_name} and {embedded[name]} would both be {name}")
            continue
        embedded[name] = file_name
        schema = _rewrite(schemas.load_schema(file_name), file_name, needed)
        for key in ("$schema", "$id"):  # the bundle is the resource; 2020-12 is 3.1's dialect
            schema.pop(key, None)
        components[name] = schema
    document["components"]["schemas"] = dict(sorted(components.items()))
    return document


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its local `$ref` (`#/components/...`) points to in the bundle."""
    while "$ref" in node:
        target: Any = _bundle()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def document(server_url: str | None = None) -> dict[str, Any]:
    """The bundled document (a fresh copy); `server_url` replaces its `servers` entry."""
    bundled = copy.deepcopy(_bundle())
    if server_url is not None:
        bundled["servers"] = [{"url": server_url, "description": "this mockscope server"}]
    return bundled


@functools.lru_cache(maxsize=16)
def as_json(server_url: str | None = None) -> bytes:
    """The document as indented JSON, cached per server URL (it never changes in a process)."""
    return json.dumps(document(server_url), indent=2, ensure_ascii=False).encode() + b"\n"


def as_yaml(server_url: str | None = None) -> str:
    import yaml

    text: str = yaml.safe_dump(document(server_url), sort_keys=False, allow_unicode=True, width=100)
    return text


# -- what the control plane says about its own bodies --------------------------------------------


@functools.cache
def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (method, path, operation)."""
    found = {}
    for path, item in schemas.openapi()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path, operation)
    return found


def route(operation_id: str) -> str:
    """`POST /_mockscope/reset`: an operation's method and path template."""
    method, path, _ = _operations()[operation_id]
    return f"{method} {path}"


@functools.cache
def expected_body(operation_id: str) -> str:
    """How to call an operation that takes a JSON body, from its documented example:
    `POST /_mockscope/clock/advance takes a JSON body such as {"seconds": 60}`."""
    method, path, operation = _operations()[operation_id]
    content = operation["requestBody"]["content"]["application/json"]
    examples = content.get("examples", {})
    example = next(iter(examples.values()))["value"]
    shown = json.dumps(example, ensure_ascii=False)
    return (
        f"{method} {path} takes a JSON body (Content-Type: application/json) such as {shown}; "
        f"GET /_mockscope/openapi.json describes it (operation {operation_id})"
    )
