"""The model catalogue in domain terms: what each model accepts, how long it takes, what it returns.

Built once per process from `schemas/catalogue/models.json` (read by `mockscope.schemas` and
handed down as plain data), so nothing here parses JSON or knows HTTP. Every per-model decision
of the fake - routing, size rules, defaults, limits, timing, result fields - is a lookup in a
`ModelSpec`, never an `if model == ...` in code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, Protocol

from mockscope.domain.lifecycle import Timing

Mode = Literal["async", "sync"]
RequestProtocol = Literal["prompt", "messages"]

#: `W*H` in pixels; anything else is a size outside every rule (the catalogue's size_format).
DEFAULT_SIZE_PATTERN = r"^([1-9][0-9]*)\*([1-9][0-9]*)$"


@dataclass(frozen=True, slots=True)
class Answer:
    """An error answer the catalogue spells out: status, code and message."""

    status: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Violation:
    """What a task outside its model's size rule ends with (FAILED, all images failed)."""

    code: str
    message: str


class SizeRule(Protocol):
    """A model's size rule: which `width*height` it renders."""

    @property
    def default(self) -> str: ...

    @property
    def violation(self) -> Violation: ...

    def check(self, width: int, height: int) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EnumSizes:
    """Only the listed sizes (wanx-v1)."""

    values: tuple[str, ...]
    default: str
    violation: Violation

    def check(self, width: int, height: int) -> bool:
        return f"{width}*{height}" in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{value}`" for value in self.values)


@dataclass(frozen=True, slots=True)
class PerSide:
    """Each side within [min, max], and at most `max_pixels` in all."""

    min: int
    max: int
    max_pixels: int
    default: str
    violation: Violation

    def check(self, width: int, height: int) -> bool:
        sides_ok = self.min <= width <= self.max and self.min <= height <= self.max
        return sides_ok and width * height <= self.max_pixels

    def describe(self) -> str:
        return f"each side {self.min}-{self.max}, at most {_pixels(self.max_pixels)} pixels"


@dataclass(frozen=True, slots=True)
class TotalPixels:
    """Total pixels within [min_pixels, max_pixels], aspect ratio w/h within [min, max]."""

    min_pixels: int
    max_pixels: int
    # Exact fractions: an aspect of exactly 1:4 is inside, whatever floats would make of it.
    min_aspect: Fraction
    max_aspect: Fraction
    default: str
    violation: Violation

    def check(self, width: int, height: int) -> bool:
        pixels_ok = self.min_pixels <= width * height <= self.max_pixels
        return pixels_ok and self.min_aspect <= Fraction(width, height) <= self.max_aspect

    def describe(self) -> str:
        aspects = f"{_ratio(self.min_aspect)} to {_ratio(self.max_aspect)}"
        pixels = f"{_pixels(self.min_pixels)} to {_pixels(self.max_pixels)}"
        return f"{pixels} pixels, aspect {aspects}"


def _ratio(aspect: Fraction) -> str:
    return f"{aspect.numerator}:{aspect.denominator}"


def _pixels(count: int) -> str:
    """`1440*1440` for a square number of pixels, else the number."""
    side = math.isqrt(count)
    return f"{side}*{side}" if side * side == count else f"{count:,}"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One accepted parameter: where it goes, its JSON Schema fragment, its default."""

    name: str
    where: Literal["input", "parameters"]
    schema: Mapping[str, Any]
    default: Any = None


@dataclass(frozen=True, slots=True)
class MessageRules:
    """What a messages-protocol request may hold (wan2.6-t2i: one user message, one text)."""

    max_messages: int
    roles: frozenset[str]
    text_items: int
    reject_other_items: bool


@dataclass(frozen=True, slots=True)
class ModelLimits:
    """Per account and model: submissions per second, tasks in progress at once."""

    submit_qps: int
    tasks_in_progress: int


@dataclass(frozen=True, slots=True)
class ResultStyle:
    """The fields a model's results carry."""

    #: "results": `output.results[]` with urls; "choices": `output.choices[]` messages.
    shape: Literal["results", "choices"]
    orig_prompt: bool
    actual_prompt: bool
    task_metrics: bool
    usage_fields: tuple[str, ...]
    #: What the catalogue recorded of the model's URLs (`url_style`). Informative: the fake
    #: signs every result URL as current results are signed (`domain/objects.py`).
    signed_urls: bool


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """Everything the fake knows about one model. Compared by identity: one per catalogue."""

    id: str
    aliases: tuple[str, ...]
    generation: str
    description: str
    protocol: RequestProtocol
    #: Endpoint path (below /api/v1) -> the modes it serves the model in.
    endpoints: Mapping[str, frozenset[Mode]]
    prompt_max: int
    negative_prompt_max: int
    negative_prompt_in: Literal["input", "parameters"]
    size: SizeRule
    n_min: int
    n_max: int
    n_default: int
    parameters: tuple[Parameter, ...]
    messages: MessageRules | None
    limits: ModelLimits
    timing: Timing
    result: ResultStyle
    #: The entry as the catalogue holds it, for listings and for merging user overrides.
    entry: Mapping[str, Any] = field(repr=False, default_factory=dict)
    #: Each accepted parameter's default (None when it has none), for lookups on the hot path.
    defaults: Mapping[str, Any] = field(init=False, repr=False)
    #: The accepted parameters that go into `input`, and those that go into `parameters`.
    input_parameters: frozenset[str] = field(init=False, repr=False)
    body_parameters: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        defaults = {parameter.name: parameter.default for parameter in self.parameters}
        object.__setattr__(self, "defaults", defaults)
        inputs = frozenset(p.name for p in self.parameters if p.where == "input")
        object.__setattr__(self, "input_parameters", inputs)
        object.__setattr__(self, "body_parameters", frozenset(defaults) - inputs)

    def default(self, name: str) -> Any:
        """The documented default of a parameter, None when it has none."""
        return self.defaults.get(name)

    def accepts(self, name: str) -> bool:
        return name in self.defaults

    @property
    def modes(self) -> frozenset[Mode]:
        return frozenset().union(*self.endpoints.values())


@dataclass(frozen=True, slots=True)
class Route:
    """How a request to a path is served: `mode`, or the key of the error it gets."""

    spec: ModelSpec | None
    mode: Mode | None = None
    error: str | None = None


class ModelCatalogue:
    """The served models by id and alias, the routing rules and the error answers."""

    def __init__(
        self,
        models: Iterable[ModelSpec],
        errors: Mapping[str, Answer],
        size_pattern: str = DEFAULT_SIZE_PATTERN,
        served: Iterable[str] | None = None,
    ) -> None:
        self._all = {spec.id: spec for spec in models}
        wanted = set(self._all) if served is None else set(served)
        unknown = wanted - set(self._all)
        if unknown:
            raise ValueError(f"cannot serve unknown model(s): {', '.join(sorted(unknown))}")
        self.models: tuple[ModelSpec, ...] = tuple(
            spec for spec in self._all.values() if spec.id in wanted
        )
        self.errors = dict(errors)
        self._size = re.compile(size_pattern)
        self._by_name: dict[str, ModelSpec] = {}
        for spec in self.models:
            for name in (spec.id, *spec.aliases):
                self._by_name[name] = spec
        #: Every endpoint path any served model is on (below /api/v1).
        self.paths = frozenset(path for spec in self.models for path in spec.endpoints)
        self._routes: dict[tuple[str, str, bool], Route] = {}

    def get(self, name: str) -> ModelSpec | None:
        """A served model by id or alias."""
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> ModelSpec:
        spec = self._by_name.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec in self.models)

    def known(self) -> tuple[ModelSpec, ...]:
        """Every model the catalogue describes, served or not."""
        return tuple(self._all.values())

    def serving(self, ids: Iterable[str]) -> ModelCatalogue:
        """The same catalogue, serving only `ids` (ValueError for an id it does not know)."""
        return ModelCatalogue(self._all.values(), self.errors, self._size.pattern, ids)

    def route(self, name: str, path: str, async_header: bool) -> Route:
        """The catalogue's routing checks, in order: unknown model, model not on this path,
        an async-only path called without the header. A sync-only path ignores the header."""
        # Every create asks this: the answers for served models are worked out once.
        known = self._routes.get((name, path, async_header))
        if known is not None:
            return known
        route = self._route(name, path, async_header)
        if route.spec is not None:
            self._routes[(name, path, async_header)] = route
        return route

    def _route(self, name: str, path: str, async_header: bool) -> Route:
        spec = self._by_name.get(name)
        if spec is None:
            return Route(None, error="unknown_model")
        modes = spec.endpoints.get(path)
        if not modes:
            return Route(spec, error="model_not_on_path")
        if async_header and "async" in modes:
            return Route(spec, "async")
        if "sync" in modes:
            return Route(spec, "sync")
        return Route(spec, error="sync_not_supported")

    def dimensions(self, size: str) -> tuple[int, int] | None:
        """(width, height) of a `W*H` size, None when it does not parse."""
        match = self._size.fullmatch(size)
        return (int(match.group(1)), int(match.group(2))) if match else None

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any], served: Iterable[str] | None = None
    ) -> ModelCatalogue:
        """The catalogue from its document (already valid under model-catalogue.json)."""
        errors = {
            key: Answer(int(raw["status"]), raw["code"], raw["message"])
            for key, raw in document["errors"].items()
        }
        pattern = document.get("size_format", {}).get("pattern", DEFAULT_SIZE_PATTERN)
        return cls((spec_from_entry(raw) for raw in document["models"]), errors, pattern, served)


def spec_from_entry(raw: Mapping[str, Any]) -> ModelSpec:
    """One model from its catalogue entry."""
    endpoints: dict[str, set[Mode]] = {}
    for endpoint in raw["endpoints"]:
        endpoints.setdefault(endpoint["path"], set()).add(endpoint["mode"])
    timing = raw["timing"]
    messages = raw.get("messages")
    return ModelSpec(
        id=raw["id"],
        aliases=tuple(alias["id"] for alias in raw.get("aliases", ())),
        generation=raw["generation"],
        description=raw["description"],
        protocol=raw["protocol"],
        endpoints={path: frozenset(modes) for path, modes in endpoints.items()},
        prompt_max=int(raw["prompt"]["max_length"]),
        negative_prompt_max=int(raw["negative_prompt"]["max_length"]),
        negative_prompt_in=raw["negative_prompt"]["in"],
        size=size_rule(raw["size"]),
        n_min=int(raw["n"]["min"]),
        n_max=int(raw["n"]["max"]),
        n_default=int(raw["n"]["default"]),
        parameters=tuple(
            Parameter(p["name"], p["in"], p["schema"], p.get("default")) for p in raw["parameters"]
        ),
        messages=None
        if messages is None
        else MessageRules(
            int(messages["max_messages"]),
            frozenset(messages["roles"]),
            int(messages["text_items"]),
            messages["other_items"] == "reject",
        ),
        limits=ModelLimits(
            int(raw["limits"]["submit_qps"]), int(raw["limits"]["tasks_in_progress"])
        ),
        timing=Timing(
            queue_ms=int(timing["queue_ms"]),
            run_base_ms=int(timing["run_base_ms"]),
            run_per_image_ms=int(timing["run_per_image_ms"]),
            reject_ms=int(timing["reject_ms"]),
            prompt_extend_ms=int(timing["prompt_extend_ms"]),
        ),
        result=_result_style(raw["result"]),
        entry=raw,
    )


def size_rule(raw: Mapping[str, Any]) -> SizeRule:
    violation = Violation(raw["on_violation"]["code"], raw["on_violation"]["message"])
    kind = raw["kind"]
    if kind == "enum":
        return EnumSizes(tuple(raw["values"]), raw["default"], violation)
    if kind == "per_side":
        return PerSide(
            int(raw["min"]), int(raw["max"]), int(raw["max_pixels"]), raw["default"], violation
        )
    if kind == "total_pixels":
        return TotalPixels(
            int(raw["min_pixels"]),
            int(raw["max_pixels"]),
            Fraction(str(raw["min_aspect"])),
            Fraction(str(raw["max_aspect"])),
            raw["default"],
            violation,
        )
    raise ValueError(f"unknown size rule kind {kind!r}")


def _result_style(raw: Mapping[str, Any]) -> ResultStyle:
    when = {item["name"]: item["when"] for item in raw["item_fields"]}
    return ResultStyle(
        shape=raw["shape"],
        orig_prompt=when.get("orig_prompt") == "always",
        actual_prompt=when.get("actual_prompt") == "prompt_extend",
        task_metrics=bool(raw["task_metrics"]),
        usage_fields=tuple(raw["usage_fields"]),
        signed_urls=raw.get("url_style") == "signed",
    )


def merged_entries(
    base: Sequence[Mapping[str, Any]], overrides: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The catalogue's model entries with a user's entries applied.

    An entry whose id the catalogue knows replaces the keys it gives (whole keys: a `size`
    given is the whole size rule); any other entry adds a model and must be complete.
    """
    entries = {raw["id"]: dict(raw) for raw in base}
    for raw in overrides:
        known = entries.get(raw["id"])
        entries[raw["id"]] = {**known, **raw} if known is not None else dict(raw)
    return list(entries.values())


#: A CJK unified ideograph: a prompt with one gets its rewrite in Chinese.
_HAN = re.compile("[\u4e00-\u9fff]")


def rewrite_prompt(prompt: str) -> str:
    """What `prompt_extend` makes of a prompt: deterministic, and visibly longer.

    The live service asks a language model to enrich the prompt; the fake appends a fixed
    description in the prompt's own script, so tests can tell the two fields apart.
    """
    if _HAN.search(prompt):
        return f"{prompt}。画面细节丰富，光影自然柔和，构图均衡，高清写实质感。"
    return f"{prompt}. Rich detail, soft natural lighting, balanced composition, sharp focus."
