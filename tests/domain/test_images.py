from __future__ import annotations

import io

import pytest
from PIL import Image

from mockscope.domain.images import ImageCache, render_png


@pytest.mark.parametrize(("width", "height"), [(1024, 1024), (720, 1280), (1280, 720)])
def test_images_have_the_requested_size_and_are_png(width: int, height: int) -> None:
    png = render_png(width, height, "a cat", 1)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.size == (width, height)


def test_the_same_inputs_give_the_same_bytes_and_other_seeds_other_images() -> None:
    first = render_png(256, 256, "a cat", 1)
    assert render_png(256, 256, "a cat", 1) == first
    assert render_png(256, 256, "a cat", 2) != first
    assert render_png(256, 256, "a dog", 1) != first


def test_the_cache_is_bounded_and_returns_identical_bytes() -> None:
    cache = ImageCache(capacity=2)
    first = cache.render(64, 64, "p", 1)
    assert cache.render(64, 64, "p", 1) is first
    cache.render(64, 64, "p", 2)
    cache.render(64, 64, "p", 3)
    assert len(cache._images) == 2
    assert cache.render(64, 64, "p", 1) == first
