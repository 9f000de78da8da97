"""DP histogram: calibration pinned as regression values, noise shape, post-processing, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from traumasynth.core.errors import DataError, PrivacyBudgetError
from traumasynth.privacy.histogram import gaussian_delta, gaussian_epsilon, gaussian_histogram, gaussian_sigma


def test_analytic_gaussian_sigma_regression() -> None:
    # Balle & Wang (2018): sigma ~ 3.73 for (1, 1e-5) at sensitivity 1.
    assert gaussian_sigma(epsilon=1.0, delta=1e-5) == pytest.approx(3.7306316348, rel=1e-8)
    assert gaussian_sigma(epsilon=0.1, delta=1e-6) == pytest.approx(36.3046904262, rel=1e-8)
    # noise scales linearly with the L2 sensitivity
    assert gaussian_sigma(epsilon=1.0, delta=1e-5, l2_sensitivity=3.0) == pytest.approx(3 * 3.7306316348, rel=1e-7)


def test_analytic_gaussian_beats_the_classical_calibration() -> None:
    eps, delta = 0.5, 1e-5
    classical = math.sqrt(2 * math.log(1.25 / delta)) / eps
    assert gaussian_sigma(epsilon=eps, delta=delta) < classical


@pytest.mark.parametrize(("eps", "delta"), [(0.1, 1e-6), (1.0, 1e-5), (4.0, 1e-7)])
def test_gaussian_epsilon_inverts_sigma(eps: float, delta: float) -> None:
    sigma = gaussian_sigma(epsilon=eps, delta=delta)
    assert gaussian_delta(sigma=sigma, epsilon=eps, l2_sensitivity=1.0) <= delta * (1 + 1e-9)
    assert gaussian_epsilon(sigma=sigma, delta=delta) == pytest.approx(eps, rel=1e-6)


def test_gaussian_histogram_noise_has_the_planned_sigma() -> None:
    codes = np.repeat(np.arange(4), 10_000)
    draws = np.stack(
        [
            gaussian_histogram(codes=codes, n_bins=4, noise_multiplier=5.0, rng=np.random.default_rng(i)).counts
            for i in range(2_000)
        ]
    )
    assert (draws - 10_000).std() == pytest.approx(5.0, rel=0.03)
    assert abs((draws - 10_000).mean()) < 0.2  # rounding only: no bias away from 0
    again = gaussian_histogram(codes=codes, n_bins=4, noise_multiplier=5.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again.counts, draws[0])  # the same generator state, the same counts


def test_small_counts_are_clipped_at_zero_and_none_is_exact() -> None:
    codes = np.repeat(np.arange(5), [10, 0, 40, 3, 7])
    noisy = gaussian_histogram(codes=codes, n_bins=5, noise_multiplier=50.0, rng=np.random.default_rng(1))
    assert (noisy.counts >= 0).all() and noisy.counts.dtype == np.int64
    exact = gaussian_histogram(codes=codes, n_bins=5, noise_multiplier=None, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(exact.counts, [10, 0, 40, 3, 7])
    assert exact.noise_scale == 0.0


@pytest.mark.parametrize(("kwargs", "message"), [({"epsilon": 0.0}, "positive"), ({"delta": 0.0}, "delta in")])
def test_bad_budget_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(PrivacyBudgetError, match=message):
        gaussian_sigma(**({"epsilon": 1.0, "delta": 1e-5} | kwargs))


def test_codes_outside_the_bins_are_refused() -> None:
    with pytest.raises(DataError, match="0..2"):
        gaussian_histogram(codes=np.array([0, 3]), n_bins=3, noise_multiplier=1.0, rng=np.random.default_rng(0))
