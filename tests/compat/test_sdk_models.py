"""The official dashscope SDK, unchanged, against every model of the catalogue.

ImageSynthesis (`call`, `async_call` + `fetch` + `wait`, `sync_call`) for every prompt-protocol
model, ImageGeneration (`call`, `async_call`, `fetch`, `wait`, `cancel`, `list`) for wan2.6-t2i,
the aiohttp classes (AioImageSynthesis, AioImageGeneration) for one model each, and the v2
client's `images.generate` / `images.jobs` for wan2.6-t2i and wan2.5-t2i-preview. Every
image the SDK is handed is downloaded and must have the requested size. The fake runs on a
jumping clock (a read of an unfinished task, or a held synchronous answer, jumps it to the
task's end), except where a test needs a PENDING task and takes a manual clock.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

import httpx
import pytest
from dashscope import ImageSynthesis
from dashscope.aigc.image_generation import AioImageGeneration, ImageGeneration
from dashscope.aigc.image_synthesis import AioImageSynthesis
from dashscope.api_entities.aio_session import close_shared_aio_session
from PIL import Image

from mockscope import Limits, MockServer, model_catalogue
from mockscope.sdk import DashScopeBinding, bind_dashscope
from tests.support import API_KEY, validated_server

T = TypeVar("T")
CATALOGUE = model_catalogue()
PROMPT_MODELS = [spec.id for spec in CATALOGUE if spec.protocol == "prompt"]
SYNC_MODELS = {
    spec.id
    for spec in CATALOGUE
    if spec.protocol == "prompt" and "sync" in spec.endpoints[min(spec.endpoints)]
}
#: A size inside each model's rule other than its default, so the default cannot hide a bug.
SIZES = {
    "wanx-v1": "720*1280",
    "wanx2.0-t2i-turbo": "1024*768",
    "wanx2.1-t2i-turbo": "768*1024",
    "wanx2.1-t2i-plus": "1440*1024",
    "wan2.2-t2i-flash": "512*1440",
    "wan2.2-t2i-plus": "1280*720",
    "wan2.5-t2i-preview": "768*2700",
    "wan2.6-t2i": "1104*1472",
}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with validated_server(time="jump", seed=5) as running:
        yield running


@pytest.fixture
def sdk(server: MockServer) -> Iterator[DashScopeBinding]:
    with bind_dashscope(server, api_key=API_KEY) as binding:
        yield binding


def assert_images(urls: list[str], size: str, n: int) -> None:
    """The SDK's URLs download as PNGs of the requested size."""
    assert len(urls) == n
    for url in urls:
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(response.content)).size == tuple(map(int, size.split("*")))


def synthesis_urls(response: Any) -> list[str]:
    return [result.url for result in response.output.results]


def generation_urls(response: Any) -> list[str]:
    return [
        item["image"]
        for choice in response.output.choices
        for item in choice.message.content
        if "image" in item
    ]


def messages(prompt: str = "a cat in the snow") -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": prompt}]}]


