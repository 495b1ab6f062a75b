"""Where a downloaded image goes: a file that appears whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Self
from urllib.parse import unquote, urlsplit


def target_path(url: str, path: str | os.PathLike[str]) -> Path:
    """`path`, or inside it when it is a directory: the URL's file name (`image.png` if none)."""
    target = Path(path)
    if target.is_dir():
        name = PurePosixPath(unquote(urlsplit(url).path)).name
        target = target / (name or "image.png")
    return target


class Sink:
    """Writes to `<target>.part` and renames it to `target` once complete; a download that
    fails leaves nothing behind. Each attempt starts the file afresh."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.partial = target.with_name(target.name + ".part")
        self._file: IO[bytes] | None = None
        self.done = False

    def start(self) -> None:
        self._close()
        self._file = self.partial.open("wb")

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "start() first"
        self._file.write(chunk)

    def finish(self) -> None:
        self._close()
        self.partial.replace(self.target)
        self.done = True

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()
        if not self.done:
            self.partial.unlink(missing_ok=True)
