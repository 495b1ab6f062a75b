"""DirectRunner: the fake's hottest routes reached without aiohttp's router.

A client polls one task and submits tasks far more often than it calls anything else. For every
request aiohttp's `Application._handle` awaits the router (two coroutines, a walk over the
path's prefixes, a regex), builds the match and checks for `Expect`; on a poll that costs
about as much as the fake's own work. The runner here puts a dispatcher in front of it that
recognises a plain request for a task, a submit endpoint or a result object by its raw path,
and calls the route's handler with the match the router would have made (the same route object,
an equal `match_info`, the same application; a submit path's is made once, having no
variables). Anything else — a path aiohttp would decode, an `Expect` header, another route, an
application with middlewares or response-prepare hooks — goes to `Application._handle`
unchanged, so the answer never depends on which way it went.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import cast

from aiohttp import hdrs, web
from aiohttp.web_server import Server

from mockscope.http.wire import HooklessMatch

#: What a raw path must avoid to be matched here: anything aiohttp would decode (`%`), and a
#: fragment (which yarl would split off).
_NEEDS_THE_ROUTER = re.compile(r"[%#]")
#: `GET /api/v1/tasks/{task_id}` with its optional trailing slash; an id of URL-safe characters.
_TASK = re.compile(r"/api/v1/tasks/([A-Za-z0-9_.~-]+)(/?)")
_RESULTS = "/results/"


class DirectRunner(web.AppRunner):
    """An `AppRunner` whose server sends the hot routes straight to their handlers.

    The application must have been made by `create_app`, whose route names it looks up."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        app = self.app
        # A middleware must see every request, and a hook every answer: keep the router.
        if not app.middlewares and not app.on_response_prepare:
            server.request_handler = _Dispatcher(app)
        return server


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Dispatcher:
    """Matches a request's raw path against the hot routes, else hands it to the router."""

    def __init__(self, app: web.Application) -> None:
        named = app.router.named_resources()
        self._app = app
        self._handle: Handler = app._handle
        self._get_task = _route(named["get_task"], hdrs.METH_GET)
        self._download = _route(named["download_result"], hdrs.METH_GET)
        #: The submit endpoints (fixed paths, each also with a trailing slash), by raw path,
        #: each with its match: the same for every request (no variables), so made once.
        self._creates: dict[str, HooklessMatch] = {}
        for name in ("create_task", "create_generation_task", "generate"):
            for resource in (named[name], named[f"{name}_slash"]):
                match = HooklessMatch({}, _route(resource, hdrs.METH_POST))
                match.add_app(app)
                match.freeze()
                self._creates[resource.canonical] = match

    async def __call__(self, base_request: web.BaseRequest) -> web.StreamResponse:
        # The application's request factory makes every request a web.Request.
        request = cast(web.Request, base_request)
        path = request.raw_path
        if "?" in path:
            path = path.partition("?")[0]
        method = request.method
        if hdrs.EXPECT in request.headers:
            return await self._handle(request)
        if method == hdrs.METH_POST:
            # A submit path is one of a few known strings (none needing decoding).
            create = self._creates.get(path)
            if create is None:
                return await self._handle(request)
            request._match_info = create
            return await create.route.handler(request)
        route: web.AbstractRoute | None = None
        if method != hdrs.METH_GET or _NEEDS_THE_ROUTER.search(path) is not None:
            pass
        elif (task := _TASK.fullmatch(path)) is not None:
            route, found = self._get_task, {"task_id": task[1], "slash": task[2]}
        elif path.startswith(_RESULTS) and len(path) > len(_RESULTS):
            route, found = self._download, {"key": path[len(_RESULTS) :]}
        if route is None:
            return await self._handle(request)
        # What Application._handle does with the router's match.
        match_info = HooklessMatch(found, route)
        match_info.add_app(self._app)
        match_info.freeze()
        request._match_info = match_info
        return await route.handler(request)


def _route(resource: web.AbstractResource, method: str) -> web.AbstractRoute:
    for route in resource:
        if route.method == method:
            return route
    raise LookupError(f"no {method} route on {resource.canonical}")
