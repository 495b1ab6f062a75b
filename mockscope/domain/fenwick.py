"""A Fenwick (binary indexed) tree of 0/1 flags: counts and the k-th set flag in O(log n).

The listing index keeps one per status over an account's tasks in submission order, so a
window's count is two prefix sums and the k-th task of a page is one descent, whatever the
number of tasks stored.
"""

from __future__ import annotations

from itertools import accumulate
from operator import sub


class Fenwick:
    """Flags at positions 0..n-1; `prefix(i)` counts set flags before i."""

    __slots__ = ("_size", "_top", "_tree")

    def __init__(self, flags: bytes | bytearray = b"") -> None:
        n = len(flags)
        # A list rather than an array of int64: the interpreter has fast paths for indexing
        # lists (not arrays), which makes each update about three times cheaper; small counts
        # are shared int objects, so it costs no more memory in practice.
        self._tree: list[int]
        if not any(flags):
            self._tree = [0] * (n + 1)
        else:
            # tree[i] (1-based) holds the count of flags in (i - lowbit(i), i], which is
            # sums[i] - sums[i - lowbit(i)]: built in O(n), one slice per lowbit, so the loop
            # runs in C (an account's ring is rebuilt as it doubles, with every slot in it).
            sums = [0, *accumulate(flags)]
            tree = [0] * (n + 1)
            low = 1
            while low <= n:
                tree[low :: 2 * low] = map(
                    sub, sums[low :: 2 * low], sums[0 : n + 1 - low : 2 * low]
                )
                low *= 2
            self._tree = tree
        self._size = n
        self._top = 1 << n.bit_length() if n else 1

    def __len__(self) -> int:
        return self._size

    def add(self, position: int, delta: int) -> None:
        """Set (+1) or clear (-1) the flag at `position`."""
        tree, n = self._tree, self._size
        i = position + 1
        while i <= n:
            tree[i] += delta
            i += i & -i

    def prefix(self, end: int) -> int:
        """How many flags are set at positions [0, end)."""
        tree, total = self._tree, 0
        while end > 0:
            total += tree[end]
            end &= end - 1
        return total

    def count(self, start: int, end: int) -> int:
        """How many flags are set at positions [start, end)."""
        return self.prefix(end) - self.prefix(start) if end > start else 0

    def select(self, k: int) -> int:
        """The position of the k-th set flag (1-based); k must be in 1..prefix(n)."""
        tree, n = self._tree, self._size
        position, step = 0, self._top
        while step:
            nxt = position + step
            if nxt <= n and tree[nxt] < k:
                position = nxt
                k -= tree[nxt]
            step >>= 1
        return position
