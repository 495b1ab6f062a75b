"""ARCHITECTURE.md's listing of mockscope/ names exactly the packages and modules on disk."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## mockscope/, module by module"


def listed() -> set[str]:
    """The paths the listing names: packages end with `/`, one indent level is two spaces."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    after = text.split(HEADING, 1)[1]
    block = re.search(r"```\n(.*?)```", after, re.DOTALL)
    assert block is not None, f"no listing under {HEADING!r}"
    paths, parents = set(), []
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 2 == 0, f"odd indentation: {line!r}"
        name = line.split()[0]
        del parents[indent // 2 :]
        assert len(parents) == indent // 2, f"indented past its package: {line!r}"
        path = "".join(parents) + name
        paths.add(path.rstrip("/"))
        if name.endswith("/"):
            parents.append(name)
    return paths


def on_disk() -> set[str]:
    """Every package and module of mockscope/ (a package's __init__.py is the package)."""
    package = ROOT / "mockscope"
    paths = {"mockscope"}
    for path in package.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if "__pycache__" in relative.parts:
            continue
        if path.name == "__init__.py":
            paths.add(relative.parent.as_posix())
        else:
            paths.add(relative.as_posix())
    return paths


def test_the_listing_matches_the_modules_on_disk() -> None:
    names, modules = listed(), on_disk()
    unlisted, missing = sorted(modules - names), sorted(names - modules)
    assert not unlisted, f"on disk but not in ARCHITECTURE.md: {unlisted}"
    assert not missing, f"in ARCHITECTURE.md but not on disk: {missing}"


def test_every_listed_package_is_a_package() -> None:
    for name in listed():
        if not name.endswith(".py"):
            assert (ROOT / name / "__init__.py").is_file(), name
