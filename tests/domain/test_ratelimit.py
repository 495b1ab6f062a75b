from __future__ import annotations

import random

import pytest

from mockscope.domain.operations import Operation
from mockscope.domain.ratelimit import Limits, RateLimiter, SlidingWindowLimiter


def test_the_third_call_inside_one_second_is_refused_until_the_first_leaves_the_window() -> None:
    limiter = SlidingWindowLimiter(limit=2)
    assert limiter.grace_ms == 50
    assert limiter.acquire("a", 1_000).allowed
    assert limiter.acquire("a", 1_400).allowed
    refused = limiter.acquire("a", 1_600)
    assert not refused.allowed
    assert refused.retry_after_ms == 350
    assert not limiter.acquire("a", 1_949).allowed
    assert limiter.acquire("a", 1_950).allowed  # within the last 50 ms of the second: the give
    assert not limiter.acquire("a", 2_300).allowed
    assert limiter.acquire("a", 2_350).allowed


def test_no_window_anywhere_holds_more_than_the_limit() -> None:
    limiter = SlidingWindowLimiter(limit=2)
    accepted = [t for t in range(0, 5_000, 7) if limiter.acquire("a", t).allowed]
    for i, start in enumerate(accepted):
        in_window = [t for t in accepted[i:] if t < start + 1_000 - limiter.grace_ms]
        assert len(in_window) <= 2


@pytest.mark.parametrize("limit", [2, 20])
def test_a_client_pacing_at_exactly_the_limit_is_never_throttled_despite_jitter(
    limit: int,
) -> None:
    """One call every 1000/limit ms, each arriving up to a few ms early or late (a client pacing
    at 2 per second once got 4 x 429 in 21 calls)."""
    limiter = SlidingWindowLimiter(limit=limit)
    interval, jitter = 1_000 // limit, max(1, limiter.grace_ms // 2 - 1)
    draw = random.Random(12)
    calls = [k * interval + draw.randint(-jitter, jitter) for k in range(2_000)]
    assert all(limiter.acquire("a", t).allowed for t in calls)
    assert all(limiter.acquire("b", k * interval).allowed for k in range(2_000))


def test_a_third_submit_within_the_same_second_is_still_refused() -> None:
    limiter = RateLimiter(Limits())
    for start in (0, 10_000, 20_000):
        assert limiter.check(Operation.CREATE, "a", start, "wanx-v1").allowed
        assert limiter.check(Operation.CREATE, "a", start + 499, "wanx-v1").allowed
        third = limiter.check(Operation.CREATE, "a", start + 900, "wanx-v1")
        assert not third.allowed
        assert third.retry_after_ms == 50


def test_refused_calls_do_not_count_and_keys_are_independent() -> None:
    limiter = SlidingWindowLimiter(limit=1)
    assert limiter.grace_ms == 100
    assert limiter.acquire("a", 0).allowed
    for t in range(1, 900, 50):
        assert not limiter.acquire("a", t).allowed
    assert limiter.acquire("a", 900).allowed
    assert limiter.acquire("b", 1).allowed


def test_prune_forgets_idle_keys() -> None:
    limiter = SlidingWindowLimiter(limit=2)
    for key in range(100):
        limiter.acquire(key, 0)
    limiter.acquire("busy", 1_500)
    limiter.prune(2_000)
    assert len(limiter) == 1


def test_limits_are_per_operation_per_account_and_per_model() -> None:
    limiter = RateLimiter(Limits(create_per_second=1, create_per_model={"fast": 3}))
    assert limiter.check(Operation.CREATE, "acct", 0, "wanx-v1").allowed
    assert not limiter.check(Operation.CREATE, "acct", 1, "wanx-v1").allowed
    assert limiter.check(Operation.CREATE, "other", 1, "wanx-v1").allowed
    assert all(limiter.check(Operation.CREATE, "acct", 2, "fast").allowed for _ in range(3))
    assert not limiter.check(Operation.CREATE, "acct", 2, "fast").allowed
    assert all(limiter.check(Operation.GET, "acct", 3).allowed for _ in range(20))
    assert not limiter.check(Operation.GET, "acct", 3).allowed
    assert limiter.check(Operation.LIST, "acct", 3).allowed


def test_by_default_each_model_submits_at_its_own_rate() -> None:
    own = {"slow": 2, "quick": 5}
    limiter = RateLimiter(Limits(), own_rate=lambda model: own[model])
    assert [limiter.check(Operation.CREATE, "a", 0, "slow").allowed for _ in range(3)] == [
        True,
        True,
        False,
    ]
    assert sum(limiter.check(Operation.CREATE, "a", 0, "quick").allowed for _ in range(6)) == 5
    # One rate for every model replaces each model's own.
    limiter.limits = Limits(create_per_second=1)
    assert limiter.check(Operation.CREATE, "b", 0, "quick").allowed
    assert not limiter.check(Operation.CREATE, "b", 0, "quick").allowed


def test_concurrency_is_each_models_own_unless_set() -> None:
    assert Limits().slots("wanx-v1", 1) == 1
    assert Limits().slots("wan2.5-t2i-preview", 5) == 5
    assert Limits(concurrency=3).slots("wan2.5-t2i-preview", 5) == 3
    assert Limits(concurrency=3, concurrency_per_model={"m": 7}).slots("m", 1) == 7
    assert Limits.unlimited().slots("m", 2) == 2
    assert Limits.unlimited(concurrency=1).slots("m", 2) == 1


def test_unlimited_switches_every_rate_off() -> None:
    limiter = RateLimiter(Limits.unlimited())
    assert all(limiter.check(Operation.CREATE, "a", 0, "wanx-v1").allowed for _ in range(1000))


@pytest.mark.parametrize(
    "bad",
    [
        {"create_per_second": 0},
        {"get_per_second": -1},
        {"concurrency": 0},
        {"create_per_model": {"m": 0}},
        {"concurrency_per_model": {"m": 0}},
    ],
)
def test_nonsense_limits_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Limits(**bad)  # type: ignore[arg-type]
