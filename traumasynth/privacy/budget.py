"""The end-to-end privacy budget: training (DP-SGD) composed with the sampling stage's DP histogram.

Both mechanisms read the same private training rows, so their costs add up. Two valid
bounds are computed and the smaller ε is reported (the minimum of two valid upper
bounds on the same mechanism's privacy loss is itself valid):

1. **Basic sequential composition** (Dwork & Roth 2014, Thm 3.16), always available:
   ``eps_total = eps_train + eps_hist`` and ``delta_total = delta_train + delta_hist``.
2. **Rényi-DP composition**, when the training metrics record the DP-SGD parameters
   (``noise_multiplier``, ``sample_rate``, ``steps``, as ``traumasynth.privacy.dp``
   writes them): the RDP curve of the Poisson-subsampled Gaussian steps (Opacus'
   ``compute_rdp``) is added order by order to the histogram's RDP curve
   (``HistogramRelease.rdp``), then converted to ``(eps, delta_train)`` with Opacus'
   ``get_privacy_spent``: the histogram's own δ is not spent, its whole privacy curve is
   accounted for. RDP composes the two Gaussian-type mechanisms without paying
   for both tails separately, so a small histogram ε adds much less than itself.
3. **PRV composition** (Gopi et al. 2021, Opacus' ``PRVAccountant``), when the histogram
   is ``gaussian`` and the DP-SGD parameters are recorded: a Gaussian histogram of L2
   sensitivity ``sqrt(k)`` and noise ``sigma`` is the Gaussian mechanism with noise
   multiplier ``sigma / sqrt(k)`` and sampling rate 1, so it joins the accountant's
   history as one more (heterogeneous) step; the numerical upper bound on ε at
   ``delta_train`` is used.

The reported pair is the one with the smallest ε; the RDP and PRV pairs also have the
smaller δ (``delta_train`` instead of ``delta_train + delta_hist``), so they dominate
the basic pair whenever their ε is smaller.

A non-DP training run (``epsilon`` null) has no finite guarantee: the total is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from opacus.accountants import create_accountant
from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent

from traumasynth.errors import DataError
from traumasynth.privacy.histogram import HistogramRelease

#: Rényi orders searched: Opacus' RDP accountant grid, extended to large orders because
#: a weakly noised histogram composed with a large-ε run can be tightest there.
RDP_ORDERS: tuple[float, ...] = tuple(
    [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [64, 80, 96, 128, 192, 256, 384, 512, 1024]
)


@dataclass(frozen=True)
class TrainPrivacy:
    """The privacy a training run spent, as read from ``metrics/train_<model>.json``.

    Attributes:
        epsilon: ε read back from the accountant, ``None`` for a non-DP run.
        delta: δ of the run, ``None`` for a non-DP run.
        noise_multiplier: DP-SGD noise multiplier (``None`` if not recorded).
        sample_rate: Poisson sampling rate ``q``.
        steps: number of noisy steps.
    """

    epsilon: float | None
    delta: float | None
    noise_multiplier: float | None = None
    sample_rate: float | None = None
    steps: int | None = None

    @property
    def has_rdp_parameters(self) -> bool:
        return (
            self.noise_multiplier is not None
            and self.noise_multiplier > 0
            and self.sample_rate is not None
            and 0 < self.sample_rate <= 1
            and self.steps is not None
            and self.steps > 0
        )

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, Any], *, source: str = "training metrics") -> TrainPrivacy:
        """Read the privacy keys of a training metrics file.

        Raises:
            DataError: ``epsilon`` is missing, or a DP run has no ``delta``.
        """
        if "epsilon" not in metrics:
            raise DataError(
                f"The {source} have no 'epsilon' key (null for a non-DP run). "
                "Rerun training with this version: dvc repro train_dp_tabular"
            )
        eps = metrics["epsilon"]
        if eps is None:
            return cls(epsilon=None, delta=None)
        delta = metrics.get("delta")
        if delta is None:
            raise DataError(f"The {source} report epsilon={eps} but no 'delta'. Rerun: dvc repro train_dp_tabular")
        steps = metrics.get("steps")
        return cls(
            epsilon=float(eps),
            delta=float(delta),
            noise_multiplier=_float_or_none(metrics.get("noise_multiplier")),
            sample_rate=_float_or_none(metrics.get("sample_rate")),
            steps=int(steps) if steps is not None else None,
        )


@dataclass(frozen=True)
class ComposedBudget:
    """The end-to-end guarantee of a synthetic table.

    Attributes:
        epsilon: total ε (``None`` when training was not DP).
        delta: total δ (``None`` when training was not DP).
        composition: which rule gave ``epsilon``, in words (written to the metrics).
        epsilon_basic: the basic-composition bound, for comparison.
        epsilon_rdp: the RDP bound, ``None`` when it could not be computed.
        epsilon_prv: the PRV bound, ``None`` when it could not be computed.
    """

    epsilon: float | None
    delta: float | None
    composition: str
    epsilon_basic: float | None
    epsilon_rdp: float | None
    epsilon_prv: float | None = None


def basic_composition(costs: list[tuple[float, float]]) -> tuple[float, float]:
    """Sequential composition: ε's add, δ's add."""
    return float(sum(e for e, _ in costs)), float(sum(d for _, d in costs))


def rdp_composition(*, train: TrainPrivacy, histogram: HistogramRelease, delta: float) -> float:
    """ε at ``delta`` of DP-SGD then the histogram, composed in Rényi DP.

    Raises:
        DataError: the training run did not record its DP-SGD parameters.
    """
    if not train.has_rdp_parameters:
        raise DataError("The training metrics lack noise_multiplier / sample_rate / steps: cannot compose in RDP.")
    orders = np.asarray(RDP_ORDERS)
    rdp_train = np.asarray(
        compute_rdp(
            q=float(train.sample_rate),  # type: ignore[arg-type]
            noise_multiplier=float(train.noise_multiplier),  # type: ignore[arg-type]
            steps=int(train.steps),  # type: ignore[arg-type]
            orders=list(orders),
        )
    )
    eps, _ = get_privacy_spent(orders=list(orders), rdp=list(rdp_train + histogram.rdp(orders)), delta=delta)
    return float(eps)


def prv_composition(*, train: TrainPrivacy, histogram: HistogramRelease, delta: float) -> float:
    """ε at ``delta`` (upper bound) of DP-SGD then a Gaussian histogram, composed with Opacus' PRV accountant.

    Raises:
        DataError: the training run did not record its DP-SGD parameters, or the histogram is not Gaussian.
    """
    if not train.has_rdp_parameters or histogram.mechanism != "gaussian":
        raise DataError("PRV composition needs the DP-SGD parameters and a Gaussian histogram.")
    accountant = create_accountant(mechanism="prv")
    accountant.history = [
        (float(train.noise_multiplier), float(train.sample_rate), int(train.steps)),  # type: ignore[arg-type]
        (histogram.noise_scale / math.sqrt(histogram.sensitivity), 1.0, 1),
    ]
    # Sampling rate 1 makes Opacus evaluate log(1 - q) = -inf, the intended limit (no subsampling).
    with np.errstate(divide="ignore"):
        return float(accountant.get_epsilon(delta=delta))


def compose_budget(*, train: TrainPrivacy, histogram: HistogramRelease) -> ComposedBudget:
    """The total (ε, δ) of a trained model plus the sampling stage's DP histogram.

    Returns the smallest of the basic, RDP and PRV bounds at the same total δ, and says
    which one in ``composition``.
    """
    if train.epsilon is None or train.delta is None:
        return ComposedBudget(
            epsilon=None,
            delta=None,
            composition=(
                "none: training was not differentially private, so the synthetic table has no finite guarantee "
                f"(the class histogram alone is ({histogram.epsilon:g}, {histogram.delta:g})-DP)"
            ),
            epsilon_basic=None,
            epsilon_rdp=None,
        )
    eps_basic, delta_basic = basic_composition([(train.epsilon, train.delta), (histogram.epsilon, histogram.delta)])
    bounds = {"basic": eps_basic}
    if train.has_rdp_parameters:
        bounds["rdp"] = rdp_composition(train=train, histogram=histogram, delta=train.delta)
        if histogram.mechanism == "gaussian":
            bounds["prv"] = prv_composition(train=train, histogram=histogram, delta=train.delta)
    finite = {name: eps for name, eps in bounds.items() if math.isfinite(eps)}
    best = min(finite, key=lambda name: (finite[name], name != "basic"))  # ties go to the simplest rule
    others = ", ".join(f"{name} {eps:.4f}" for name, eps in sorted(bounds.items()) if name != best)
    rule = _RULES[best].format(mechanism=histogram.mechanism)
    if others:
        rule += f"; the smallest of the valid bounds (others: {others})"
    return ComposedBudget(
        epsilon=finite[best],
        delta=delta_basic if best == "basic" else train.delta,
        composition=rule,
        epsilon_basic=eps_basic,
        epsilon_rdp=bounds.get("rdp"),
        epsilon_prv=bounds.get("prv"),
    )


_RULES = {
    "basic": "basic sequential composition: epsilon_total = epsilon_train + epsilon_histogram, deltas add",
    "rdp": (
        "rdp: Renyi-DP composition of the DP-SGD steps (subsampled Gaussian) and the {mechanism} class "
        "histogram, converted at delta_total = delta_train"
    ),
    "prv": (
        "prv: PRV-accountant composition of the DP-SGD steps and the Gaussian class histogram "
        "(one unsubsampled Gaussian step), upper bound at delta_total = delta_train"
    ),
}


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
