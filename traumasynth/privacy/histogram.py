"""The Gaussian mechanism for counts: analytic calibration, and a noisy class histogram.

Neighbouring datasets differ by adding or removing one row (the adjacency Opacus's
accountants use for DP-SGD, so the two compose). One row adds 1 to one cell of a class
histogram (L2 sensitivity 1), and to one cell of each of the ``S`` slot histograms of the
``marginals`` release (L2 sensitivity ``sqrt(S)``).

- ``gaussian_sigma`` / ``gaussian_epsilon``: the analytic Gaussian mechanism (Balle & Wang,
  ICML 2018, Theorem 8), exact for ``(epsilon, delta)``; the budget plan
  (``traumasynth.privacy.plan``) uses them to split one budget among mechanisms.
- ``gaussian_histogram``: a class histogram with the noise the plan gives it, rounded and
  clipped at 0 (post-processing, no cost).

The noise is drawn from the generator the caller passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from traumasynth.core.errors import DataError, PrivacyBudgetError

_BISECT_STEPS = 200


@dataclass(frozen=True)
class HistogramRelease:
    """A released noisy histogram.

    Attributes:
        counts: int64 ``[n_cells]``, noisy counts rounded and clipped at 0.
        noise_scale: the Gaussian noise's standard deviation (0: exact counts, no DP).
    """

    counts: np.ndarray
    noise_scale: float


# -- analytic Gaussian mechanism (Balle & Wang 2018) ------------------------------------
def gaussian_delta(*, sigma: float, epsilon: float, l2_sensitivity: float) -> float:
    """Smallest δ for which the Gaussian mechanism with ``sigma`` is (ε, δ)-DP (exact).

    ``delta = Phi(D/(2s) - eps*s/D) - exp(eps) * Phi(-D/(2s) - eps*s/D)`` with ``D`` the
    L2 sensitivity and ``s = sigma`` (Balle & Wang 2018, Theorem 8).
    """
    a = l2_sensitivity / (2.0 * sigma)
    b = epsilon * sigma / l2_sensitivity
    second = math.exp(epsilon + float(log_ndtr(-a - b)))  # exp(eps) * Phi(..) without overflow
    return max(0.0, float(ndtr(a - b)) - second)


def gaussian_sigma(*, epsilon: float, delta: float, l2_sensitivity: float = 1.0) -> float:
    """The smallest noise ``sigma`` giving (ε, δ)-DP with the analytic Gaussian mechanism.

    Raises:
        PrivacyBudgetError: ``epsilon <= 0`` or ``delta`` outside ``(0, 1)``.
    """
    _check_budget(epsilon=epsilon, delta=delta)
    low, high = 1e-6 * l2_sensitivity, l2_sensitivity
    while gaussian_delta(sigma=high, epsilon=epsilon, l2_sensitivity=l2_sensitivity) > delta:
        high *= 2.0
    for _ in range(_BISECT_STEPS):  # delta is decreasing in sigma
        mid = 0.5 * (low + high)
        if gaussian_delta(sigma=mid, epsilon=epsilon, l2_sensitivity=l2_sensitivity) > delta:
            low = mid
        else:
            high = mid
    return high


def gaussian_epsilon(*, sigma: float, delta: float, l2_sensitivity: float = 1.0) -> float:
    """The smallest ε for which the Gaussian mechanism with ``sigma`` is (ε, δ)-DP."""
    if gaussian_delta(sigma=sigma, epsilon=0.0, l2_sensitivity=l2_sensitivity) <= delta:
        return 0.0
    low, high = 0.0, 1.0
    while gaussian_delta(sigma=sigma, epsilon=high, l2_sensitivity=l2_sensitivity) > delta:
        high *= 2.0
    for _ in range(_BISECT_STEPS):  # delta is decreasing in epsilon
        mid = 0.5 * (low + high)
        if gaussian_delta(sigma=sigma, epsilon=mid, l2_sensitivity=l2_sensitivity) > delta:
            low = mid
        else:
            high = mid
    return high


def gaussian_histogram(
    *, codes: np.ndarray, n_bins: int, noise_multiplier: float | None, rng: np.random.Generator
) -> HistogramRelease:
    """Histogram of integer ``codes`` in ``0..n_bins-1`` with Gaussian noise of std ``noise_multiplier``.

    The noise comes from the budget plan (``traumasynth.privacy.plan``), which accounts for its
    cost together with every other mechanism. ``None`` returns the exact counts (a non-DP
    reference run).

    Raises:
        DataError: a code outside ``0..n_bins-1``.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_bins):
        raise DataError(f"Histogram codes must lie in 0..{n_bins - 1}; got values {codes.min()}..{codes.max()}.")
    true = np.bincount(codes, minlength=n_bins)
    if noise_multiplier is None:
        noisy = true.astype(np.int64)
    else:
        noisy = np.rint(true + rng.normal(0.0, noise_multiplier, size=true.shape)).astype(np.int64)
    return HistogramRelease(counts=np.maximum(noisy, 0).astype(np.int64), noise_scale=float(noise_multiplier or 0.0))


def _check_budget(*, epsilon: float, delta: float) -> None:
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PrivacyBudgetError(f"epsilon must be a positive number, got {epsilon}.")
    if not 0 < delta < 1:
        raise PrivacyBudgetError(f"The Gaussian mechanism needs delta in (0, 1), got {delta}. Set a small delta.")
