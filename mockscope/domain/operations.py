"""The operations a caller can perform, named as the API names them."""

from __future__ import annotations

from enum import StrEnum


class Operation(StrEnum):
    CREATE = "create"
    GET = "get"
    LIST = "list"
    CANCEL = "cancel"
    DOWNLOAD = "download"
    UPLOAD = "upload"
