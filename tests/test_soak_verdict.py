"""bench/soak.py's RSS verdict on sample series shaped like real soak runs (one sample every 10 s).

The series are synthetic because the verdict is a pure function of them; the shapes are the ones the soak
runs of 2026-12-02 showed (a one-off step of the allocator, a flat line with ±7 MB of noise, short runs).
"""

from __future__ import annotations

import random

from bench.soak import rss_verdict


def series(minutes: float, rss, seed: int = 1, noise_mb: float = 0.0) -> list[tuple[float, float]]:
    rnd = random.Random(seed)
    return [(t, rss(t) + rnd.uniform(-noise_mb, noise_mb)) for t in range(10, int(minutes * 60) + 1, 10)]


def test_a_steady_leak_is_growth() -> None:
    leak = rss_verdict(series(8, lambda t: 900 + 5 * t / 60, noise_mb=3), min_slope=2)
    assert leak.grows is True
    assert 3 < leak.slope < 7


def test_a_flat_line_with_busy_moments_is_not_growth() -> None:
    flat = series(8, lambda t: 935, noise_mb=7, seed=3)
    flat[-1] = (flat[-1][0], 960.0)  # one busy moment at the very end moves a fitted slope, not a median
    assert rss_verdict(flat, min_slope=2).grows is False


def test_one_step_then_flat_is_not_growth() -> None:
    # The allocator maps another heap once, then nothing more: a least-squares slope across the step says GROWS.
    step = rss_verdict(series(8, lambda t: 920 if t < 330 else 933, noise_mb=2, seed=2), min_slope=2)
    assert step.grows is False


def test_slow_growth_below_the_threshold_is_not_growth() -> None:
    assert rss_verdict(series(10, lambda t: 900 + 0.5 * t / 60), min_slope=2).grows is False


def test_a_short_run_is_too_short_to_tell() -> None:
    short = rss_verdict(series(4, lambda t: 900 + 20 * t / 60), min_slope=2)
    assert short.grows is None
    assert "too short to tell" in short.describe()
