"""The README's pytest section documents every marker option and time mode.

Its Python blocks run as tests in tests/test_readme.py, which also requires the section.
"""

from __future__ import annotations

from mockscope.options import MARKER_OPTIONS, TIME_MODES
from tests.test_readme import TEXT, section


def test_the_readme_documents_every_option_and_time_mode() -> None:
    options = section(TEXT, "## Using it in pytest")
    modes = section(TEXT, "## Time modes")
    assert options is not None
    assert modes is not None
    for spec in MARKER_OPTIONS:
        assert f"| `{spec.name}` |" in options, f"the README's option table lacks {spec.name}"
    for mode in TIME_MODES:
        assert f"| `{mode}` " in modes, f"the README's time modes table lacks {mode}"
