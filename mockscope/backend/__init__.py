"""The simulated service in domain terms: one state, the API operations and the control
operations over it.

`Backend` is what the HTTP layer is built around and what MockServer holds: `api` serves the
API routes, `control` the control plane and MockServer's methods. Both are views of one
`State`; neither knows the other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mockscope.backend.control import Control
from mockscope.backend.operations import ImageSpec, Operations, ResultGone
from mockscope.backend.state import BackendConfig, State
from mockscope.domain.clock import Clock, ManualClock


class Backend:
    """The simulated DashScope service, driven by an injected clock."""

    def __init__(self, config: BackendConfig | None = None, clock: Clock | None = None) -> None:
        state = State(config or BackendConfig(), clock if clock is not None else ManualClock())
        self.config = state.config
        self.api = Operations(state)
        self.control = Control(state)
        # Long-lived parts the HTTP layer reads on every request (never replaced).
        self.clock = state.clock
        self.journal = state.journal
        self.scenario = state.scenario
        #: The result objects: their signed URLs and how a request for one is judged.
        self.objects = state.objects
        #: Who is who: how an account may be shown outside the server.
        self.directory = state.directory


def with_overrides(config: BackendConfig, **overrides: Any) -> BackendConfig:
    """A copy of `config` with some fields replaced (None values are left out)."""
    return replace(
        config, **{name: value for name, value in overrides.items() if value is not None}
    )


__all__ = [
    "Backend",
    "BackendConfig",
    "Control",
    "ImageSpec",
    "Operations",
    "ResultGone",
    "with_overrides",
]