def _run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run an async scenario, closing the aiohttp session the SDK keeps per event loop."""

    async def closing() -> T:
        try:
            return await scenario
        finally:
            await close_shared_aio_session()

    return asyncio.run(closing())


# -- ImageSynthesis, every prompt-protocol model ----------------------------------------------


@pytest.mark.parametrize("model", PROMPT_MODELS)
def test_image_synthesis_call(sdk: DashScopeBinding, model: str) -> None:
    size = SIZES[model]
    response = ImageSynthesis.call(model=model, prompt="a cat", n=2, size=size)
    assert response.status_code == HTTPStatus.OK, response
    assert response.output.task_status == "SUCCEEDED"
    assert response.usage.image_count == 2
    assert_images(synthesis_urls(response), size, 2)
    if model != "wanx-v1":
        assert all(result.orig_prompt == "a cat" for result in response.output.results)
        assert all(result.actual_prompt for result in response.output.results)


@pytest.mark.parametrize("model", PROMPT_MODELS)
def test_image_synthesis_async_call_fetch_wait(sdk: DashScopeBinding, model: str) -> None:
    submitted = ImageSynthesis.async_call(model=model, prompt="a dog", n=1, prompt_extend=False)
    assert submitted.status_code == HTTPStatus.OK, submitted
    assert submitted.output.task_status == "PENDING"
    fetched = ImageSynthesis.fetch(submitted)
    assert fetched.output.task_status == "SUCCEEDED"  # the read jumped the clock to the end
    done = ImageSynthesis.wait(submitted)
    assert done.output.task_status == "SUCCEEDED"
    default = CATALOGUE[model].size.default
    assert_images(synthesis_urls(done), default, 1)
    if model != "wanx-v1":
        (result,) = done.output.results
        assert result.orig_prompt == "a dog"
        assert getattr(result, "actual_prompt", None) is None  # prompt_extend off


@pytest.mark.parametrize("model", PROMPT_MODELS)
def test_image_synthesis_sync_call(sdk: DashScopeBinding, model: str) -> None:
    response = ImageSynthesis.sync_call(model=model, prompt="a fox", n=1, size=SIZES[model])
    if model not in SYNC_MODELS:
        assert (response.status_code, response.code) == (HTTPStatus.FORBIDDEN, "AccessDenied")
        return
    assert response.status_code == HTTPStatus.OK, response
    assert response.output.task_status == "SUCCEEDED"
    assert_images(synthesis_urls(response), SIZES[model], 1)


def test_sync_calls_are_allowed_exactly_for_the_wan22_models() -> None:
    assert {"wan2.2-t2i-flash", "wan2.2-t2i-plus"} == SYNC_MODELS


@pytest.mark.parametrize("model", PROMPT_MODELS)
def test_a_size_outside_the_rule_fails_the_task(sdk: DashScopeBinding, model: str) -> None:
    response = ImageSynthesis.call(model=model, prompt="a cat", n=1, size="4000*4000")
    assert response.status_code == HTTPStatus.OK  # accepted, then FAILED, as live
    assert (response.output.task_status, response.output.code) == ("FAILED", "InvalidParameter")
    assert response.output.message == CATALOGUE[model].size.violation.message


# -- ImageGeneration (wan2.6-t2i) ----------------------------------------------------------------


def test_image_generation_call(sdk: DashScopeBinding) -> None:
    size = SIZES["wan2.6-t2i"]
    response = ImageGeneration.call(
        model="wan2.6-t2i", messages=messages(), n=2, size=size, negative_prompt="blurry"
    )
    assert response.status_code == HTTPStatus.OK, response
    assert response.output.finished is True
    assert [choice.finish_reason for choice in response.output.choices] == ["stop", "stop"]
    assert response.usage.image_count == 2
    assert response.usage.size == size
    assert_images(generation_urls(response), size, 2)


def test_image_generation_async_call_fetch_wait(sdk: DashScopeBinding) -> None:
    submitted = ImageGeneration.async_call(model="wan2.6-t2i", messages=messages(), n=1)
    assert submitted.status_code == HTTPStatus.OK, submitted
    assert submitted.output.task_status == "PENDING"
    fetched = ImageGeneration.fetch(submitted)
    assert fetched.output.task_status == "SUCCEEDED"
    done = ImageGeneration.wait(submitted)
    assert done.status_code == HTTPStatus.OK
    assert done.output.task_status == "SUCCEEDED"
    assert done.usage.size == "1280*1280"
    assert_images(generation_urls(done), "1280*1280", 1)


def test_image_generation_cancel_and_list() -> None:
    with validated_server(time="manual", seed=5) as server, bind_dashscope(server):
        server.set_limits(Limits(concurrency_per_model={"wan2.6-t2i": 1}))
        first = ImageGeneration.async_call(model="wan2.6-t2i", messages=messages(), n=1)
        second = ImageGeneration.async_call(model="wan2.6-t2i", messages=messages(), n=1)
        server.clock.advance(1)
        canceled = ImageGeneration.cancel(second)
        assert canceled.status_code == HTTPStatus.OK
        assert ImageGeneration.fetch(second).output.task_status == "CANCELED"
        refused = ImageGeneration.cancel(first)
        assert (refused.status_code, refused.code) == (400, "UnsupportedOperation")
        listed = ImageGeneration.list(model_name="wan2.6-t2i", page_no=1, page_size=10)
        assert listed.status_code == HTTPStatus.OK
        assert listed.output["total"] == 2
        done = ImageGeneration.wait(first)  # its sleeps move the manual clock
        assert done.output.task_status == "SUCCEEDED"


def test_image_generation_errors_reach_the_sdk(sdk: DashScopeBinding) -> None:
    wrong = ImageGeneration.call(model="wanx-v1", messages=messages())
    assert (wrong.status_code, wrong.code) == (400, "InvalidParameter")
    assert wrong.message == "url error, please check url！"
    unknown = ImageGeneration.async_call(model="wan9-t2i", messages=messages())
    assert (unknown.status_code, unknown.message) == (400, "Model not exist.")
    two = ImageGeneration.call(model="wan2.6-t2i", messages=messages() * 2)
    assert (two.status_code, two.code) == (400, "InvalidParameter")


# -- the aiohttp classes ----------------------------------------------------------------------


def test_aio_image_synthesis_for_a_v2_model(sdk: DashScopeBinding) -> None:
    model, size = "wanx2.1-t2i-turbo", SIZES["wanx2.1-t2i-turbo"]

    async def scenario() -> tuple[Any, Any]:
        done = await AioImageSynthesis.call(model=model, prompt="a cat", n=1, size=size)
        submitted = await AioImageSynthesis.async_call(model=model, prompt="a dog", n=1)
        fetched = await AioImageSynthesis.fetch(submitted)
        assert fetched.output.task_status == "SUCCEEDED"
        waited = await AioImageSynthesis.wait(submitted)
        return done, waited

    done, waited = _run(scenario())
    assert done.output.task_status == "SUCCEEDED"
    assert_images(synthesis_urls(done), size, 1)
    assert waited.output.task_status == "SUCCEEDED"
    assert waited.output.results[0].orig_prompt == "a dog"


def test_aio_image_generation(sdk: DashScopeBinding) -> None:
    size = "768*2700"

    async def scenario() -> tuple[Any, Any, Any]:
        called = await AioImageGeneration.call(
            model="wan2.6-t2i", messages=messages(), n=1, size=size
        )
        submitted = await AioImageGeneration.async_call(
            model="wan2.6-t2i", messages=messages(), n=2
        )
        fetched = await AioImageGeneration.fetch(submitted)  # GET /tasks/{id}/, slashed
        waited = await AioImageGeneration.wait(submitted)
        return called, fetched, waited

    called, fetched, waited = _run(scenario())
    assert called.status_code == HTTPStatus.OK, called
    assert_images(generation_urls(called), size, 1)
    assert fetched.output.task_status == "SUCCEEDED"
    assert waited.output.task_status == "SUCCEEDED"
    assert_images(generation_urls(waited), "1280*1280", 2)


# -- the v2 client --------------------------------------------------------------------------------


@pytest.fixture
def v2(server: MockServer, sdk: DashScopeBinding) -> Iterator[Any]:
    from dashscope.v2 import Client

    client = Client(api_key=sdk.api_key, base_url=server.base_http_api_url, max_retries=0)
    yield client
    client.close()


def test_v2_client_images_for_wan26_and_a_v2_model(v2: Any) -> None:
    generated = v2.images.generate(model="wan2.6-t2i", prompt="a cat", size="1280x1280", n=1)
    assert generated.status == "SUCCEEDED"  # one sync POST to multimodal-generation
    assert_images(
        [item["image"] for c in generated.output["choices"] for item in c["message"]["content"]],
        "1280*1280",
        1,
    )
    for model, size in (("wan2.6-t2i", "1104x1472"), ("wan2.5-t2i-preview", "768x2700")):
        job = v2.images.jobs.create(model=model, prompt="a dog", n=1, size=size)
        assert v2.images.jobs.wait(job).status == "SUCCEEDED"
