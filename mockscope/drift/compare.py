"""Where the fake's normal form of an answer differs from the target's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mockscope.drift.normalize import Normal, normalize
from mockscope.drift.runner import ProbeRun

ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Difference:
    """One aspect of one probe's answer on which the target and the fake disagree."""

    probe: str
    aspect: str
    target: str
    fake: str


def compare(target: Sequence[ProbeRun], fake: Sequence[ProbeRun]) -> list[Difference]:
    """Every difference, probe by probe in the target's order."""
    fakes = {outcome.probe.name: outcome for outcome in fake}
    differences: list[Difference] = []
    for mine in target:
        theirs = fakes.get(mine.probe.name)
        if theirs is None:
            differences.append(Difference(mine.probe.name, "ran", _ran(mine), "not run"))
            continue
        differences.extend(compare_outcome(mine, theirs))
    return differences


def compare_outcome(target: ProbeRun, fake: ProbeRun) -> list[Difference]:
    name = target.probe.name
    if target.skipped or fake.skipped:
        if target.skipped and fake.skipped:
            return []
        return [Difference(name, "ran", _ran(target), _ran(fake))]
    return compare_normals(name, normalize(target), normalize(fake))


def compare_normals(name: str, target: Normal, fake: Normal) -> list[Difference]:
    found: list[Difference] = []

    def differ(aspect: str, mine: object, theirs: object) -> None:
        if mine != theirs:
            found.append(Difference(name, aspect, _show(mine), _show(theirs)))

    differ("status", target.status, fake.status)
    differ("error code", target.error_code, fake.error_code)
    differ("task status", target.task_status, fake.task_status)
    differ("task error code", target.task_code, fake.task_code)
    differ("status sequence", " → ".join(target.sequence), " → ".join(fake.sequence))
    if target.status != fake.status:
        # Different answers have different bodies: their fields say nothing more.
        return found
    for header in sorted(set(target.headers) | set(fake.headers)):
        differ(f"header {header}", target.headers.get(header), fake.headers.get(header))
    empty = target.empty_arrays | fake.empty_arrays
    for path in sorted(set(target.fields) | set(fake.fields)):
        if any(path.startswith(array + "[]") for array in empty):
            continue  # one side's list was empty: its items have no shape to compare
        differ(f"field `{path}`", target.fields.get(path, ABSENT), fake.fields.get(path, ABSENT))
    for path in sorted(set(target.shapes) & set(fake.shapes)):
        # Only where both sides have the value: a missing field is reported above already.
        differ(f"shape of `{path}`", target.shapes[path], fake.shapes[path])
    return found


def _ran(outcome: ProbeRun) -> str:
    return f"skipped: {outcome.skipped}" if outcome.skipped else "ran"


def _show(value: object) -> str:
    if value is None or value == "":
        return "—"
    return str(value)
