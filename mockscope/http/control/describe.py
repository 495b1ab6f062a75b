"""GET /_mockscope/openapi.json: the server's description of itself (mockscope.openapi)."""

from __future__ import annotations

from aiohttp import web

from mockscope import openapi
from mockscope.http.keys import PUBLIC_URL
from mockscope.http.serialize import json_bytes_response


async def get_openapi(request: web.Request) -> web.Response:
    """The bundled OpenAPI document, its `servers` naming this server. No guard: it holds
    nothing but the description that ships with mockscope."""
    own_url = request.app[PUBLIC_URL] or f"{request.scheme}://{request.host}"
    return json_bytes_response(openapi.as_json(own_url))
