"""The budget plan: one model's (ε, δ) split among every mechanism that reads the private rows.

A release of a synthesizer reads the training rows through up to three Gaussian mechanisms:

- the **class histogram** of the sampling stage (L2 sensitivity 1),
- the **marginal prior**: class-conditional histograms of every encoded slot, released with
  the Gaussian-DP ``mu`` of one Gaussian release at noise multiplier ``prior_noise`` (L2
  sensitivity ``sqrt(S)`` for ``S`` histograms; spent as a probe then a weighted release,
  which compose to the same ``mu``: ``traumasynth.models.marginals``); the ``marginals``
  model is this release, and the VAE and DDPM offset their logits by it
  (``traumasynth.models.sgd``),
- **DP-SGD** (Poisson-subsampled Gaussian steps), for the networks.

The user sets each model's ε and δ (``train_dp_tabular.epsilon``, ``delta``); a folder of several
models composes to more (:func:`compose_releases`). The plan:

1. finds the noise multiplier ``sigma_total`` of one Gaussian mechanism that spends exactly
   (ε, δ) (analytic Gaussian mechanism, Balle & Wang 2018);
2. gives the histogram and the prior fixed shares of its Gaussian-DP parameter
   ``mu = 1 / sigma`` squared (unsubsampled Gaussians compose exactly: ``mu^2`` adds, Dong,
   Roth & Su 2022): a share ``s`` gets noise multiplier ``sigma_total / sqrt(s)``;
3. without DP-SGD the prior takes what the histogram leaves, and the two compose to exactly
   (ε, δ); with DP-SGD the SGD noise multiplier is found by bisection so that the PRV
   accountant's upper bound on the composition of **all** mechanisms, with the exact sampling
   rate and number of steps the Poisson loader will take, is at most ε.

The plan is computed before any private row is touched (it needs the row count only through
the sampling rate, as every DP-SGD accountant does) and recorded in the training metrics; the
sampling stage reads the histogram's noise from it, so ``epsilon_total`` can never exceed the
target.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from opacus.accountants import create_accountant

from traumasynth.core.errors import PrivacyBudgetError
from traumasynth.privacy.histogram import gaussian_epsilon, gaussian_sigma

#: The accountants that can compose a plan (``train_dp_tabular.accountant``).
Accountant = Literal["prv", "rdp"]

_BISECT_STEPS = 40
#: PRV's numerical upper bound overshoots by up to its error in ε (Opacus' default 0.01); at small ε
#: that would eat the DP-SGD share (0.01 of ε = 0.5 is 2 %), so it is at most this share of ε.
_PRV_EPS_ERROR = 0.01
_PRV_EPS_ERROR_SHARE = 0.005


@dataclass(frozen=True)
class SGDShape:
    """What DP-SGD will do, fixed before training: Poisson rate and number of noisy steps."""

    sample_rate: float
    steps: int

    @classmethod
    def for_loader(cls, *, n_rows: int, batch_size: int, epochs: int) -> SGDShape:
        """Opacus' Poisson loader: ``ceil(n / batch)`` steps per epoch at rate ``1 / ceil(n / batch)``."""
        batches = math.ceil(n_rows / batch_size)
        return cls(sample_rate=1.0 / batches, steps=epochs * batches)


