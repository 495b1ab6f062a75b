"""mockscope: an offline, stateful twin of DashScope's asynchronous wanx-v1 text-to-image API."""

from mockscope.backend import Backend, BackendConfig
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import Clock, JumpingClock, ManualClock, SystemClock
from mockscope.domain.journal import Entry, Journal
from mockscope.domain.lifecycle import TaskStatus, Timing
from mockscope.domain.operations import Operation
from mockscope.domain.ratelimit import Limits
from mockscope.domain.tasks import TaskRecord
from mockscope.domain.uploads import StoredFile
from mockscope.http.conformance import Violation
from mockscope.http.envelopes import ServerFailure
from mockscope.scenarios.rules import Rule, ScenarioError
from mockscope.server import MockServer

__all__ = [
    "AccountSpec",
    "Backend",
    "BackendConfig",
    "Clock",
    "Entry",
    "Journal",
    "JumpingClock",
    "Limits",
    "ManualClock",
    "MockServer",
    "Operation",
    "Rule",
    "ScenarioError",
    "ServerFailure",
    "StoredFile",
    "SystemClock",
    "TaskRecord",
    "TaskStatus",
    "Timing",
    "Violation",
]
__version__ = "0.1.0"
