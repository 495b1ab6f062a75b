"""The drift report: markdown, differences first, then every probe side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mockscope.drift.compare import Difference
from mockscope.drift.normalize import normalize
from mockscope.drift.runner import ProbeRun


@dataclass(frozen=True, slots=True)
class ReportInput:
    target_label: str
    fake_label: str
    target: Sequence[ProbeRun]
    fake: Sequence[ProbeRun]
    differences: Sequence[Difference]
    images: int
    budget_images: int
    schema_violations: Sequence[str] = ()


def render(data: ReportInput) -> str:
    ran = sum(1 for outcome in data.target if not outcome.skipped)
    skipped = len(data.target) - ran
    verdict = (
        "**no drift**: the fake answered every probe as the target did (fidelity holds)"
        if not data.differences
        else f"**{len(data.differences)} difference(s)**: the fake does not answer as the target"
    )
    lines = [
        "# mockscope drift report",
        "",
        f"- target: {data.target_label}",
        f"- fake: {data.fake_label}",
        f"- probes: {len(data.target)} ({ran} run, {skipped} skipped); billable images: "
        f"at most {data.images} of a budget of {data.budget_images}",
        f"- result: {verdict}",
        "",
        "Compared: HTTP status, error code, task status and status sequence, the set of fields "
        "and their JSON types, the shapes of URLs (extension, signed query) and request ids, "
        "Content-Type, X-Request-ID on errors, Retry-After on 429, the timing headers on "
        "success. Not compared: the values of ids, times, URLs and counts, error messages.",
        "",
        "## Differences",
        "",
    ]
    if data.differences:
        lines += ["| probe | aspect | target | fake |", "|---|---|---|---|"]
        lines += [
            f"| {_cell(d.probe)} | {_cell(d.aspect)} | {_cell(d.target)} | {_cell(d.fake)} |"
            for d in data.differences
        ]
    else:
        lines.append("None.")
    lines += ["", "## Probes", "", "| probe | request | target | fake |", "|---|---|---|---|"]
    fakes = {outcome.probe.name: outcome for outcome in data.fake}
    for outcome in data.target:
        probe = outcome.probe
        theirs = fakes.get(probe.name)
        lines.append(
            f"| {_cell(probe.name)} | {_cell(probe.summary)} | {_cell(_answer(outcome))} | "
            f"{_cell(_answer(theirs) if theirs is not None else 'not run')} |"
        )
    if data.schema_violations:
        lines += ["", "## The fake's answers that break schemas/", ""]
        lines += [f"- {_cell(violation)}" for violation in data.schema_violations]
    return "\n".join(lines) + "\n"


def _answer(outcome: ProbeRun) -> str:
    if outcome.skipped:
        return f"skipped: {outcome.skipped}"
    return normalize(outcome).summary()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
