"""DP histogram: calibration pinned as regression values, noise shape, post-processing, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from traumasynth.errors import DataError, PrivacyBudgetError
from traumasynth.privacy.histogram import (
    gaussian_delta,
    gaussian_epsilon,
    gaussian_sigma,
    histogram_privacy,
    histogram_rdp,
    noisy_counts,
    noisy_histogram,
)


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
    assert histogram_privacy(mechanism="gaussian", noise_scale=sigma, delta=delta) == pytest.approx((eps, delta))


def test_geometric_privacy_is_a_pure_function_of_the_scale() -> None:
    assert histogram_privacy(mechanism="geometric", noise_scale=10.0) == (0.1, 0.0)
    assert histogram_privacy(mechanism="geometric", noise_scale=10.0, sensitivity=5) == (0.5, 0.0)
    with pytest.raises(PrivacyBudgetError):
        histogram_privacy(mechanism="geometric", noise_scale=0.0)


def test_rdp_curves() -> None:
    orders = np.array([2.0, 8.0, 32.0])
    assert histogram_rdp(mechanism="gaussian", noise_scale=2.0, sensitivity=3, orders=orders) == pytest.approx(
        orders * 3 / 8
    )
    # pure eps = 0.5: the zCDP bound a*eps^2/2 below eps, capped at eps
    assert histogram_rdp(mechanism="geometric", noise_scale=2.0, sensitivity=1, orders=orders) == pytest.approx(
        [0.25, 0.5, 0.5]
    )


@pytest.mark.parametrize("mechanism", ["geometric", "gaussian"])
def test_release_is_nonnegative_integers_and_seeded(mechanism: str) -> None:
    delta = 1e-6 if mechanism == "gaussian" else 0.0
    codes = np.array([0] * 300 + [1] * 2 + [3] * 50)
    a = noisy_histogram(
        codes=codes, n_bins=4, epsilon=0.1, mechanism=mechanism, delta=delta, rng=np.random.default_rng(1)
    )
    b = noisy_histogram(
        codes=codes, n_bins=4, epsilon=0.1, mechanism=mechanism, delta=delta, rng=np.random.default_rng(1)
    )
    c = noisy_histogram(
        codes=codes, n_bins=4, epsilon=0.1, mechanism=mechanism, delta=delta, rng=np.random.default_rng(2)
    )
    assert a.counts.dtype == np.int64 and a.counts.shape == (4,)
    assert (a.counts >= 0).all()
    np.testing.assert_array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)
    assert a.epsilon == 0.1 and a.delta == delta and a.mechanism == mechanism


def test_clipping_at_zero_is_the_only_bias() -> None:
    rng = np.random.default_rng(0)
    zeros = noisy_counts(true_counts=np.zeros(20_000, dtype=int), epsilon=0.5, rng=rng)
    assert zeros.counts.min() == 0
    assert 0.3 < (zeros.counts == 0).mean() < 0.7  # about half the noise draws are clipped


def test_geometric_noise_has_the_discrete_laplace_law() -> None:
    eps = 0.5
    release = noisy_counts(true_counts=np.full(200_000, 1000), epsilon=eps, rng=np.random.default_rng(3))
    noise = release.counts - 1000
    q = math.exp(-eps)
    assert noise.mean() == pytest.approx(0.0, abs=0.05)
    assert noise.var() == pytest.approx(2 * q / (1 - q) ** 2, rel=0.03)
    # the DP likelihood ratio between neighbouring outputs is e^eps
    p0, p1 = (noise == 0).mean(), (noise == 1).mean()
    assert p0 / p1 == pytest.approx(math.exp(eps), rel=0.05)
    assert release.noise_scale == pytest.approx(1 / eps)


def test_gaussian_noise_has_the_calibrated_sigma_and_sensitivity() -> None:
    release = noisy_counts(
        true_counts=np.full(100_000, 10_000),
        epsilon=1.0,
        mechanism="gaussian",
        delta=1e-5,
        sensitivity=4,
        rng=np.random.default_rng(4),
    )
    sigma = gaussian_sigma(epsilon=1.0, delta=1e-5, l2_sensitivity=2.0)  # sqrt(4)
    assert release.noise_scale == pytest.approx(sigma)
    assert (release.counts - 10_000).std() == pytest.approx(sigma, rel=0.02)
    assert release.sensitivity == 4


def test_large_epsilon_recovers_the_counts() -> None:
    codes = np.repeat(np.arange(5), [10, 0, 40, 3, 7])
    release = noisy_histogram(codes=codes, n_bins=5, epsilon=1000.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(release.counts, [10, 0, 40, 3, 7])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 0.0}, "positive"),
        ({"epsilon": -1.0}, "positive"),
        ({"epsilon": float("inf")}, "positive"),
        ({"epsilon": 1.0, "mechanism": "gaussian", "delta": 0.0}, "delta in \\(0, 1\\)"),
        ({"epsilon": 1.0, "mechanism": "geometric", "delta": 1e-5}, "pure epsilon-DP"),
        ({"epsilon": 1.0, "sensitivity": 0}, "sensitivity"),
    ],
)
def test_bad_budget_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(PrivacyBudgetError, match=message):
        noisy_counts(true_counts=np.array([1, 2]), rng=np.random.default_rng(0), **kwargs)


def test_codes_outside_the_bins_are_refused() -> None:
    with pytest.raises(DataError, match="0..2"):
        noisy_histogram(codes=np.array([0, 3]), n_bins=3, epsilon=1.0, rng=np.random.default_rng(0))
