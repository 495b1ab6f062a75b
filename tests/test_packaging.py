"""The wheel ships the schemas inside the package, where an installed mockscope finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hatchling.builders.wheel import WheelBuilder

    out = tmp_path_factory.mktemp("dist")
    built = list(WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"]))
    assert len(built) == 1
    return Path(built[0])


def test_the_wheel_carries_every_schema_and_the_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in [*sorted((ROOT / "schemas").glob("*.json")), ROOT / "schemas/openapi.yaml"]:
        assert f"mockscope/_schemas/{schema.name}" in names
    assert "mockscope/_schemas/catalogue/models.json" in names
    assert "mockscope/py.typed" in names
    # The inspector page and its two files, read as package data.
    for asset in ("index.html", "inspector.js", "inspector.css"):
        assert f"mockscope/http/control/assets/{asset}" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "mockscope = mockscope.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_an_installed_wheel_serves_with_its_own_schemas(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = (
        "import mockscope.schemas as s; "
        "print(s.schema_dir()); "
        "assert s.request_schema('task-create-request.json').is_valid("
        "{'model': 'wanx-v1', 'input': {'prompt': 'p'}}); "
        "from mockscope.http.control import inspector; "
        "assert b'mockscope inspector' in inspector._asset('index.html')"
    )
    # Only the unpacked wheel (plus the venv's dependencies) is importable: not this checkout.
    env_path = [str(target)] + [p for p in sys.path if "site-packages" in p]
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {env_path!r}; {probe}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target / "mockscope" / "_schemas")
