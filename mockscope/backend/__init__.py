"""The API operations and the control operations of the simulated service, in domain terms."""

from mockscope.backend.operations import (
    Backend,
    BackendConfig,
    ImageSpec,
    ResultGone,
    with_overrides,
)

__all__ = ["Backend", "BackendConfig", "ImageSpec", "ResultGone", "with_overrides"]
