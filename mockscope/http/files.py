"""Result image downloads, answered the way an object store answers them.

Errors here are OSS-style XML documents, not DashScope envelopes: result URLs point at object
storage in the live service, and clients that download them see storage errors.
"""

from __future__ import annotations

import asyncio
from xml.sax.saxutils import escape

from aiohttp import web

from mockscope.backend import ResultGone
from mockscope.domain.operations import Operation
from mockscope.http import faults
from mockscope.http.exchange import Note
from mockscope.http.keys import BACKEND

_NO_SUCH_KEY = ("NoSuchKey", "The specified key does not exist.")
_EXPIRED = ("AccessDenied", "Request has expired.")


async def download_result(request: web.Request, noted: Note) -> web.Response:
    backend = noted.backend
    task_id = noted.task_id = request.match_info["task_id"]
    index = int(request.match_info["index"])
    outcomes = faults.resolve(request, noted, Operation.DOWNLOAD)
    if outcomes.request is not None:
        await faults.before(request, outcomes.request)
    try:
        spec = backend.result_image(task_id, index)
    except ResultGone as gone:
        status, (code, message) = (403, _EXPIRED) if gone.expired else (404, _NO_SUCH_KEY)
        return storage_error(request, status, code, message)
    # Rendering takes milliseconds of CPU: keep it off the event loop.
    png = await asyncio.get_running_loop().run_in_executor(None, backend.render, spec)
    response = web.Response(body=png, content_type="image/png")
    if outcomes.request is not None:
        return await faults.after(request, outcomes.request, response)
    return response


def storage_error(request: web.Request, status: int, code: str, message: str) -> web.Response:
    """An OSS-style XML error document."""
    request_id = request.app[BACKEND].new_request_id().replace("-", "").upper()[:24]
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error>\n"
        f"  <Code>{code}</Code>\n"
        f"  <Message>{message}</Message>\n"
        f"  <RequestId>{request_id}</RequestId>\n"
        f"  <HostId>{escape(request.host)}</HostId>\n"
        f"  <Key>{escape(request.path.lstrip('/'))}</Key>\n"
        "</Error>\n"
    )
    headers = {"x-oss-request-id": request_id}
    return web.Response(
        text=document, status=status, content_type="application/xml", headers=headers
    )
