"""The reference client against every model the fake serves: any name, both protocols."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mockscope import MockServer, model_catalogue
from tests.support import API_KEY, VirtualTime
from wanx_client import Client, ImageProtocol, InvalidParameterError, TaskStatus


@pytest.mark.parametrize("model", model_catalogue().ids())
def test_every_model_submits_waits_and_downloads(
    server: MockServer, vtime: VirtualTime, model: str, tmp_path: Path
) -> None:
    size = "1024*1536" if model.startswith(("wan2.5", "wan2.6")) else "720*1280"
    with Client(
        api_key=API_KEY,
        base_url=server.base_http_api_url,
        model=model,
        sleep=vtime.sleep,
        clock=vtime.time,
    ) as client:
        task = client.wait(client.submit("a cat", n=2, size=size)).raise_for_status()
        expected = ImageProtocol.MESSAGES if model == "wan2.6-t2i" else ImageProtocol.TEXT2IMAGE
        assert task.protocol is expected
        assert task.status is TaskStatus.SUCCEEDED
        assert len(task.images) == 2
        with Image.open(client.download(task.images[1], tmp_path)) as png:
            assert png.size == tuple(map(int, size.split("*")))
        listed = [item.task_id for item in client.list(model_name=model)]
        assert listed == [task.task_id]
    server.journal.assert_well_behaved_client(max_polls_per_second=2)


def test_a_wrong_model_is_the_live_answer(server: MockServer) -> None:
    with (
        Client(api_key=API_KEY, base_url=server.base_http_api_url, model="wanx-v9") as client,
        pytest.raises(InvalidParameterError) as raised,
    ):
        client.submit("a cat")
    assert raised.value.message == "Model not exist."
