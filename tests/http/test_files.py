"""Result image downloads: real PNGs of the requested size, storage-style errors otherwise."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from mockscope import MockServer
from tests.support import read_task, submit


@pytest.mark.parametrize(
    ("size", "dimensions"), [("1024*1024", (1024, 1024)), ("720*1280", (720, 1280))]
)
def test_result_urls_download_pngs_of_the_requested_size(
    api: httpx.Client, server: MockServer, size: str, dimensions: tuple[int, int]
) -> None:
    task_id = submit(api, n=2, size=size, seed=5)
    server.clock.advance(60)
    results = read_task(api, task_id)["results"]
    assert isinstance(results, list)
    images = []
    for item in results:
        response = api.get(item["url"])
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        images.append(response.content)
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.format == "PNG"
            assert image.size == dimensions
    assert images[0] != images[1], "image k is rendered from seed + k"


def test_the_same_seed_and_prompt_give_the_same_image(
    api: httpx.Client, server: MockServer
) -> None:
    first, second = submit(api, n=1, seed=9), submit(api, n=1, seed=9)
    server.clock.advance(60)
    url_a = read_task(api, first)["results"][0]["url"]  # type: ignore[index]
    url_b = read_task(api, second)["results"][0]["url"]  # type: ignore[index]
    assert url_a != url_b
    assert api.get(url_a).content == api.get(url_b).content


def test_no_image_before_the_task_succeeds(api: httpx.Client) -> None:
    task_id = submit(api, n=1)
    response = api.get(f"/results/{task_id}/0.png")
    assert response.status_code == 404
    assert "<Code>NoSuchKey</Code>" in response.text


@pytest.mark.parametrize("path", ["/results/nope/0.png", "/results/{task_id}/7.png"])
def test_unknown_results_are_not_found(api: httpx.Client, server: MockServer, path: str) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(60)
    response = api.get(path.format(task_id=task_id))
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/xml")


def test_results_of_a_failed_task_are_not_served(api: httpx.Client, server: MockServer) -> None:
    task_id = submit(api, n=1, size="1*1")
    server.clock.advance(60)
    assert api.get(f"/results/{task_id}/0.png").status_code == 404


def test_expired_result_urls_answer_403_like_an_expired_signed_link(
    api: httpx.Client, server: MockServer
) -> None:
    task_id = submit(api, n=1)
    server.clock.advance(60)
    url = read_task(api, task_id)["results"][0]["url"]  # type: ignore[index]
    assert api.get(url).status_code == 200
    server.clock.advance(24 * 3600)
    expired = api.get(url)
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text
    assert "Request has expired." in expired.text
