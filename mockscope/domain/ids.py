"""Seeded identifiers, so a seed reproduces the same task ids run after run."""

from __future__ import annotations

import hashlib
import random
import re
import struct

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
        self._tasks = _Uuids(self._stream("task"), 4)
        self._requests = _Uuids(self._stream("request"), 9)
        self._images = self._stream("image")
        self._seeds: list[int] = []

    def _stream(self, name: str) -> random.Random:
        return random.Random(None if self._seed is None else f"{self._seed}/{name}")

    def task_id(self) -> str:
        # A batch's next id taken here: one call less on every create and every answer.
        made = self._tasks.made
        return made.pop() if made else self._tasks.next()

    def request_id(self) -> str:
        made = self._requests.made
        return made.pop() if made else self._requests.next()

    def image_seed(self) -> int:
        """A seed for a task that did not ask for one, as the service picks one itself."""
        if not self._seeds:
            # Drawn in batches, like the ids: 31 random bits each, folded into [0, 2**31 - 1).
            words = struct.unpack(f"<{_BATCH}I", self._images.randbytes(4 * _BATCH))
            self._seeds = [(word >> 1) % _SEED_RANGE for word in reversed(words)]
        return self._seeds.pop()


#: Values drawn at a time: a few C-level operations make a whole batch, and every create and
#: every answer takes an id, so this is on the hot path.
_BATCH = 256
_SEED_RANGE = 2_147_483_647
#: Where each of a UUID's 32 hex digits goes in its 36 characters (after the hyphens before it).
_DIGIT_AT = [k + (k >= 8) + (k >= 12) + (k >= 16) + (k >= 20) for k in range(32)]
#: A batch's text before its digits are filled in: ids separated by spaces.
_BLANK = b"00000000-0000-0000-0000-000000000000 " * _BATCH
#: The RFC 4122 variant (10xx) in place of a byte's top two bits.
_VARIANT = bytes((byte & 0x3F) | 0x80 for byte in range(256))


class _Uuids:
    """UUID-shaped ids from one random stream, with a fixed version nibble and the RFC 4122
    variant, made a batch at a time with bytes operations rather than per-id string slicing."""

    __slots__ = ("_random", "_version", "made")

    def __init__(self, stream: random.Random, version: int) -> None:
        self._random = stream
        #: The byte that carries the version nibble, with that nibble set.
        self._version = bytes((byte & 0x0F) | (version << 4) for byte in range(256))
        #: The ids of the current batch not handed out yet, the next one last.
        self.made: list[str] = []

    def next(self) -> str:
        made = self.made
        if not made:
            made = self.made = self._batch()
        return made.pop()

    def _batch(self) -> list[str]:
        raw = bytearray(self._random.randbytes(16 * _BATCH))
        raw[6::16] = raw[6::16].translate(self._version)
        raw[8::16] = raw[8::16].translate(_VARIANT)
        digits = raw.hex().encode()
        text = bytearray(_BLANK)
        for digit, at in enumerate(_DIGIT_AT):
            text[at::37] = digits[digit::32]
        made = text.decode().split()
        made.reverse()  # popped from the end: the first made is handed out first
        return made


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
