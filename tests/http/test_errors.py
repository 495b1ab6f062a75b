"""Everything that is not a documented answer still comes back as a DashScope envelope."""

from __future__ import annotations

import httpx
import pytest

from mockscope import ManualClock
from mockscope.backend import Operations
from tests.support import READ_HEADERS, validated_server


@pytest.mark.parametrize("path", ["/", "/api/v2/tasks/x", "/api/v1/tasks/a/b/c", "/_mockscope/x"])
def test_unknown_routes_get_a_404_envelope(api: httpx.Client, path: str) -> None:
    response = api.get(path, headers=READ_HEADERS)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "NotFound"
    assert response.headers["X-Request-ID"] == response.json()["request_id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/v1/tasks/x"),
        ("GET", "/api/v1/services/aigc/text2image/image-synthesis"),
        ("PUT", "/_mockscope/reset"),
    ],
)
def test_a_known_path_with_the_wrong_method_gets_405(
    api: httpx.Client, method: str, path: str
) -> None:
    response = api.request(method, path, headers=READ_HEADERS)
    assert response.status_code == 405
    assert response.json()["code"] == "MethodNotAllowed"


def test_an_unexpected_failure_is_a_500_envelope_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with validated_server(clock=ManualClock()) as server:

        def broken(*_: object) -> None:
            raise RuntimeError("a bug in the fake")

        monkeypatch.setattr(Operations, "get_task", broken)
        response = httpx.get(f"{server.url}/api/v1/tasks/x", headers=READ_HEADERS)
        with pytest.raises(RuntimeError, match="a bug in the fake"):
            server.check()
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "InternalError"
    assert "Traceback" not in response.text
    assert "a bug in the fake" not in response.text
    assert "a bug in the fake" in caplog.text, "the operator still sees what went wrong"


def test_every_domain_error_has_a_documented_status() -> None:
    import inspect

    from mockscope.domain import errors
    from mockscope.http.envelopes import STATUS_BY_CODE

    codes = {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DashScopeError) and cls is not errors.DashScopeError
    }
    assert codes <= set(STATUS_BY_CODE), codes - set(STATUS_BY_CODE)
