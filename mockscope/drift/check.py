"""`mockscope check`: run the probes on a target and on the fake, and compare.

The target is the live service (or whatever `base_url` names: a stand-in `mockscope serve`
for testing this very path), or, with `target="fake"`, a second in-process fake (a self-check
that needs no network). The fake side is always an in-process MockServer on a manual clock,
with the live limits and timing, that mirrors the target's run (see runner.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mockscope.domain.clock import ManualClock
from mockscope.drift.compare import Difference, compare
from mockscope.drift.probes import PROBES, Probe
from mockscope.drift.record import Redactor, read_recording, write_recording
from mockscope.drift.report import ReportInput, render
from mockscope.drift.runner import INVALID_KEY, ProbeRun, Runner, Settings, billed_images
from mockscope.drift.wire import Request, Response, opener_for, send
from mockscope.server import MockServer

#: The DashScope API's root, from the service's documentation.
LIVE_BASE_URL = "https://dashscope.aliyuncs.com"
#: The keys of the in-process fakes: the real key never reaches them.
FAKE_KEY = "sk-mockscope-drift-fake"
FAKE_TARGET_KEY = "sk-mockscope-drift-target"
Target = Literal["live", "fake"]
#: Called after each probe: the side ("target" or "fake"), its number, the total, what it saw.
Progress = Callable[[str, int, int, ProbeRun], None]


def api_root(base_url: str) -> str:
    """`https://host` from `https://host`, `https://host/` or the SDK's `https://host/api/v1`."""
    root = base_url.strip().rstrip("/")
    return root.removesuffix("/api/v1").rstrip("/")


@dataclass(frozen=True, slots=True)
class CheckOptions:
    target: Target = "fake"
    base_url: str = LIVE_BASE_URL
    api_key: str = ""
    budget_images: int = 2
    time_scale: float = 1.0
    poll_timeout: float = 600.0
    request_timeout: float = 60.0


@dataclass
class CheckResult:
    target_label: str
    target: list[ProbeRun]
    fake: list[ProbeRun]
    differences: list[Difference]
    images: int
    budget_images: int
    schema_violations: list[str] = field(default_factory=list)
    time_scale: float = 1.0

    @property
    def drifted(self) -> bool:
        return bool(self.differences)

    def summary(self) -> str:
        """One line: probes run and skipped, the verdict, the target."""
        ran = sum(1 for outcome in self.target if not outcome.skipped)
        skipped = len(self.target) - ran
        verdict = f"{len(self.differences)} difference(s)" if self.drifted else "no drift"
        return (
            f"{ran} probe(s) run, {skipped} skipped, {self.images} image(s) billed: {verdict} "
            f"({self.target_label})"
        )

    def markdown(self) -> str:
        return render(
            ReportInput(
                self.target_label,
                "mockscope, in-process, on a manual clock mirroring the target's timing",
                self.target,
                self.fake,
                self.differences,
                self.images,
                self.budget_images,
                self.schema_violations,
            )
        )

    def write_recording(self, path: str | Path, secrets: Sequence[str] = ()) -> None:
        meta = {
            "target": self.target_label,
            "time_scale": self.time_scale,
            "budget_images": self.budget_images,
        }
        write_recording(path, meta, self.target, Redactor(secrets))


# -- sides --------------------------------------------------------------------------------------


class HttpSide:
    """A target over the network (or loopback), on the real clock."""

    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        self.base_url = api_root(base_url)
        self.api_key = api_key
        self._timeout = timeout
        self._opener = opener_for(self.base_url)
        self._start = time.monotonic()

    def send(self, request: Request) -> Response:
        return send(self._opener, self.base_url, request, self._timeout)

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeSide:
    """An in-process fake whose manual clock stands for the target's time (times `scale`)."""

    def __init__(self, server: MockServer, clock: ManualClock, api_key: str, scale: float) -> None:
        self.api_key = api_key
        self._server = server
        self._clock = clock
        self._scale = scale
        self._start_ms = clock.now_ms()
        self._opener = opener_for(server.url)

    def send(self, request: Request) -> Response:
        return send(self._opener, self._server.url, request, 30.0)

    def elapsed(self) -> float:
        return (self._clock.now_ms() - self._start_ms) / 1000 / self._scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._clock.advance(seconds * self._scale)


@contextmanager
def fake_side(api_key: str, scale: float) -> Iterator[tuple[FakeSide, MockServer]]:
    """A fresh fake with the live defaults (limits, timing), accepting only `api_key`."""
    clock = ManualClock()
    with MockServer(clock=clock, api_keys={api_key}, seed=0, validate_responses=True) as server:
        yield FakeSide(server, clock, api_key, scale), server


# -- the check ----------------------------------------------------------------------------------


def _side_progress(progress: Progress | None, side: str) -> Callable[[int, int, ProbeRun], None]:
    def report(number: int, total: int, outcome: ProbeRun) -> None:
        if progress is not None:
            progress(side, number, total, outcome)

    return report


def run_check(
    options: CheckOptions, probes: Sequence[Probe] = PROBES, progress: Progress | None = None
) -> CheckResult:
    """Probe the target, mirror the run on the fake, compare. Sends nothing to a live service
    unless `options.target` is "live" (the caller is responsible for the opt-in)."""
    settings = Settings(options.budget_images, options.time_scale, options.poll_timeout)
    on_target = _side_progress(progress, "target")
    if options.target == "live":
        side = HttpSide(options.base_url, options.api_key, options.request_timeout)
        target = Runner(side, settings).run(probes, on_target)
        label = f"live, {side.base_url}"
        if options.time_scale != 1:
            label += f" (its clock runs {options.time_scale:g}x)"
    else:
        with fake_side(FAKE_TARGET_KEY, 1.0) as (side_fake, _):
            target = Runner(side_fake, settings).run(probes, on_target)
        label = "fake (a second in-process mockscope: a self-check)"
    return mirror_on_fake(label, target, settings, progress)


def replay(path: str | Path, progress: Progress | None = None) -> CheckResult:
    """Compare a recording (e.g. of the live service) with the fake's answers today."""
    recording = read_recording(path)
    meta = recording.meta
    settings = Settings(
        budget_images=int(meta.get("budget_images", 2)),
        time_scale=float(meta.get("time_scale", 1.0)),
    )
    label = f"recording {Path(path).name} of {meta.get('target', 'an unknown target')}"
    return mirror_on_fake(label, recording.outcomes, settings, progress)


def mirror_on_fake(
    label: str, target: list[ProbeRun], settings: Settings, progress: Progress | None = None
) -> CheckResult:
    with fake_side(FAKE_KEY, settings.time_scale) as (side, server):
        probes = [outcome.probe for outcome in target]
        fake = Runner(side, settings, mirror=target).run(probes, _side_progress(progress, "fake"))
        violations = [str(violation) for violation in server.schema_violations]
    return CheckResult(
        label,
        target,
        fake,
        compare(target, fake),
        sum(billed_images(outcome) for outcome in target),
        settings.budget_images,
        violations,
        settings.time_scale,
    )


__all__ = [
    "FAKE_KEY",
    "INVALID_KEY",
    "LIVE_BASE_URL",
    "CheckOptions",
    "CheckResult",
    "api_root",
    "replay",
    "run_check",
]
