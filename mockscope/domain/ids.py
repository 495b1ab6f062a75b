"""Seeded identifiers, so a seed reproduces the same task ids run after run."""

from __future__ import annotations

import hashlib
import random
import re

#: The shape of every request id recorded from the live service (see IdSource).
REQUEST_ID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-9[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


class IdSource:
    """Task ids (UUIDv4, as the live API issues) and request ids shaped like the service's.

    Every request id recorded from the live service reads `xxxxxxxx-xxxx-9xxx-[89ab]xxx-…`:
    UUID-shaped, with 9 where a UUID's version goes and the RFC 4122 variant (fact sheet §4;
    e.g. `33da8e6b-1309-9a44-be83-352165959608`, `4d496c94-1389-9ca9-a92a-3e732f675686`).

    Each kind of value has its own stream, so the n-th task id of a seed is the same however
    many reads (and so request ids) happened in between.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self.restart()

    def restart(self) -> None:
        """Replay the same sequences from the beginning (fresh random ones without a seed)."""
        self._tasks = self._stream("task")
        self._requests = self._stream("request")
        self._images = self._stream("image")

    def _stream(self, name: str) -> random.Random:
        return random.Random(None if self._seed is None else f"{self._seed}/{name}")

    def task_id(self) -> str:
        bits = self._tasks.getrandbits(128)
        # Set the version (4) and variant (10xx) bits the way uuid4 does.
        bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)
        bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)
        return _hyphenate(bits)

    def request_id(self) -> str:
        bits = self._requests.getrandbits(128)
        bits = (bits & ~(0xF000 << 64)) | (0x9000 << 64)
        bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)
        return _hyphenate(bits)

    def image_seed(self) -> int:
        """A seed for a task that did not ask for one, as the service picks one itself."""
        return self._images.randrange(0, 2_147_483_647)


def _hyphenate(bits: int) -> str:
    h = bits.to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def numeric_id(name: str, digits: int = 16) -> str:
    """A stable numeric id for a key or account name, as the service shows ids, never the key."""
    digest = hashlib.sha256(name.encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**digits).rjust(digits, "1")


def api_key_id(api_key: str) -> str:
    """The short numeric id listings show for the key that submitted a task."""
    return numeric_id(api_key, 5)


def account_uid(account: str) -> str:
    """The numeric user id listings show for an account."""
    return numeric_id(account, 16)
