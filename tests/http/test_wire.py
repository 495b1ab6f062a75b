"""WholeAnswer.made_from makes what aiohttp's constructor makes, and answers made from one
template share a serialized head only while nothing that is in the head differs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from mockscope.http.serialize import json_bytes_response
from mockscope.http.wire import WholeAnswer

TEMPLATE: CIMultiDict[str] = CIMultiDict(
    [("Content-Type", "application/json"), ("req-cost-time", "0"), ("req-arrive-time", "1")]
)
BODY = b'{"request_id":"r"}'


@pytest.mark.parametrize(
    ("made", "built"),
    [
        (
            lambda: WholeAnswer.made_from(BODY, TEMPLATE),
            lambda: WholeAnswer(body=BODY, headers=TEMPLATE),
        ),
        (
            lambda: json_bytes_response(BODY),
            lambda: web.Response(body=BODY, content_type="application/json", charset="utf-8"),
        ),
    ],
    ids=["gateway headers", "plain JSON"],
)
def test_made_from_sets_what_the_constructor_sets(
    made: Callable[[], web.Response], built: Callable[[], web.Response]
) -> None:
    _assert_same_state(made(), built())


def _assert_same_state(made: web.Response, built: web.Response) -> None:
    state = {key: value for key, value in vars(made).items() if not key.startswith("_template")}
    assert state.keys() == vars(built).keys()
    for key, value in vars(built).items():
        if key == "_headers":
            assert list(state[key].items()) == list(value.items())
            assert state[key] is not getattr(made, "_template", None)  # a copy: it is shared
        else:
            assert state[key] == value, key


@pytest.mark.asyncio
async def test_a_shared_head_follows_every_change() -> None:
    async def plain(request: web.Request) -> web.Response:
        return WholeAnswer.made_from(BODY, TEMPLATE)

    async def extra_header(request: web.Request) -> web.Response:
        answer = WholeAnswer.made_from(BODY, TEMPLATE)
        answer.headers["X-Extra"] = "1"
        return answer

    async def created(request: web.Request) -> web.Response:
        answer = WholeAnswer.made_from(BODY, TEMPLATE)
        answer.set_status(201)
        return answer

    async def longer(request: web.Request) -> web.Response:
        return WholeAnswer.made_from(BODY + b" ", TEMPLATE)

    app = web.Application()
    for path, handler in (("/plain", plain), ("/extra", extra_header), ("/201", created)):
        app.router.add_get(path, handler)
    app.router.add_get("/longer", longer)
    async with TestClient(TestServer(app)) as client:
        await _check_answers(client)


async def _check_answers(client: TestClient[web.Request, web.Application]) -> None:
    async def head(path: str) -> tuple[int, CIMultiDict[str], bytes]:
        async with client.get(path) as response:
            return response.status, CIMultiDict(response.headers), await response.read()

    status, headers, body = await head("/plain")
    assert (status, headers["req-arrive-time"], body) == (200, "1", BODY)
    assert headers["Content-Length"] == str(len(BODY))
    for path in ("/extra", "/plain", "/201", "/plain", "/longer", "/plain"):
        status, headers, body = await head(path)
        assert status == (201 if path == "/201" else 200), path
        assert ("X-Extra" in headers) == (path == "/extra"), path
        assert headers["Content-Length"] == str(len(body)), path
        assert body == (BODY + b" " if path == "/longer" else BODY), path
    assert TEMPLATE.keys() == {"Content-Type", "req-cost-time", "req-arrive-time"}
