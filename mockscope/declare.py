"""Scenarios as people write them: documents, lists of rules, one-line rules, YAML/JSON files.

Everything is checked against schemas/scenario.json, then read into rules; whatever is wrong is
reported in one ScenarioError, and nothing is installed from a scenario that has a fault.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mockscope import spec
from mockscope.scenario import Rule, ScenarioError
from mockscope.scenario_reading import parse_header, rules_from_document

SCHEMA = "scenario.json"

#: What may declare a scenario: a document, a list of rules (mappings or one-line strings).
Declaration = Mapping[str, Any] | Sequence[Mapping[str, Any] | str]


def as_document(declaration: Declaration, seed: int | None = None) -> dict[str, Any]:
    """The document form of a declaration; one-line rules are parsed."""
    if isinstance(declaration, Mapping):
        document = dict(declaration)
    else:
        rules = [
            parse_header(rule) if isinstance(rule, str) else dict(rule) for rule in declaration
        ]
        document = {"rules": rules}
    if seed is not None:
        document["seed"] = seed
    return document


def checked(document: Mapping[str, Any]) -> tuple[list[Rule], int | None]:
    """The rules and seed of a document, or a ScenarioError listing what is wrong."""
    problems = sorted(spec.validator(SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    if problems:
        lines = [f"{_where(problem.absolute_path)}: {problem.message}" for problem in problems[:5]]
        raise ScenarioError("; ".join(lines))
    return rules_from_document(document), document.get("seed")


def read_file(path: str | Path) -> dict[str, Any]:
    """A scenario document from a .json, .yaml or .yml file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(text)
        else:
            import yaml

            loaded = yaml.safe_load(text)
    except (ValueError, ImportError) as error:
        raise ScenarioError(f"{path} cannot be read: {error}") from None
    if isinstance(loaded, list):
        return as_document(loaded)
    if not isinstance(loaded, dict):
        raise ScenarioError(f"{path} holds no scenario (expected a mapping with `rules`)")
    return loaded


def _where(path: Sequence[object]) -> str:
    return ".".join(str(part) for part in path) or "scenario"
