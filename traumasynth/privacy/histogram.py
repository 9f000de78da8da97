"""Differentially private histograms: noisy counts post-processed to non-negative integers.

Neighbouring datasets differ by adding or removing one row (the adjacency Opacus's
accountants use for DP-SGD, so the two compose). One row adds 1 to ``sensitivity``
cells of the released count vector: a class histogram has ``sensitivity=1``; the
concatenation of one histogram per encoded slot (``traumasynth.models.marginals``)
has one cell per slot. Hence the L1 sensitivity is ``sensitivity`` and the L2
sensitivity ``sqrt(sensitivity)``.

Mechanisms:

- ``geometric``: two-sided geometric (discrete Laplace) noise,
  ``P(k) ∝ exp(-epsilon * |k| / sensitivity)``; pure ``epsilon``-DP (``delta = 0``),
  integer-valued by construction.
- ``gaussian``: Gaussian noise calibrated with the analytic Gaussian mechanism
  (Balle & Wang, ICML 2018, Theorem 8), exact for ``(epsilon, delta)``; its Rényi-DP
  curve ``alpha * sensitivity / (2 sigma^2)`` composes tightly with DP-SGD.

Both are followed by rounding and clipping at 0, which is post-processing and costs
nothing. The privacy of a release is a pure function of its noise parameter
(``histogram_privacy``), pinned by regression tests.

The noise is drawn from the generator the caller passes: a generator seeded from a
published seed makes the noise reproducible by anyone who knows the seed, so keep the
seed secret, or pass a generator seeded from ``secrets`` (``sample.secure_noise``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import log_ndtr, ndtr

from traumasynth.errors import DataError, PrivacyBudgetError

Mechanism = Literal["geometric", "gaussian"]

_BISECT_STEPS = 200


@dataclass(frozen=True)
class HistogramRelease:
    """A released DP histogram and what it cost.

    Attributes:
        counts: int64 ``[n_cells]``, noisy counts rounded and clipped at 0.
        mechanism: ``geometric`` or ``gaussian``.
        epsilon: the ε this release spent.
        delta: the δ it spent (0 for ``geometric``).
        noise_scale: ``sensitivity / epsilon`` (the discrete Laplace scale) for
            ``geometric``; the standard deviation ``sigma`` for ``gaussian``.
        sensitivity: cells one row adds 1 to.
    """

    counts: np.ndarray
    mechanism: Mechanism
    epsilon: float
    delta: float
    noise_scale: float
    sensitivity: int

    def rdp(self, orders: np.ndarray) -> np.ndarray:
        """Rényi-DP of this release at each order ``alpha`` (for composition with DP-SGD)."""
        return histogram_rdp(
            mechanism=self.mechanism, noise_scale=self.noise_scale, sensitivity=self.sensitivity, orders=orders
        )


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
    _check_budget(epsilon=epsilon, delta=delta, mechanism="gaussian")
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


# -- the privacy of a release, as pure functions ---------------------------------------
def histogram_privacy(
    *, mechanism: Mechanism, noise_scale: float, sensitivity: int = 1, delta: float = 0.0
) -> tuple[float, float]:
    """(ε, δ) of a histogram release with the given noise, from the noise alone.

    Args:
        mechanism: ``geometric`` or ``gaussian``.
        noise_scale: discrete Laplace scale (``geometric``) or ``sigma`` (``gaussian``).
        sensitivity: cells one row adds 1 to.
        delta: the δ at which to state a Gaussian release's ε (ignored for ``geometric``).

    Returns:
        ``(epsilon, delta)``; ``delta`` is 0 for ``geometric``.
    """
    if noise_scale <= 0:
        raise PrivacyBudgetError(f"noise_scale must be > 0, got {noise_scale}.")
    if mechanism == "geometric":
        return sensitivity / noise_scale, 0.0
    return gaussian_epsilon(sigma=noise_scale, delta=delta, l2_sensitivity=math.sqrt(sensitivity)), delta


def histogram_rdp(*, mechanism: Mechanism, noise_scale: float, sensitivity: int, orders: np.ndarray) -> np.ndarray:
    """Rényi-DP curve ``eps(alpha)`` of a histogram release.

    Gaussian: ``alpha * sensitivity / (2 sigma^2)`` (Mironov 2017, squared L2 sensitivity
    ``sensitivity``). Geometric (pure ε-DP): ``min(eps, alpha * eps^2 / 2)``, since ε-DP
    implies ``eps^2/2``-zCDP (Bun & Steinke 2016, Prop. 3.3) and ``(alpha, eps)``-RDP.
    """
    orders = np.asarray(orders, dtype=np.float64)
    if mechanism == "gaussian":
        return orders * sensitivity / (2.0 * noise_scale**2)
    eps = sensitivity / noise_scale
    return np.minimum(eps, orders * eps**2 / 2.0)


# -- the release ---------------------------------------------------------------------
def noisy_counts(
    *,
    true_counts: np.ndarray,
    epsilon: float,
    mechanism: Mechanism = "geometric",
    delta: float = 0.0,
    sensitivity: int = 1,
    rng: np.random.Generator,
) -> HistogramRelease:
    """Release ``true_counts`` with DP noise, rounded and clipped to non-negative integers.

    Args:
        true_counts: the exact counts (any shape; flattened), computed on private rows.
        epsilon: the ε to spend (> 0).
        mechanism: ``geometric`` (pure ε-DP) or ``gaussian`` ((ε, δ)-DP).
        delta: the δ to spend; required in ``(0, 1)`` for ``gaussian``, must be 0 for ``geometric``.
        sensitivity: cells one row adds 1 to (1 for a single histogram).
        rng: the generator the noise is drawn from.

    Raises:
        PrivacyBudgetError: an invalid ε/δ or sensitivity.
    """
    _check_budget(epsilon=epsilon, delta=delta, mechanism=mechanism)
    if sensitivity < 1:
        raise PrivacyBudgetError(f"sensitivity must be a positive number of cells, got {sensitivity}.")
    counts = np.asarray(true_counts, dtype=np.int64).ravel()
    if mechanism == "geometric":
        scale = sensitivity / epsilon
        p = -math.expm1(-epsilon / sensitivity)  # 1 - exp(-eps/Δ), accurate for small eps
        noise = rng.geometric(p, size=counts.shape) - rng.geometric(p, size=counts.shape)
        noisy = counts + noise
    else:
        scale = gaussian_sigma(epsilon=epsilon, delta=delta, l2_sensitivity=math.sqrt(sensitivity))
        noisy = np.rint(counts + rng.normal(0.0, scale, size=counts.shape)).astype(np.int64)
    return HistogramRelease(
        counts=np.maximum(noisy, 0).astype(np.int64),
        mechanism=mechanism,
        epsilon=float(epsilon),
        delta=float(delta),
        noise_scale=float(scale),
        sensitivity=int(sensitivity),
    )


def noisy_histogram(
    *,
    codes: np.ndarray,
    n_bins: int,
    epsilon: float,
    mechanism: Mechanism = "geometric",
    delta: float = 0.0,
    rng: np.random.Generator,
) -> HistogramRelease:
    """DP histogram of integer ``codes`` in ``0..n_bins-1`` (one row, one code).

    ``n_bins`` must come from public knowledge (the spec's category list), never from
    the data, or the set of occupied bins would leak.

    Raises:
        PrivacyBudgetError: an invalid ε/δ.
        DataError: a code outside ``0..n_bins-1``.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_bins):
        raise DataError(f"Histogram codes must lie in 0..{n_bins - 1}; got values {codes.min()}..{codes.max()}.")
    true = np.bincount(codes, minlength=n_bins)
    return noisy_counts(true_counts=true, epsilon=epsilon, mechanism=mechanism, delta=delta, sensitivity=1, rng=rng)


def _check_budget(*, epsilon: float, delta: float, mechanism: str) -> None:
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise PrivacyBudgetError(f"The histogram's epsilon must be a positive number, got {epsilon}.")
    if mechanism == "gaussian" and not 0 < delta < 1:
        raise PrivacyBudgetError(
            f"The Gaussian histogram needs delta in (0, 1), got {delta}. Set a small delta (e.g. 1e-6) "
            "or use the `geometric` mechanism, which needs none."
        )
    if mechanism == "geometric" and delta != 0:
        raise PrivacyBudgetError(f"The geometric mechanism is pure epsilon-DP: delta must be 0, got {delta}.")
