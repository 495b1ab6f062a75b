"""Drift between the fake and the live service: probes, normal forms, comparison, report.

`run_check` sends a fixed list of cheap probes to a target and mirrors the run on an
in-process fake; every answer is reduced to a normal form (status, error code, field set and
types, status sequence, the headers clients act on) and the two are compared. The result
renders as a markdown table of differences and can be recorded (secrets redacted) as JSON
lines that `replay` later compares with the fake again. `mockscope check` is its command line.
"""

from mockscope.drift.check import (
    LIVE_BASE_URL,
    CheckOptions,
    CheckResult,
    api_root,
    replay,
    run_check,
)
from mockscope.drift.compare import Difference
from mockscope.drift.probes import PROBES, Probe

__all__ = [
    "LIVE_BASE_URL",
    "PROBES",
    "CheckOptions",
    "CheckResult",
    "Difference",
    "Probe",
    "api_root",
    "replay",
    "run_check",
]
