"""How many rows of each class to draw: a DP noisy histogram of the training labels, then a plan.

The histogram's noise is set by the training stage's budget plan and drawn from a generator
keyed by the custodian's secret (``histogram_rng``); every plan is post-processing of it.
"""

from __future__ import annotations

import logging
import secrets

import numpy as np
import pandas as pd

from traumasynth.core.errors import DataError, ParamsError, SchemaError
from traumasynth.privacy.histogram import HistogramRelease, gaussian_histogram
from traumasynth.privacy.keys import keyed_rng
from traumasynth.sampling.params import SampleParams
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)


def dp_class_histogram(
    *, labels: pd.Series, spec: DatasetSpec, noise_multiplier: float | None, rng: np.random.Generator
) -> HistogramRelease:
    """DP noisy counts of the training labels, one per class in spec order.

    ``noise_multiplier`` is the budget plan's (``None``: exact counts, for a non-DP reference run).

    Raises:
        SchemaError: a label is not a class of the spec.
        PrivacyBudgetError: invalid ε/δ for the chosen mechanism.
    """
    lookup = {c: i for i, c in enumerate(spec.classes)}
    codes = labels.astype(object).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    unknown = sorted({str(v) for v in labels[codes < 0]})
    if unknown:
        raise SchemaError(
            f"The training labels of '{spec.target.name}' hold values that are not classes of '{spec.name}':",
            [f"{', '.join(unknown[:5])}. Valid classes: {', '.join(spec.classes)}. Rerun `dvc repro prepare`."],
        )
    return gaussian_histogram(codes=codes, n_bins=len(spec.classes), noise_multiplier=noise_multiplier, rng=rng)


def check_counts(*, counts: dict[str, int], spec: DatasetSpec) -> None:
    """Reject unknown classes and negative or non-integer counts, all at once.

    Raises:
        ParamsError: listing every bad entry and the valid classes.
    """
    problems = [
        f"'{name}' is not a class of '{spec.target.name}'. Valid classes: {', '.join(spec.classes)}."
        for name in counts
        if name not in spec.classes
    ]
    problems += [
        f"sample.counts.{name} = {value}: a count must be a whole number >= 0."
        for name, value in counts.items()
        if not isinstance(value, int) or isinstance(value, bool) or value < 0
    ]
    if problems:
        raise ParamsError("Invalid sample.counts:\n  - " + "\n  - ".join(problems))


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` into integers that sum to ``total`` exactly."""
    shares = total * weights / weights.sum()
    base = np.floor(shares).astype(np.int64)
    order = np.argsort(-(shares - base), kind="stable")  # ties: spec order
    base[order[: total - int(base.sum())]] += 1
    return base


#: ``sample.augment_target: null`` tops rare classes up to at least this many rows ...
AUGMENT_TARGET_MIN = 1000


def augment_target(params: SampleParams, *, dp_counts: np.ndarray) -> int:
    """``sample.augment_target``, or for ``null`` half an equal share of the DP total, at least 1000.

    1000 on the default tables (13,000 simulated training rows in 7 classes: 929; NEISS's sample:
    fewer); a registry's rare class, thousands of rows, is topped up to half an equal share instead
    of being left alone. Post-processing of the DP histogram only.
    """
    if params.augment_target is not None:
        return params.augment_target
    total = max(int(dp_counts.sum()), 0)
    return max(AUGMENT_TARGET_MIN, round(total / (2 * max(len(dp_counts), 1))))


def augment_counts(*, dp_counts: np.ndarray, target: int, spec: DatasetSpec) -> dict[str, int]:
    """Top-up rows per rare class: ``target - dp_count`` for every class whose DP count is below ``target``."""
    return {c: int(target - n) for c, n in zip(spec.classes, dp_counts, strict=True) if n < target}


def plan_class_counts(*, params: SampleParams, spec: DatasetSpec, dp_counts: np.ndarray) -> dict[str, int]:
    """Rows per class of the main file for ``params.strategy`` (classes in spec order).

    Args:
        params: section ``sample``.
        spec: the dataset specification (its classes).
        dp_counts: the DP class histogram of the training labels (post-processing only).

    Raises:
        ParamsError: a size of 0 or less, bad ``counts``, or nothing to draw.
        DataError: the DP histogram is all zero where the strategy needs it.
    """
    classes = spec.classes
    if params.n_rows is not None and params.n_rows <= 0:
        raise ParamsError(
            f"sample.n_rows = {params.n_rows}: the synthetic table needs at least one row. "
            "Set a positive number, or null for the DP estimate of the training size."
        )
    if params.strategy == "counts" or params.counts:
        check_counts(counts=params.counts, spec=spec)
    dp_total = int(dp_counts.sum())
    if params.strategy in ("counts", "augment") and params.n_rows is not None:
        logger.info("sample.n_rows is not used by strategy `%s` (its counts set the size)", params.strategy)
    if params.strategy == "counts":
        plan = {c: int(params.counts.get(c, 0)) for c in classes}
        if sum(plan.values()) == 0:
            raise ParamsError(
                "sample.strategy is `counts` but sample.counts asks for 0 rows in total. "
                "Give at least one class a positive count, e.g. {self_harm: 1000}."
            )
        return plan
    if params.strategy == "augment":
        target = augment_target(params, dp_counts=dp_counts)
        plan = {c: 0 for c in classes} | augment_counts(dp_counts=dp_counts, target=target, spec=spec)
        if sum(plan.values()) == 0:
            raise ParamsError(
                f"sample.strategy is `augment` but every class already has at least sample.augment_target = "
                f"{target} rows (DP counts), so there is nothing to top up: 0 rows. "
                "Raise sample.augment_target or choose another strategy."
            )
        return plan
    n_rows = params.n_rows if params.n_rows is not None else dp_total
    if n_rows <= 0:
        raise DataError(
            "The DP class histogram of the training labels sums to 0, so it gives no training size to match. "
            "Set sample.n_rows, raise train_dp_tabular.histogram_share, "
            "or check that data/prepared/train.parquet has rows."
        )
    if params.strategy == "balanced":
        sizes = _largest_remainder(n_rows, np.ones(len(classes)))
    else:  # match
        if dp_total <= 0:
            raise DataError(
                "The DP class histogram of the training labels is all zero: there is no class mix to match. "
                "Raise train_dp_tabular.histogram_share or use strategy `balanced` or `counts`."
            )
        sizes = _largest_remainder(n_rows, dp_counts.astype(np.float64))
    return {c: int(k) for c, k in zip(classes, sizes, strict=True)}


def histogram_rng(*, params: SampleParams, seed: int) -> np.random.Generator:
    """The generator of the histogram noise: keyed by the custodian's secret (``traumasynth.privacy.keys``;
    reproducible with the same key) or, with ``secure_noise``, the OS CSPRNG (not reproducible)."""
    if params.secure_noise:
        return np.random.default_rng(secrets.randbits(128))
    return keyed_rng("class histogram", seed)
