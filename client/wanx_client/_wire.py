"""Where requests go and what they carry: settings, paths, headers and bodies.

Nothing here sends anything; the clients send what these functions describe.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from wanx_client._errors import AuthenticationError, InvalidParameterError
from wanx_client._kinds import ImageProtocol, Operation, TaskStatus
from wanx_client._models import BEIJING

VERSION = "0.1.0"
DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/api/v1"
DEFAULT_MODEL = "wanx-v1"
#: Generous for the API's small JSON answers; downloads stream and reset it per chunk.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"wanx-client/{VERSION} httpx/{httpx.__version__}"


@dataclass(frozen=True, slots=True)
class Call:
    """One request to make, with what an OutcomeUnknown would need to report."""

    operation: Operation
    method: str
    url: str
    headers: Mapping[str, str]
    params: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    #: The JSON sent (submit), so an OutcomeUnknown can say what may have been created.
    payload: Mapping[str, Any] | None = None
    task_id: str | None = None
    #: Downloads follow the storage host's redirects; API calls never do.
    follow_redirects: bool = False

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The request, with the HTTP client's defaults (its timeout) applied."""
        return http.build_request(
            self.method,
            self.url,
            params=self.params or None,
            headers=self.headers,
            content=self.content,
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Endpoint, credentials, model and its protocol, resolved once from arguments and the
    environment."""

    base_url: str
    # Kept out of repr, so a logged client or settings object does not leak the key.
    api_key: str = field(repr=False)
    workspace: str | None
    model: str
    protocol: ImageProtocol

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        api_key: str | None,
        workspace: str | None,
        model: str,
        protocol: ImageProtocol | str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Arguments first, then DASHSCOPE_HTTP_BASE_URL / DASHSCOPE_API_KEY, then defaults;
        the protocol, unless given, from the model's name (ImageProtocol.for_model).

        A missing key is an AuthenticationError here, before any request is made.
        """
        env = os.environ if environ is None else environ
        base = base_url or env.get("DASHSCOPE_HTTP_BASE_URL") or DEFAULT_BASE_URL
        key = api_key or env.get("DASHSCOPE_API_KEY")
        if not key:
            raise AuthenticationError(
                None,
                "NoApiKey",
                "No API key: pass api_key= or set the DASHSCOPE_API_KEY environment variable.",
            )
        if not model:
            raise InvalidParameterError(None, "BadRequest.EmptyModel", "A model is required.")
        speaks = ImageProtocol.for_model(model) if protocol is None else ImageProtocol(protocol)
        return cls(base.rstrip("/"), key, workspace or None, model, speaks)

    def _headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if self.workspace is not None:
            headers["X-DashScope-WorkSpace"] = self.workspace
        headers.update(extra)
        return headers

    def submit(
        self, prompt: str, options: Mapping[str, Any], parameters: Mapping[str, Any] | None
    ) -> Call:
        """POST the task in the model's protocol. `options` are the named ones of `submit`,
        `parameters` the caller's extra ones; options not given (None) are left out, not
        defaulted, and a parameter given both ways is refused."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidParameterError(None, "BadRequest.EmptyInput", "A prompt is required.")
        named = dict(options)
        negative_prompt = named.pop("negative_prompt", None)
        ref_img = named.pop("ref_img", None)
        headers = self._headers(
            **{"Content-Type": "application/json; charset=utf-8", "X-DashScope-Async": "enable"}
        )
        task_input: dict[str, Any]
        if self.protocol is ImageProtocol.MESSAGES:
            if ref_img is not None:
                raise InvalidParameterError(
                    None,
                    "InvalidParameter",
                    f"ref_img is not part of the messages protocol (model {self.model}).",
                )
            task_input = {"messages": [{"role": "user", "content": [{"text": prompt}]}]}
            # The messages protocol takes the negative prompt as a parameter.
            named["negative_prompt"] = negative_prompt
        else:
            task_input = _given({"prompt": prompt, "negative_prompt": negative_prompt})
            if ref_img is not None:
                task_input["ref_img"] = ref_img
                if str(ref_img).startswith("oss://"):
                    # A temporary oss:// upload is only resolved when asked to (fact sheet §3.5).
                    headers["X-DashScope-OssResourceResolve"] = "enable"
        payload = {
            "model": self.model,
            "input": task_input,
            "parameters": _given(named, parameters or {}),
        }
        content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return Call(
            Operation.SUBMIT,
            "POST",
            self.base_url + self.protocol.path,
            headers,
            content=content,
            payload=payload,
        )

    def get(self, task_id: str) -> Call:
        return Call(
            Operation.GET,
            "GET",
            f"{self.base_url}/tasks/{_segment(task_id)}",
            self._headers(),
            task_id=task_id,
        )

    def cancel(self, task_id: str) -> Call:
        # No body: the endpoint takes none (httpx sends Content-Length: 0).
        return Call(
            Operation.CANCEL,
            "POST",
            f"{self.base_url}/tasks/{_segment(task_id)}/cancel",
            self._headers(),
            task_id=task_id,
        )

    def list_page(self, page_no: int, page_size: int, filters: ListFilters) -> Call:
        # The service pages 1 to 100 tasks at a time.
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= 100
        ):
            raise InvalidParameterError(
                None, "InvalidParameter", f"page_size must be 1 to 100, not {page_size!r}."
            )
        params = {"page_no": str(page_no), "page_size": str(page_size), **filters.params()}
        return Call(Operation.LIST, "GET", f"{self.base_url}/tasks", self._headers(), params)


@dataclass(frozen=True, slots=True)
class ListFilters:
    """What a listing is narrowed to; None filters are not sent."""

    status: TaskStatus | str | None = None
    model_name: str | None = None
    start_time: datetime | str | None = None
    end_time: datetime | str | None = None

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        for name, value in (
            ("status", str(self.status) if self.status is not None else None),
            ("model_name", self.model_name),
            ("start_time", _list_time(self.start_time, "start_time")),
            ("end_time", _list_time(self.end_time, "end_time")),
        ):
            if value is not None:
                params[name] = value
        return params


def download(url: str) -> Call:
    """GET a result image. No Authorization: the URL points at object storage, another host,
    and is signed or public by itself; the API key must not travel there."""
    return Call(Operation.DOWNLOAD, "GET", url, {"User-Agent": USER_AGENT}, follow_redirects=True)


def _given(*groups: Mapping[str, Any]) -> dict[str, Any]:
    """The options given (not None) of every group; a name given in two groups is refused."""
    given: dict[str, Any] = {}
    for group in groups:
        for name, value in group.items():
            if value is None:
                continue
            if name in given:
                raise InvalidParameterError(
                    None, "InvalidParameter", f"{name} is given twice (by name and in parameters)."
                )
            given[name] = value
    return given


def _segment(task_id: str) -> str:
    if not isinstance(task_id, str) or not task_id:
        raise InvalidParameterError(None, "InvalidParameter", "A task id is required.")
    # Quoted whole, so an id can never reach another path (`../`, `?`).
    return quote(task_id, safe="")


def _list_time(value: datetime | str | None, name: str) -> str | None:
    """`YYYYMMDDhhmmss` in Beijing time, as the list endpoint reads times."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise InvalidParameterError(
            None, "InvalidParameter", f"{name} must be timezone-aware (the API uses Beijing time)."
        )
    return value.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
