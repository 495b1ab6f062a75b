"""mockscope: an offline, stateful twin of DashScope's text-to-image API (the Wan family)."""

from mockscope.backend import Backend, BackendConfig
from mockscope.backend.catalogue import CatalogueError
from mockscope.backend.catalogue import built_in as model_catalogue
from mockscope.domain.accounts import AccountSpec
from mockscope.domain.clock import Clock, JumpingClock, ManualClock, SystemClock
from mockscope.domain.journal import Entry, Journal
from mockscope.domain.lifecycle import TaskStatus, Timing
from mockscope.domain.models import ModelCatalogue, ModelSpec
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
    "CatalogueError",
    "Clock",
    "Entry",
    "Journal",
    "JumpingClock",
    "Limits",
    "ManualClock",
    "MockServer",
    "ModelCatalogue",
    "ModelSpec",
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
    "model_catalogue",
]
__version__ = "0.1.0"
