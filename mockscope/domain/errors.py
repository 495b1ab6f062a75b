"""One exception per DashScope error code, carrying the code and the service's own wording.

Which HTTP status each code travels with is the HTTP layer's business, not the domain's.
"""

from __future__ import annotations

from typing import ClassVar


class DashScopeError(Exception):
    """An error the service reports with a `code` and a `message`."""

    code: ClassVar[str] = "InternalError"
    default_message: ClassVar[str] = (
        "An internal error has occured, please try again later or contact service support."
    )

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(f"{self.code}: {self.message}")


class InvalidApiKey(DashScopeError):
    code = "InvalidApiKey"
    default_message = "Invalid API-key provided."
    missing_message: ClassVar[str] = "No API-key provided."


class AccessDenied(DashScopeError):
    code = "AccessDenied"
    default_message = "Access denied."
    synchronous_message: ClassVar[str] = "current user api does not support synchronous calls"


class IllegalInput(DashScopeError):
    code = "BadRequest.IllegalInput"
    default_message = "The input parameter requires json format."


class EmptyModel(DashScopeError):
    code = "BadRequest.EmptyModel"
    default_message = 'Required parameter "model" missing from request.'


class EmptyInput(DashScopeError):
    code = "BadRequest.EmptyInput"
    default_message = "Required input parameter missing from request."


class InvalidParameter(DashScopeError):
    code = "InvalidParameter"
    default_message = (
        "Required parameter(s) missing or invalid, please check the request parameters."
    )


class InvalidURL(DashScopeError):
    code = "InvalidURL"
    default_message = "Invalid URL provided in your request."
    missing_message: ClassVar[str] = (
        "Required URL is missing or invalid, please check the request URL."
    )


class ModelNotFound(DashScopeError):
    code = "ModelNotFound"
    default_message = "Model can not be found."

    @classmethod
    def for_model(cls, model: str) -> ModelNotFound:
        return cls(f"The model `{model}` does not exist.")


class UnsupportedOperation(DashScopeError):
    code = "UnsupportedOperation"
    default_message = "Failed to cancel the task, please confirm if the task is in PENDING status."


class RateQuotaExceeded(DashScopeError):
    code = "Throttling.RateQuota"
    default_message = "Requests rate limit exceeded, please try again later."

    def __init__(self, retry_after_s: float | None = None, message: str | None = None) -> None:
        super().__init__(message)
        #: When the refused call could go through, if the answer is to say so (Retry-After).
        self.retry_after_s = retry_after_s


class InternalError(DashScopeError):
    code = "InternalError"


class NotFound(DashScopeError):
    """A route or resource that does not exist (the gateway's own 404)."""

    code = "NotFound"
    default_message = "The requested resource does not exist."


class MethodNotAllowed(DashScopeError):
    code = "MethodNotAllowed"
    default_message = "The request method is not allowed for this resource."


#: An `oss://` reference sent without `X-DashScope-OssResourceResolve: enable`.
OSS_UNRESOLVED_MESSAGE = (
    "The provided URL does not appear to be valid. Ensure it is correctly formatted."
)

#: Task-level failure texts (HTTP 200, inside `output`), verbatim from the service.
UNSUPPORTED_SIZE_MESSAGE = (
    "The size is not match the allowed size ['1024*1024', '720*1280', '1280*720']"
)
ALGO_ERROR_MESSAGE = (
    "An internal error has occured during execution, "
    "please try again later or contact service support."
)
TIMEOUT_ERROR_MESSAGE = (
    "An internal timeout error has occured during execution, "
    "please try again later or contact service support."
)