@dataclass(frozen=True)
class BudgetPlan:
    """Noise of every mechanism of one release, and the composed (ε, δ) they spend.

    Attributes:
        epsilon_target: the total ε the user asked for.
        delta: the total δ.
        histogram_noise: noise multiplier (σ / L2 sensitivity) of the class histogram.
        prior_noise: noise multiplier of the marginal prior, ``None`` if there is none.
        sgd_noise: DP-SGD noise multiplier, ``None`` without DP-SGD.
        sgd: sampling rate and steps of DP-SGD, ``None`` without it.
        epsilon: the composed ε of all mechanisms (at most ``epsilon_target``).
        composition: how ``epsilon`` was computed, in words.
    """

    epsilon_target: float
    delta: float
    histogram_noise: float
    prior_noise: float | None
    sgd_noise: float | None
    sgd: SGDShape | None
    epsilon: float
    composition: str

    def to_metrics(self) -> dict[str, Any]:
        """The JSON form (``metrics/train_<model>.json``, key ``budget``)."""
        return {
            "epsilon_target": self.epsilon_target,
            "epsilon_total": round(self.epsilon, 6),
            "delta": self.delta,
            "composition": self.composition,
            "histogram_noise_multiplier": self.histogram_noise,
            "prior_noise_multiplier": self.prior_noise,
            "sgd_noise_multiplier": self.sgd_noise,
            "sgd_sample_rate": None if self.sgd is None else self.sgd.sample_rate,
            "sgd_steps": None if self.sgd is None else self.sgd.steps,
        }

    @classmethod
    def from_metrics(cls, data: dict[str, Any]) -> BudgetPlan:
        """Read back :meth:`to_metrics` (KeyError/TypeError/ValueError on a malformed dict)."""
        rate, steps = data["sgd_sample_rate"], data["sgd_steps"]
        return cls(
            epsilon_target=float(data["epsilon_target"]),
            delta=float(data["delta"]),
            histogram_noise=float(data["histogram_noise_multiplier"]),
            prior_noise=_opt(data["prior_noise_multiplier"]),
            sgd_noise=_opt(data["sgd_noise_multiplier"]),
            sgd=None if rate is None else SGDShape(sample_rate=float(rate), steps=int(steps)),
            epsilon=float(data["epsilon_total"]),
            composition=str(data["composition"]),
        )

    def mechanisms(self) -> list[dict[str, Any]]:
        """Every mechanism of the plan with its noise, for the public privacy card.

        DP-SGD's sampling rate and step count are left out: with the batch size in ``params.yaml``
        they give the training row count to within one batch. They stay in the custodian's
        ``metrics/train_<model>.json``, which the folder's composition reads.
        """
        out = [{"name": "class histogram", "kind": "gaussian", "noise_multiplier": self.histogram_noise}]
        if self.prior_noise is not None:
            out.append({"name": "marginal prior", "kind": "gaussian", "noise_multiplier": self.prior_noise})
        if self.sgd is not None and self.sgd_noise is not None:
            out.append({"name": "DP-SGD", "kind": "subsampled gaussian (Poisson)", "noise_multiplier": self.sgd_noise})
        return out

    def history(self) -> list[tuple[float, float, int]]:
        """Every mechanism as (noise multiplier, sampling rate, steps), as Opacus's accountants read them."""
        out = [(self.histogram_noise, 1.0, 1)] + ([(self.prior_noise, 1.0, 1)] if self.prior_noise is not None else [])
        if self.sgd is not None and self.sgd_noise is not None:
            out.append((self.sgd_noise, self.sgd.sample_rate, self.sgd.steps))
        return out


def compose_releases(plans: list[BudgetPlan]) -> tuple[float, float, str]:
    """(ε, δ) of several releases from the same rows, each with its own independent noise, and the rule used.

    The models of one run read the same rows, each through its own mechanisms with independent noise
    (``traumasynth.privacy.keys.release_seed``), so the folder's guarantee is their composition: δ is
    the sum of the models' δ, and ε the smaller of the basic bound (the models' ε added) and the
    PRV accountant's bound on every mechanism of every model (exact Gaussian composition when no model
    has DP-SGD).
    """
    if len(plans) == 1:
        return plans[0].epsilon, plans[0].delta, plans[0].composition
    delta = sum(p.delta for p in plans)
    basic = sum(p.epsilon for p in plans)
    history = [step for p in plans for step in p.history()]
    if all(rate == 1.0 and steps == 1 for _, rate, steps in history):
        eps, rule = composed_epsilon(delta=delta, gaussians=[noise for noise, _, _ in history])
    else:
        eps, rule = history_epsilon(history=history, delta=delta, target=basic)
    if basic <= eps:
        return basic, delta, "basic: the models' ε and δ add up (each model's noise is its own)"
    return eps, delta, f"every model's mechanisms composed, each with its own noise; {rule}"


def gaussian_mu(noise_multipliers: list[float]) -> float:
    """Gaussian-DP parameter of unsubsampled Gaussian mechanisms composed: ``sqrt(sum 1/sigma^2)``."""
    return math.sqrt(sum(1.0 / s**2 for s in noise_multipliers))


def composed_epsilon(
    *,
    delta: float,
    gaussians: list[float],
    sgd_noise: float | None = None,
    sgd: SGDShape | None = None,
    target: float | None = None,
    accountant: Accountant = "prv",
) -> tuple[float, str]:
    """ε at ``delta`` of unsubsampled Gaussians (noise multipliers) and optional DP-SGD, and the rule used.

    Without DP-SGD the composition is exact (one Gaussian of ``mu = sqrt(sum mu_i^2)``), whatever
    the accountant; with it, ``accountant`` bounds the whole history: ``prv`` the PRV accountant's
    upper bound (Gopi et al. 2021), computed to an error of at most ``0.005 * target`` (0.01 from
    ε = 2 on); ``rdp`` the Rényi-DP bound (Mironov 2017), looser and faster.
    """
    if sgd is None or sgd_noise is None:
        mu = gaussian_mu(gaussians)
        eps = gaussian_epsilon(sigma=1.0 / mu, delta=delta)
        return eps, "exact: unsubsampled Gaussian mechanisms compose to one Gaussian (mu^2 adds), analytic (eps, delta)"
    return history_epsilon(
        history=[(float(sgd_noise), float(sgd.sample_rate), int(sgd.steps))] + [(float(s), 1.0, 1) for s in gaussians],
        delta=delta,
        target=target,
        accountant=accountant,
    )


