"""The probes: a fixed list of cheap requests whose answers show how faithful the fake is.

Every probe but three costs nothing: authentication failures, refused bodies (on all three
create endpoints: text2image, image-generation, multimodal-generation), models sent where
they are not served, unknown tasks, lists and the upload certificate create nothing.
`create-a` makes one wanx-v1 image (n=1), polled to its end; `create-b` queues a second one
behind it (each account runs one wanx-v1 task at a time) so that `cancel-b` can cancel a
PENDING task, which is then never billed; `create-c` makes one wan2.6-t2i image on the async
image-generation endpoint, polled to its end. The budget counts the worst case, so the full
list needs a budget of 3 images; with less, the probes that do not fit are skipped, with the
ones that need their task (with the default of 2: the wan2.6-t2i pair).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

API = "/api/v1"
CREATE = f"{API}/services/aigc/text2image/image-synthesis"
GENERATION = f"{API}/services/aigc/image-generation/generation"
MULTIMODAL = f"{API}/services/aigc/multimodal-generation/generation"
#: Every endpoint that creates a task: they share each model's submission rate.
CREATES = frozenset({CREATE, GENERATION, MULTIMODAL})
TASKS = f"{API}/tasks"
#: A well-formed task id that no service has handed out: it reads UNKNOWN.
UNKNOWN_TASK = "00000000-0000-4000-8000-00000000d1f7"

Auth = Literal["valid", "invalid", "none"]


def _json(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def _body(prompt: str, **parameters: object) -> bytes:
    return _json({"model": "wanx-v1", "input": {"prompt": prompt}, "parameters": parameters})


def _messages(model: str, texts: list[list[str]], **parameters: object) -> bytes:
    messages = [{"role": "user", "content": [{"text": text} for text in t]} for t in texts]
    return _json({"model": model, "input": {"messages": messages}, "parameters": parameters})


#: A valid body that would make one image, for the probes that must be refused before that.
ONE_IMAGE = _body("a red apple on a white table", n=1, size="1024*1024")
#: The same for wan2.6-t2i on the messages endpoints.
ONE_WAN26_IMAGE = _messages("wan2.6-t2i", [["a red apple on a white table"]], n=1)


@dataclass(frozen=True, slots=True)
class Probe:
    """One request (or, with `poll`, one read repeated until the task has ended).

    `path` may name tasks created by earlier probes as `{a}`; `creates` keeps the task id of a
    successful create under that name. `images` is the most the probe can bill.
    """

    name: str
    summary: str
    method: str
    path: str
    auth: Auth = "valid"
    asynchronous: bool = False
    body: bytes | None = None
    images: int = 0
    creates: str | None = None
    poll: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        """The task names its path refers to."""
        names = []
        rest = self.path
        while "{" in rest:
            start = rest.index("{")
            end = rest.index("}", start)
            names.append(rest[start + 1 : end])
            rest = rest[end + 1 :]
        return tuple(names)

    @property
    def is_create(self) -> bool:
        """Submissions share the tighter rate limit (2 per second), answered or not."""
        return self.method == "POST" and self.path in CREATES


def _create(
    name: str,
    summary: str,
    body: bytes,
    *,
    auth: Auth = "valid",
    asynchronous: bool = True,
    images: int = 0,
    creates: str | None = None,
    path: str = CREATE,
) -> Probe:
    return Probe(name, summary, "POST", path, auth, asynchronous, body, images, creates)


PROBES: tuple[Probe, ...] = (
    _create("create-no-key", "submit without an API key", ONE_IMAGE, auth="none"),
    _create("create-bad-key", "submit with an invalid API key", ONE_IMAGE, auth="invalid"),
    Probe(
        "get-bad-key", "read with an invalid API key", "GET", f"{TASKS}/{UNKNOWN_TASK}", "invalid"
    ),
    # Documented (and recorded with the SDK's sync_call) as 403 AccessDenied for wanx-v1, so it
    # is not counted against the budget.
    _create("create-sync", "submit without X-DashScope-Async", ONE_IMAGE, asynchronous=False),
    _create("create-not-json", "submit a body that is not JSON", b"{not json"),
    _create("create-no-model", "submit without a model", _json({"input": {"prompt": "x"}})),
    _create("create-no-input", "submit without input", _json({"model": "wanx-v1"})),
    _create("create-bad-n", "submit n=9 (1..4 allowed)", _body("a cat", n=9)),
    _create(
        "create-unknown-model",
        "submit to a model that does not exist",
        _json({"model": "wanx-v0-no-such-model", "input": {"prompt": "x"}, "parameters": {}}),
    ),
    _create(
        "create-model-elsewhere",
        "submit wan2.6-t2i to text2image (it is served on image-generation)",
        ONE_WAN26_IMAGE,
    ),
    _create(
        "generation-wrong-model",
        "submit wanx-v1 to image-generation (served on text2image only)",
        _messages("wanx-v1", [["x"]], n=1),
        path=GENERATION,
    ),
    _create(
        "generation-sync",
        "submit to image-generation without X-DashScope-Async",
        ONE_WAN26_IMAGE,
        asynchronous=False,
        path=GENERATION,
    ),
    _create(
        "generation-no-input",
        "submit to image-generation without input",
        _json({"model": "wan2.6-t2i", "parameters": {"n": 1}}),
        path=GENERATION,
    ),
    _create(
        "generation-two-messages",
        "submit two messages (one allowed)",
        _messages("wan2.6-t2i", [["a cat"], ["a dog"]], n=1),
        path=GENERATION,
    ),
    _create(
        "generate-bad-n",
        "synchronous generation with n=9 (1..4 allowed)",
        _messages("wan2.6-t2i", [["a cat"]], n=9),
        asynchronous=False,
        path=MULTIMODAL,
    ),
    _create(
        "generate-wrong-model",
        "synchronous generation of wanx-v1 (not served there)",
        _messages("wanx-v1", [["x"]], n=1),
        asynchronous=False,
        path=MULTIMODAL,
    ),
    Probe("get-unknown", "read a task id nobody issued", "GET", f"{TASKS}/{UNKNOWN_TASK}"),
    Probe(
        "cancel-unknown", "cancel a task id nobody issued", "POST", f"{TASKS}/{UNKNOWN_TASK}/cancel"
    ),
    Probe("list", "list the account's tasks, first page", "GET", f"{TASKS}?page_no=1&page_size=10"),
    Probe(
        "list-long-window",
        "list over a 48-hour window (24 h allowed)",
        "GET",
        f"{TASKS}?start_time=20240101000000&end_time=20240103000000",
    ),
    Probe(
        "list-bad-time", "list with a malformed start_time", "GET", f"{TASKS}?start_time=yesterday"
    ),
    Probe(
        "get-policy",
        "upload certificate (getPolicy)",
        "GET",
        f"{API}/uploads?action=getPolicy&model=wanx-v1",
    ),
    _create("create-a", "submit one image (n=1)", ONE_IMAGE, images=1, creates="a"),
    _create(
        "create-b",
        "submit a second task while the first runs",
        _body("a green pear on a white table", n=1, size="1024*1024"),
        images=1,
        creates="b",
    ),
    Probe("cancel-b", "cancel the queued (PENDING) task", "POST", f"{TASKS}/{{b}}/cancel"),
    Probe("get-b", "read the canceled task", "GET", f"{TASKS}/{{b}}"),
    Probe("poll-a", "poll the first task until it ends", "GET", f"{TASKS}/{{a}}", poll=True),
    Probe("cancel-a", "cancel the finished task", "POST", f"{TASKS}/{{a}}/cancel"),
    Probe("list-a", "list filtered by the finished task's id", "GET", f"{TASKS}?task_id={{a}}"),
    _create(
        "create-c",
        "submit one wan2.6-t2i image (n=1) to image-generation",
        ONE_WAN26_IMAGE,
        images=1,
        creates="c",
        path=GENERATION,
    ),
    Probe("poll-c", "poll the wan2.6-t2i task until it ends", "GET", f"{TASKS}/{{c}}", poll=True),
)

BY_NAME = {probe.name: probe for probe in PROBES}
