"""The code and schemas/ agree: routes, operation ids, and the domain's copy of documented enums."""

from __future__ import annotations

import re

from mockscope import schemas
from mockscope.domain.tasks import SUPPORTED_SIZES
from mockscope.http.app import OPERATION_IDS, ROUTES
from mockscope.http.control import dispatch

#: Operations the OpenAPI document describes that the fake does not serve yet.
NOT_YET_SERVED: set[str] = set()


def _openapi_operations() -> dict[str, tuple[str, str]]:
    operations = {}
    for path, item in schemas.openapi()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                operations[operation["operationId"]] = (method.upper(), path)
    return operations


def _as_openapi_path(aiohttp_path: str) -> str:
    # aiohttp spells a parameter with its pattern, `{key:.+}`; OpenAPI as `{key}`.
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", aiohttp_path)


def _served() -> dict[str, tuple[str, str]]:
    """operationId -> (method, path) of every route the fake serves."""
    served = {
        OPERATION_IDS[path]: (method, _as_openapi_path(path)) for method, path, _, _ in ROUTES
    }
    for method, path, _, operation_id in dispatch.ROUTES:
        served[operation_id] = (method, f"{dispatch.PREFIX}/{path}")
    return served


def test_every_route_is_an_openapi_operation_with_the_same_method_and_path() -> None:
    documented = _openapi_operations()
    for operation_id, route in _served().items():
        assert documented[operation_id] == route, operation_id


def test_every_documented_operation_is_served_or_knowingly_pending() -> None:
    assert set(_openapi_operations()) - set(_served()) == NOT_YET_SERVED


def test_the_domain_supports_exactly_the_schema_sizes() -> None:
    schema = schemas.load_schema("task-create-request.json")
    assert tuple(schema["$defs"]["supported_size"]["enum"]) == SUPPORTED_SIZES


def test_response_specs_come_from_openapi() -> None:
    created = schemas.response_spec("create_task", 200)
    assert created is not None
    assert created.json_ref == "task-create-response.json"
    # Any other status of an API operation is an (injected) error envelope.
    injected = schemas.response_spec("create_task", 418)
    assert injected is not None
    assert injected.json_ref == "error.json"
    assert schemas.response_spec("get_clock", 500) is None
    image = schemas.response_spec("download_result", 200)
    assert image is not None
    assert image.media_types == ("image/png",)