def history_epsilon(
    *,
    history: list[tuple[float, float, int]],
    delta: float,
    target: float | None = None,
    accountant: Accountant = "prv",
) -> tuple[float, str]:
    """ε at ``delta`` of a history of (noise multiplier, sampling rate, steps), and the rule used."""
    acc = create_accountant(mechanism=accountant)
    acc.history = list(history)
    # Sampling rate 1 makes Opacus evaluate log(1 - q) = -inf, the intended limit; PRV's domain search
    # goes through an RDP bound that warns when its largest order is optimal (the bound is still valid).
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        if accountant == "rdp":
            return float(acc.get_epsilon(delta=delta)), (
                "rdp: Rényi-DP bound on DP-SGD composed with every Gaussian release (one step each)"
            )
        eps_error = min(_PRV_EPS_ERROR, _PRV_EPS_ERROR_SHARE * target) if target else _PRV_EPS_ERROR
        eps = float(acc.get_epsilon(delta=delta, eps_error=eps_error))
    return eps, "prv: PRV-accountant upper bound on DP-SGD composed with every Gaussian release (one step each)"


def plan_budget(
    *,
    epsilon: float,
    delta: float,
    histogram_share: float,
    prior_share: float | None,
    sgd: SGDShape | None,
    accountant: Accountant = "prv",
) -> BudgetPlan:
    """Split one model's (ε, δ) among the class histogram, the marginal prior and DP-SGD.

    Args:
        epsilon: total ε of the release (> 0).
        delta: total δ (in (0, 1)).
        histogram_share: share of ``mu^2`` for the class histogram, in (0, 1).
        prior_share: share for the marginal prior; ``None`` = no prior. Without DP-SGD the prior
            takes ``1 - histogram_share`` whatever is given here.
        sgd: the DP-SGD run's shape, ``None`` for a model without DP-SGD.
        accountant: how DP-SGD is composed with the Gaussian releases (``prv`` or ``rdp``).

    ε and δ come validated from the parameters (``DPSettings``); the Gaussian calibration checks
    its own domain.

    Raises:
        PrivacyBudgetError: shares that leave nothing for DP-SGD.
    """
    if not 0 < histogram_share < 1:
        raise PrivacyBudgetError(
            f"train_dp_tabular.histogram_share must lie in (0, 1), got {histogram_share}. A typical value is 0.02."
        )
    sigma_total = gaussian_sigma(epsilon=epsilon, delta=delta)
    hist = sigma_total / math.sqrt(histogram_share)
    if sgd is None:
        prior = sigma_total / math.sqrt(1.0 - histogram_share) if prior_share is not None else None
        gaussians = [hist] + ([prior] if prior is not None else [])
        eps, rule = composed_epsilon(delta=delta, gaussians=gaussians)
        if eps > epsilon * (1 + 1e-9):  # only the histogram: it spends its share, less than the target
            raise PrivacyBudgetError(f"Budget plan overspends: {eps} > {epsilon}.")  # pragma: no cover
        return BudgetPlan(epsilon, delta, hist, prior, None, None, min(eps, epsilon), rule)
    used = histogram_share + (prior_share or 0.0)
    if prior_share is not None and not 0 < prior_share < 1:
        raise PrivacyBudgetError(f"prior_share must lie in (0, 1), got {prior_share}. Use null for no prior.")
    if used >= 1:
        raise PrivacyBudgetError(
            f"histogram_share + prior_share = {used:g} leaves no budget for DP-SGD. Keep their sum below 1 "
            "(e.g. 0.02 and 0.5)."
        )
    prior = sigma_total / math.sqrt(prior_share) if prior_share is not None else None
    gaussians = [hist] + ([prior] if prior is not None else [])

    def spent(noise: float) -> tuple[float, str]:
        return composed_epsilon(
            delta=delta, gaussians=gaussians, sgd_noise=noise, sgd=sgd, target=epsilon, accountant=accountant
        )

    # The SGD share alone as a single Gaussian would need sigma_total / sqrt(1 - used); subsampling
    # makes DP-SGD cheaper, so search below and above that. ``fit`` is the accountant's answer at ``high``.
    low, high = 0.05, max(1.0, sigma_total / math.sqrt(1.0 - used))
    while (fit := spent(high))[0] > epsilon:
        high *= 2.0
        if high > 1e6:
            raise PrivacyBudgetError(
                f"histogram_share + prior_share = {used:g} leave DP-SGD too little of ε = {epsilon} to fit under "
                "the accountant's bound. Lower prior_share (e.g. 0.8)."
            )
    for _ in range(_BISECT_STEPS):  # ε decreases as the noise grows
        mid = 0.5 * (low + high)
        if (at_mid := spent(mid))[0] > epsilon:
            low = mid
        else:
            high, fit = mid, at_mid
        if high - low < 1e-3 * high:
            break
    eps, rule = fit
    return BudgetPlan(epsilon, delta, hist, prior, high, sgd, eps, rule)


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
