"""Bytes from the wire taken as data: header and query text that was not UTF-8, secrets
compared as bytes, and request bodies bounded while they stream in and are decoded.

aiohttp decodes header bytes that are not UTF-8 into lone surrogates (`\\udcff`), which no JSON
encoder will write: a key or a scenario header holding one would otherwise poison every answer
that echoes it (the journal, an injected error's message). `text()` turns such bytes into
visible `\\xff` escapes once, where the value enters the fake.

Request bodies are read here rather than with `request.read()`: the server runs with aiohttp's
automatic decompression off, so the 1 MiB JSON limit counts the *decoded* bytes as they are
decoded (a small gzip bomb stops at the limit, never inflated in memory), and chunked bodies
stop at the limit instead of being buffered to the application's upload limit first.
"""

from __future__ import annotations

import asyncio
import hmac
import zlib

from aiohttp import web
from multidict import istr

from mockscope.domain import errors

#: Content-Encodings a JSON body may come in, to the zlib window bits that decode them.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def text(value: str | None) -> str | None:
    """A header or query value as clean text: bytes that were not UTF-8 become `\\xNN`."""
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def as_bytes(value: str) -> bytes:
    """A header or form value's bytes as they came (lone surrogates back to their bytes)."""
    return value.encode("utf-8", "surrogateescape")


def same_secret(offered: str, expected: str) -> bool:
    """Compare a secret as bytes, in constant time, whatever bytes were offered."""
    return hmac.compare_digest(as_bytes(offered), as_bytes(expected))


_CONTENT_ENCODING = istr("Content-Encoding")


def content_encoding(request: web.Request) -> str:
    return (text(request.headers.get(_CONTENT_ENCODING)) or "").strip().lower()


def buffered_body(request: web.Request, limit: int) -> bytes | None:
    """The body if it is here whole already and needs no decoding (a small JSON body mostly
    is by the time the handler runs), else None: then `read_bounded` reads it."""
    if _CONTENT_ENCODING in request.headers:
        return None
    declared = request.content_length
    if declared is None or declared > limit:
        return None
    content = request.content
    if not content.is_eof() or content.exception() is not None:
        return None
    body = content.read_nowait(declared) if declared else b""
    if len(body) != declared:
        raise errors.InvalidParameter("The request body ended before its Content-Length.")
    return body


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The decoded body, refused with 413 once more than `limit` bytes come out of it (or go
    into it), and with 400 when it cannot be read or decoded; at most `limit` bytes and one
    network chunk are ever held."""
    # Most bodies come with no Content-Encoding: then there is nothing to decode.
    encoding = "" if _CONTENT_ENCODING not in request.headers else content_encoding(request)
    if encoding in ("", "identity"):
        decoder = None
    elif encoding in _WBITS:
        decoder = zlib.decompressobj(_WBITS[encoding])
    else:
        raise errors.InvalidParameter(f"Content-Encoding `{encoding}` is not supported.")
    declared = request.content_length
    if declared is not None and declared > limit:
        raise web.HTTPRequestEntityTooLarge(limit, declared)
    kept: list[bytes] = []
    received = size = 0
    try:
        if decoder is None and declared is not None:
            # aiohttp's parser ends the body at its Content-Length, so this holds at most
            # `limit` bytes. A small body is mostly buffered whole by the time the handler
            # runs: taken as it is, it costs no await; the rest, if any, is waited for.
            if not declared:
                return b""
            content = request.content
            body = content.read_nowait(declared)
            if len(body) < declared:
                body += await content.readexactly(declared - len(body))
            return body
        async for chunk in request.content.iter_any():
            received += len(chunk)
            if received > limit:
                raise web.HTTPRequestEntityTooLarge(limit, received)
            if decoder is not None:
                chunk = decoder.decompress(chunk, limit + 1 - size)
                if decoder.unconsumed_tail:
                    raise web.HTTPRequestEntityTooLarge(limit, size + len(chunk) + 1)
            size += len(chunk)
            if size > limit:
                raise web.HTTPRequestEntityTooLarge(limit, size)
            kept.append(chunk)
        if decoder is not None:
            kept.append(decoder.flush())
            if not decoder.eof or decoder.unused_data:
                raise errors.InvalidParameter(
                    f"The body is not a complete {encoding} stream, or has bytes after it."
                )
    except asyncio.IncompleteReadError:
        raise errors.InvalidParameter("The request body ended before its Content-Length.") from None
    except zlib.error:
        raise errors.InvalidParameter(f"The body cannot be decoded as {encoding}.") from None
    except (web.HTTPException, errors.DashScopeError):
        raise
    except Exception as error:  # a body is untrusted input: any way it breaks is the sender's
        message = f"The request body could not be read ({type(error).__name__})."
        raise errors.InvalidParameter(message) from None
    body = b"".join(kept)
    if len(body) > limit:
        raise web.HTTPRequestEntityTooLarge(limit, len(body))
    return body
