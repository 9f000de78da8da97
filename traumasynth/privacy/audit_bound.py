"""The ε lower bound of a one-run privacy audit (Steinke, Nasr & Jagielski, NeurIPS 2023).

The audit inserts ``m`` canaries, each independently with probability 1/2, trains once, and
guesses "in" or "out" for ``r`` of them (abstaining on the rest). If training is (ε, δ)-DP,
the number ``W`` of correct guesses is stochastically dominated by a binomial with success
probability ``q = e^ε / (1 + e^ε)`` (randomized response at ε), up to a δ term
(their Theorem 5.2 and the algorithm of their Appendix D):

    P[W >= v] <= P[Binomial(r, q) >= v] + 2 m δ · max_{i = 1..v} P[v - i <= Binomial(r, q) < v] / i

:func:`epsilon_lower_bound` returns the largest ε at which ``v`` observed correct guesses still
have a p-value below ``1 - confidence``: every ε below it is rejected, so the mechanism is not
(ε, δ)-DP for those ε, at that confidence. A lower bound, never a proof of privacy.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from traumasynth.core.errors import ParamsError

_BISECT_STEPS = 60
_EPS_CAP = 64.0  # e^64 / (1 + e^64) rounds to 1: no finite ε is larger in double precision


def audit_p_value(*, m: int, guesses: int, correct: int, epsilon: float, delta: float) -> float:
    """Probability of at least ``correct`` right guesses out of ``guesses`` if the run were (ε, δ)-DP.

    Args:
        m: canaries, each included independently with probability 1/2.
        guesses: guesses made (abstentions excluded), ``0 <= guesses <= m``.
        correct: right guesses among them.
        epsilon, delta: the null hypothesis (ε >= 0, δ in [0, 1]).

    Raises:
        ParamsError: counts or privacy parameters out of range.
    """
    _check_counts(m=m, guesses=guesses, correct=correct)
    if not (epsilon >= 0 and 0 <= delta <= 1):
        raise ParamsError(f"Audit null hypothesis needs ε >= 0 and δ in [0, 1], got ε={epsilon}, δ={delta}.")
    if correct == 0:
        return 1.0
    q = 1.0 / (1.0 + math.exp(-epsilon))  # accuracy of ε-randomized response
    tail = float(stats.binom.sf(correct - 1, guesses, q))  # P[B >= v]
    if delta == 0:
        return min(tail, 1.0)
    # max over i of P[v - i <= B < v] / i: the pmf just below v, cumulated downwards
    below = stats.binom.pmf(np.arange(correct - 1, -1, -1), guesses, q)  # B = v-1, v-2, ..., 0
    alpha = float(np.max(np.cumsum(below) / np.arange(1, correct + 1)))
    return min(tail + 2.0 * m * delta * alpha, 1.0)


def epsilon_lower_bound(*, m: int, guesses: int, correct: int, delta: float, confidence: float = 0.95) -> float:
    """The largest ε that ``correct`` right guesses out of ``guesses`` reject at ``confidence``.

    Bisection on :func:`audit_p_value` (the paper's Appendix D): keeps ``p(eps_low) < 1 - confidence``
    and ``p(eps_high) >= 1 - confidence``. Returns 0 when even ε = 0 is not rejected (guesses at
    chance or too few of them).

    Raises:
        ParamsError: counts out of range, or ``confidence`` outside (0, 1).
    """
    _check_counts(m=m, guesses=guesses, correct=correct)
    if not 0 < confidence < 1:
        raise ParamsError(f"Audit confidence must lie in (0, 1), got {confidence}. A typical value is 0.95.")
    level = 1.0 - confidence

    def rejected(eps: float) -> bool:
        return audit_p_value(m=m, guesses=guesses, correct=correct, epsilon=eps, delta=delta) < level

    if not rejected(0.0):
        return 0.0
    low, high = 0.0, 1.0
    while rejected(high):
        low, high = high, 2.0 * high
        if high > _EPS_CAP:
            return low
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (low + high)
        if rejected(mid):
            low = mid
        else:
            high = mid
    return low


def _check_counts(*, m: int, guesses: int, correct: int) -> None:
    if not 0 <= correct <= guesses <= m:
        raise ParamsError(
            f"Audit counts must satisfy 0 <= correct <= guesses <= m, got correct={correct}, guesses={guesses}, m={m}."
        )
