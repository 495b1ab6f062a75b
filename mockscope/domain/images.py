"""Deterministic result images: the same size, prompt and seed always give the same PNG bytes.

Images are rendered when downloaded, never stored per task; a small cache keeps recent ones.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

#: Painting at this size and scaling up keeps rendering cheap; the caption is drawn full size.
_SKETCH_SIZE = 48


def render_png(width: int, height: int, prompt: str, seed: int) -> bytes:
    """A PNG of exactly width x height whose colours and shapes follow from prompt and seed."""
    # Pillow is imported on first use: most runs never download an image.
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    rng = random.Random(digest)
    sketch = Image.new("RGB", (_SKETCH_SIZE, _SKETCH_SIZE), _colour(rng))
    draw = ImageDraw.Draw(sketch)
    for _ in range(6):
        x0, y0 = rng.randrange(_SKETCH_SIZE), rng.randrange(_SKETCH_SIZE)
        x1, y1 = x0 + rng.randrange(4, 24), y0 + rng.randrange(4, 24)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=_colour(rng))
    image = sketch.resize((width, height), Image.Resampling.BILINEAR)
    caption = f"mockscope  seed={seed}  {width}x{height}"
    ImageDraw.Draw(image).text((12, 12), caption, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered image as object storage serves it: the bytes and their MD5, which OSS gives
    as the ETag of a simply uploaded object (`"D80CF0E5BE2436514894D64B2BCFB2AE"`, upper-case
    hex in quotes) and as its Content-MD5 (base64)."""

    png: bytes
    etag: str
    content_md5: str

    @classmethod
    def of(cls, png: bytes) -> Rendered:
        md5 = hashlib.md5(png).digest()
        return cls(png, f'"{md5.hex().upper()}"', base64.b64encode(md5).decode())


class ImageCache:
    """A small least-recently-used cache of rendered images, bounded by count."""

    def __init__(self, capacity: int = 16) -> None:
        self._capacity = capacity
        self._images: OrderedDict[tuple[int, int, str, int], Rendered] = OrderedDict()
        self._lock = Lock()

    def cached(self, width: int, height: int, prompt: str, seed: int) -> Rendered | None:
        """The image if it is in the cache: a lookup cheap enough for the event loop."""
        key = (width, height, prompt, seed)
        with self._lock:
            found = self._images.get(key)
            if found is not None:
                self._images.move_to_end(key)
            return found

    def rendered(self, width: int, height: int, prompt: str, seed: int) -> Rendered:
        """The image, rendered now if it is not cached (milliseconds of CPU)."""
        found = self.cached(width, height, prompt, seed)
        if found is not None:
            return found
        image = Rendered.of(render_png(width, height, prompt, seed))
        with self._lock:
            self._images[(width, height, prompt, seed)] = image
            while len(self._images) > self._capacity:
                self._images.popitem(last=False)
        return image

    def render(self, width: int, height: int, prompt: str, seed: int) -> bytes:
        return self.rendered(width, height, prompt, seed).png
