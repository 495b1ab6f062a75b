"""The model catalogue a backend serves: the built-in one, or a user's changes to it.

The built-in catalogue is read and built once per process. A user's changes (a file, a mapping
shaped as schemas/models-file.json, or just the ids to serve) are checked against the schemas
and merged here, so every entry the fake serves has passed model-catalogue.json.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

from mockscope import schemas
from mockscope.domain.models import ModelCatalogue, merged_entries

MODELS_FILE_SCHEMA = "models-file.json"
MODEL_SCHEMA = "model-catalogue.json#/$defs/model"

#: What may say which models to serve: a file, a models-file document, ids, or a catalogue.
ModelsOption = str | os.PathLike[str] | Mapping[str, Any] | Sequence[str] | ModelCatalogue


class CatalogueError(ValueError):
    """A models file or option that cannot be served; the message says what is wrong."""


@functools.cache
def built_in() -> ModelCatalogue:
    """Every model of schemas/catalogue/models.json (built once per process)."""
    return ModelCatalogue.from_document(schemas.catalogue_document())


def catalogue_for(option: ModelsOption | None) -> ModelCatalogue:
    """The catalogue an option describes (None: the built-in one, every model served)."""
    if option is None:
        return built_in()
    if isinstance(option, ModelCatalogue):
        return option
    if isinstance(option, str | os.PathLike):
        try:
            document = schemas.read_document(option)
        except (OSError, ValueError) as error:
            raise CatalogueError(f"{os.fspath(option)} cannot be read: {error}") from None
        return _from_document(document, where=os.fspath(option))
    if isinstance(option, Mapping):
        return _from_document(option, where="models")
    return _from_document({"serve": list(option)}, where="models")


def _from_document(document: object, where: str) -> ModelCatalogue:
    found = schemas.problems(MODELS_FILE_SCHEMA, document)
    if found:
        raise CatalogueError(f"{where}: " + "; ".join(found))
    assert isinstance(document, Mapping)
    base = schemas.catalogue_document()
    entries = merged_entries(base["models"], document.get("models", []))
    for entry in entries:
        found = schemas.problems(MODEL_SCHEMA, entry)
        if found:
            raise CatalogueError(f"{where}: model {entry['id']}: " + "; ".join(found))
    try:
        return ModelCatalogue.from_document({**base, "models": entries}, document.get("serve"))
    except ValueError as error:
        raise CatalogueError(f"{where}: {error}") from None
