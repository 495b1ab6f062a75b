"""Sending generated cases as the contract suite does: budget, pacing, 429 retries, checks.

Shared by the schemathesis tests (parametrized and stateful) and by the tests that prove,
with a deliberately broken fake, that these checks fail when they should.
"""

from __future__ import annotations

from typing import Any

from schemathesis import Case

from contract_tests.support import CREATE_PATH, MAX_RETRIES, Target, validator

CREATE_BODY = validator("task-create-request.json")
#: Only `enable` is documented for this header, and only as the switch for `oss://`
#: references; without such a reference the service ignores it and so does the fake. The
#: schema's enum would call every other value "invalid", so the suite does not send them (a
#: known leniency, reported to the schemas' owners rather than hidden in a failure filter).
OSS_RESOLVE = "X-DashScope-OssResourceResolve"


def is_create(case: Case[Any]) -> bool:
    return case.method.upper() == "POST" and case.operation.path == CREATE_PATH


def _header(case: Case[Any], name: str) -> str | None:
    for key, value in (case.headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def is_positive(case: Case[Any]) -> bool:
    return case.meta is None or not case.meta.generation.mode.is_negative


def prepare(case: Case[Any], target: Target) -> bool:
    """Adjust the case before it is sent; False when it must not be sent (over budget)."""
    resolve = _header(case, OSS_RESOLVE)
    if resolve is not None and resolve != "enable":
        for name in [name for name in case.headers if name.lower() == OSS_RESOLVE.lower()]:
            del case.headers[name]  # schemathesis sees the edit and re-judges the case
    if not is_create(case) or _header(case, "X-DashScope-Async") != "enable":
        return True
    body = case.body
    if not isinstance(body, dict) or not CREATE_BODY.is_valid(body):
        return True  # refused before anything is created: costs nothing
    if not target.may_create():
        return False
    generated = body.get("parameters")
    parameters: dict[str, Any] = dict(generated) if isinstance(generated, dict) else {}
    requested = parameters.get("n")
    n = target.images(requested if isinstance(requested, int) else None)
    if n != requested:
        case.body = {**body, "parameters": {**parameters, "n": n}}
    return True


def send(case: Case[Any], target: Target, headers: dict[str, str] | None = None) -> Any:
    """Send the case, paced, retrying a 429 after its Retry-After. Generated cases carry their
    own Authorization (or deliberately none); `headers` is for cases built by hand."""
    for attempt in range(MAX_RETRIES + 1):
        target.pace(is_create(case))
        response = case.call(base_url=target.url, headers=headers)
        if response.status_code != 429 or attempt == MAX_RETRIES:
            return response
        target.sleep(_retry_after(response))
    raise AssertionError("unreachable")


def _retry_after(response: Any) -> float:
    values = response.headers.get("retry-after") or ["1"]
    value = values[0] if isinstance(values, list) else values
    try:
        return max(float(value), 0.05)
    except ValueError:
        return 1.0


def validate(case: Case[Any], response: Any, target: Target) -> None:
    case.validate_response(response, transport_kwargs={"base_url": target.url})
