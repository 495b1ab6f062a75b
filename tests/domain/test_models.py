"""The catalogue in domain terms: size rules at their edges, routing, merging a user's entries."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mockscope import ModelCatalogue, model_catalogue
from mockscope.domain.models import (
    EnumSizes,
    PerSide,
    TotalPixels,
    Violation,
    merged_entries,
    rewrite_prompt,
)

CATALOGUE = model_catalogue()
NO = Violation("InvalidParameter", "no")


@pytest.mark.parametrize(
    ("width", "height", "inside"),
    [
        (512, 512, True),  # both sides on the lower bound
        (1440, 1440, True),  # both on the upper bound; pixels exactly at the cap
        (511, 1024, False),
        (1024, 1441, False),
        (1440, 1441, False),
    ],
)
def test_per_side(width: int, height: int, inside: bool) -> None:
    rule = PerSide(512, 1440, 1440 * 1440, "1024*1024", NO)
    assert rule.check(width, height) is inside


def test_per_side_pixel_cap_binds_below_the_side_limits() -> None:
    rule = PerSide(512, 2048, 1440 * 1440, "1024*1024", NO)
    assert rule.check(1440, 1440)
    assert not rule.check(1441, 1440)


@pytest.mark.parametrize(
    ("width", "height", "inside"),
    [
        (768, 768, True),  # pixels on the lower bound
        (1440, 1440, True),  # on the upper bound
        (720, 2880, True),  # aspect exactly 1:4
        (2880, 720, True),  # exactly 4:1
        (768, 2700, True),  # the documented example
        (767, 768, False),
        (1440, 1441, False),
        (719, 2880, False),  # aspect just past 1:4
        (2880, 719, False),
    ],
)
def test_total_pixels(width: int, height: int, inside: bool) -> None:
    rule = TotalPixels(768 * 768, 1440 * 1440, Fraction(1, 4), Fraction(4), "1280*1280", NO)
    assert rule.check(width, height) is inside


def test_enum_sizes() -> None:
    rule = EnumSizes(("1024*1024", "720*1280"), "1024*1024", NO)
    assert rule.check(720, 1280)
    assert not rule.check(1280, 720)


def test_every_models_default_size_is_inside_its_rule() -> None:
    for spec in CATALOGUE:
        dimensions = CATALOGUE.dimensions(spec.size.default)
        assert dimensions is not None
        assert spec.size.check(*dimensions), spec.id
        assert spec.n_min <= spec.n_default <= spec.n_max


@pytest.mark.parametrize(
    ("model", "path", "async_header", "mode", "error"),
    [
        ("wanx-v1", "/services/aigc/text2image/image-synthesis", True, "async", None),
        ("wanx-v1", "/services/aigc/text2image/image-synthesis", False, None, "sync_not_supported"),
        ("wan2.2-t2i-plus", "/services/aigc/text2image/image-synthesis", False, "sync", None),
        ("wan2.6-t2i", "/services/aigc/multimodal-generation/generation", True, "sync", None),
        (
            "wan2.6-t2i",
            "/services/aigc/text2image/image-synthesis",
            True,
            None,
            "model_not_on_path",
        ),
        ("wanx-v9", "/services/aigc/text2image/image-synthesis", True, None, "unknown_model"),
    ],
)
def test_routing(
    model: str, path: str, async_header: bool, mode: str | None, error: str | None
) -> None:
    route = CATALOGUE.route(model, path, async_header)
    assert (route.mode, route.error) == (mode, error)


def test_aliases_are_their_model_and_a_restricted_catalogue_serves_only_its_ids() -> None:
    assert CATALOGUE["wan2.1-t2i-turbo"] is CATALOGUE["wanx2.1-t2i-turbo"]
    only = CATALOGUE.serving(["wanx-v1"])
    assert only.ids() == ("wanx-v1",)
    assert only.get("wan2.6-t2i") is None
    assert len(only.known()) == len(CATALOGUE)
    with pytest.raises(ValueError, match="nope"):
        CATALOGUE.serving(["nope"])


def test_a_users_entries_replace_whole_keys_or_add_models() -> None:
    base = [{"id": "a", "limits": {"submit_qps": 2}, "n": {"min": 1}}]
    merged = merged_entries(base, [{"id": "a", "limits": {"submit_qps": 9}}, {"id": "b"}])
    assert merged == [
        {"id": "a", "limits": {"submit_qps": 9}, "n": {"min": 1}},
        {"id": "b"},
    ]
    assert base[0]["limits"] == {"submit_qps": 2}  # the catalogue itself is left alone


def test_the_prompt_rewrite_is_deterministic_and_keeps_the_prompt() -> None:
    assert rewrite_prompt("a cat") == rewrite_prompt("a cat")
    assert rewrite_prompt("a cat").startswith("a cat")
    assert rewrite_prompt("一只猫").startswith("一只猫")
    assert rewrite_prompt("一只猫") != rewrite_prompt("a cat")


def test_the_catalogue_is_built_from_plain_data() -> None:
    from mockscope import schemas

    rebuilt = ModelCatalogue.from_document(schemas.catalogue_document())
    assert rebuilt.ids() == CATALOGUE.ids()
    assert rebuilt["wan2.5-t2i-preview"].size.describe() == (
        "768*768 to 1440*1440 pixels, aspect 1:4 to 4:1"
    )
