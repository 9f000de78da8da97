"""Post-processing of released noisy counts: no privacy cost, a better estimate of the histograms.

``MarginalsSynthesizer.release`` projects each noisy row of counts onto the non-negative vectors
with its own total (``project_nonnegative``), then pulls each class's row toward the pooled
distribution of all classes (``shrink_to_pooled``).
"""

from __future__ import annotations

import math

import numpy as np


def project_nonnegative(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``v`` onto the non-negative vectors with the row's own total.

    The total of a noisy row is an unbiased estimate of the true total; a row whose total is
    not positive becomes all zero. Duchi et al. (2008), projection onto the simplex, by sorting.
    """
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    total = np.maximum(v.sum(axis=1), 0.0)  # [R]
    u = -np.sort(-v, axis=1)  # descending
    css = np.cumsum(u, axis=1) - total[:, None]
    ks = np.arange(1, v.shape[1] + 1)
    cond = u - css / ks > 0
    rho = v.shape[1] - 1 - np.argmax(cond[:, ::-1], axis=1)  # last index where cond holds
    theta = css[np.arange(v.shape[0]), rho] / (rho + 1)
    out = np.maximum(v - theta[:, None], 0.0)
    out[total <= 0] = 0.0
    return out


def shrink_to_pooled(counts: np.ndarray, *, noise: float) -> np.ndarray:
    """Pull each class's row of ``counts`` ``[K, cells]`` toward the pooled distribution of all classes.

    ``p(x | k) = (c_kx + tau * p(x)) / (n_k + tau)`` with ``tau = noise * sqrt(cells)``, the size of
    the noise vector on one row: a class with many rows keeps its own shape, a class with few
    (whose noisy shape is mostly noise) borrows the pooled one, whose noise is averaged over
    ``K`` rows. Rows keep their totals. Post-processing of released counts (Dirichlet-smoothing
    toward a pooled mean, as in empirical-Bayes estimators of many small histograms).
    """
    counts = np.asarray(counts, dtype=np.float64)
    pooled = counts.sum(axis=0)
    if pooled.sum() <= 0 or noise <= 0:
        return counts
    p = pooled / pooled.sum()
    tau = noise * math.sqrt(counts.shape[1])
    n = counts.sum(axis=1, keepdims=True)  # [K, 1]
    shrunk = (counts + tau * p[None, :]) / (n + tau)
    return shrunk * n
