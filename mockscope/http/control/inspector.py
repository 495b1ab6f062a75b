"""The inspector: a page over the control plane, served from files shipped in the package.

Plain HTML, CSS and one script (`assets/`), no build step and nothing fetched from elsewhere,
so it works offline; the script reads the control routes' JSON and polls them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from aiohttp import web

from mockscope.domain import errors
from mockscope.http.control.clock_limits import guard
from mockscope.http.keys import PARAMS

#: The files the page loads, with their Content-Type.
ASSETS = {
    "inspector.js": "text/javascript",
    "inspector.css": "text/css",
}
#: The page may load only its own files and talk only to its own server; images may come from
#: the result URLs' host (`public_url` may name another).
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src * data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _asset(name: str) -> bytes:
    return (resources.files("mockscope.http.control") / "assets" / name).read_bytes()


async def get_page(request: web.Request) -> web.Response:
    """GET /_mockscope/ and /_mockscope/ui: the inspector page, for the control plane's
    callers only. A browser cannot set a header on the page itself, so here the token may
    also come as `?token=` (the script then sends it as a header)."""
    guard(request, token_in_query=True)
    return web.Response(
        body=_asset("index.html"),
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Content-Security-Policy": _POLICY},
    )


async def get_asset(request: web.Request) -> web.Response:
    """GET /_mockscope/ui/{asset}: the page's script and style sheet. No guard: like the
    OpenAPI document, they hold nothing but what ships with mockscope."""
    name = request[PARAMS]["asset"]
    content_type = ASSETS.get(name)
    if content_type is None:
        raise errors.NotFound(f"The inspector has no file {name[:60]!r}.")
    return web.Response(
        body=_asset(name),
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )
