"""URL inputs (a reference image and the like): what the service takes for a URL at submit.

An input the service fetches must be an http(s) URL with a host, or an `oss://` key from the
temporary-upload flow; anything else (a local path the SDK did not upload, a bare file name, a
data: URI) is refused at submit with 400 InvalidURL "Invalid URL provided in your request."
[DOC S3, fact sheet §7]. The fake takes the scheme in any case, as URLs' schemes are.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mockscope.domain.errors import InvalidURL

SCHEMES = frozenset({"http", "https", "oss"})


def is_input_url(value: str) -> bool:
    """An http(s) URL with a host, or an `oss://` reference with a key."""
    if not value or any(char.isspace() or ord(char) < 0x20 for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
    if parts.scheme.lower() not in SCHEMES or not value[len(parts.scheme) :].startswith("://"):
        return False
    if parts.scheme.lower() == "oss":
        return len(value) > len("oss://")
    return bool(parts.hostname)


def check_input_url(value: str) -> None:
    """InvalidURL unless `value` is a URL the service could fetch (see `is_input_url`)."""
    if not is_input_url(value):
        raise InvalidURL()
