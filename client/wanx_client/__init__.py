"""wanx_client: a minimal client for DashScope's asynchronous text-to-image API (Wan models).

    with Client(model="wan2.2-t2i-flash") as client:  # DASHSCOPE_API_KEY from the environment
        task = client.wait(client.submit("a cat", n=1)).raise_for_status()
        client.download(task.images[0], "cat.png")

See README.md next to this file for the two protocols (and which model speaks which), the
error types, the wait policy and the outcome-unknown rule.
"""

from wanx_client._async_client import AsyncClient
from wanx_client._backoff import Backoff, retry_after_seconds
from wanx_client._client import Client
from wanx_client._errors import (
    AccessDeniedError,
    AuthenticationError,
    DashScopeError,
    InvalidParameterError,
    NetworkError,
    OutcomeUnknown,
    ResponseError,
    ServerError,
    TaskFailed,
    ThrottlingError,
    UnsupportedOperationError,
    WaitTimeout,
)
from wanx_client._kinds import MODEL_PROTOCOLS, ImageProtocol, Operation, TaskStatus
from wanx_client._models import (
    ImageFailure,
    ImageResult,
    ListedTask,
    Task,
    TaskMetrics,
    Usage,
)
from wanx_client._parse import parse_task
from wanx_client._polling import DEFAULT_WAIT_TIMEOUT
from wanx_client._wire import DEFAULT_BASE_URL, DEFAULT_MODEL, VERSION

__version__ = VERSION

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "DEFAULT_WAIT_TIMEOUT",
    "MODEL_PROTOCOLS",
    "AccessDeniedError",
    "AsyncClient",
    "AuthenticationError",
    "Backoff",
    "Client",
    "DashScopeError",
    "ImageFailure",
    "ImageProtocol",
    "ImageResult",
    "InvalidParameterError",
    "ListedTask",
    "NetworkError",
    "Operation",
    "OutcomeUnknown",
    "ResponseError",
    "ServerError",
    "Task",
    "TaskFailed",
    "TaskMetrics",
    "TaskStatus",
    "ThrottlingError",
    "UnsupportedOperationError",
    "Usage",
    "WaitTimeout",
    "__version__",
    "parse_task",
    "retry_after_seconds",
]
