"""Seeded identifiers, so a seed reproduces the same task ids run after run."""

from __future__ import annotations

import random


class IdSource:
    """Task ids (UUIDv4, as the live API issues) and request ids (UUID-shaped, not v4).

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
        return _hyphenate(self._requests.getrandbits(128))

    def image_seed(self) -> int:
        """A seed for a task that did not ask for one, as the service picks one itself."""
        return self._images.randrange(0, 2_147_483_647)


def _hyphenate(bits: int) -> str:
    h = bits.to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
