"""What client code does with result URLs, as the official samples and real clients do it."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import requests
from dashscope import ImageSynthesis

from mockscope import MockServer
from mockscope.sdk import DashScopeBinding
from tests.support import result_url_parts


def _official_sample(prompt: str) -> list[str]:
    """The dashscope text-to-image sample, verbatim but for the prompt and n: it saves every
    image under the file name of its URL, in the current directory."""
    rsp = ImageSynthesis.call(
        model=ImageSynthesis.Models.wanx_v1, prompt=prompt, n=2, size="1024*1024"
    )
    assert rsp.status_code == HTTPStatus.OK
    saved = []
    for result in rsp.output.results:
        file_name = PurePosixPath(unquote(urlparse(result.url).path)).parts[-1]
        with open("./%s" % file_name, "wb+") as f:  # noqa: UP031 - the sample's own spelling
            f.write(requests.get(result.url).content)
        saved.append(file_name)
    return saved


def test_the_official_sample_saves_two_tasks_images_to_separate_files(
    sdk: DashScopeBinding, server: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    saved = _official_sample("a cat") + _official_sample("a dog")
    assert len(set(saved)) == 4, f"a later task overwrote an earlier one's image: {saved}"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(saved)
    for path in tmp_path.iterdir():
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), path.name


def test_a_result_url_breaks_code_that_a_live_url_breaks(
    sdk: DashScopeBinding, server: MockServer
) -> None:
    response = ImageSynthesis.call(model="wanx-v1", prompt="a cat", n=1)
    url = response.output.results[0].url
    parts = result_url_parts(url)
    # Splitting on "." for the extension meets the signed query, as it does live.
    assert url.split(".")[-1] != "png"
    assert PurePosixPath(urlparse(url).path).suffix == ".png"
    # A host allow-list sees the fake's host; an expiry check finds Expires in the future.
    assert urlparse(url).hostname == "127.0.0.1"
    expires = int(parse_qs(urlparse(url).query)["Expires"][0])
    assert expires == int(parts["expires"]) > server.clock.now_ms() // 1000
    # The URL is signed for GET: a HEAD is refused, as object storage refuses it.
    assert requests.head(url, timeout=10).status_code == 403
    assert requests.get(url, timeout=10).status_code == 200
    # And a download after the URL expired meets OSS's answer.
    server.clock.advance(expires - server.clock.now_ms() // 1000 + 1)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403
    assert "<Message>Request has expired.</Message>" in expired.text
