"""Inter-rater agreement: Krippendorff's alpha (any number of raters, missing ratings
allowed) and Cohen's kappa (two raters).

Both return ``None`` when the statistic is undefined (fewer than two raters, no item
rated by two of them, or no variation at all: alpha and kappa divide by the expected
disagreement, which is then zero). Range: alpha in [-1, 1] (1 = perfect agreement,
0 = chance level; >= 0.667 is Krippendorff's lowest bar for tentative conclusions);
kappa likewise in [-1, 1]. Goal: maximise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

Level = Literal["nominal", "ordinal", "interval"]


def reliability_matrix(
    *, ratings: pd.DataFrame, value: str, rater: str = "reviewer_id", unit: str = "item_id"
) -> pd.DataFrame:
    """Raters x units table of ``value`` (NaN where a rater did not rate a unit)."""
    rated = ratings[ratings[value].notna()]
    return rated.pivot(index=rater, columns=unit, values=value)


def krippendorff_alpha(
    *, ratings: pd.DataFrame, value: str, level: Level, domain: Sequence[object] | None = None
) -> float | None:
    """Krippendorff's alpha of column ``value`` of a long table (``reviewer_id``, ``item_id``, value).

    Args:
        ratings: one row per (reviewer, item); missing values are ignored.
        value: the rated column (numbers for ordinal/interval, labels for nominal).
        level: level of measurement: ``ordinal`` or ``interval`` for Likert scores,
            ``nominal`` for labels.
        domain: all possible values in order (e.g. 1..5), so the ordinal metric knows
            unused categories; default: the values seen.

    Returns:
        alpha, or None when undefined (see module docstring).
    """
    matrix = reliability_matrix(ratings=ratings, value=value)
    if matrix.shape[0] < 2:
        return None
    if level == "nominal":
        # Codes instead of labels: the package wants numbers; order is irrelevant for nominal.
        labels = sorted({v for v in matrix.to_numpy().ravel().tolist() if not pd.isna(v)})
        codes = {v: float(i) for i, v in enumerate(labels)}
        data = matrix.apply(lambda col: col.map(lambda v: codes.get(v, np.nan))).to_numpy(dtype=float)
        dom: list[float] | None = [float(i) for i in range(len(labels))]
    else:
        data = matrix.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        dom = [float(v) for v in domain] if domain is not None else None  # type: ignore[arg-type]
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    values = data[:, pairable]
    if values.size == 0 or len(np.unique(values[~np.isnan(values)])) < 2:
        return None
    result = float(krippendorff.alpha(reliability_data=values, level_of_measurement=level, value_domain=dom))
    return None if math.isnan(result) else result


def cohen_kappa(*, first: Sequence[object], second: Sequence[object]) -> float | None:
    """Cohen's kappa between two raters' labels of the same units (None if undefined)."""
    if len(first) != len(second):
        raise ValueError("cohen_kappa needs two label sequences of the same length")
    if len(first) == 0 or len(set(first) | set(second)) < 2:
        return None
    result = float(cohen_kappa_score(list(first), list(second)))
    return None if math.isnan(result) else result


def pairwise_kappa(*, ratings: pd.DataFrame, value: str) -> dict[str, dict[str, object]]:
    """Cohen's kappa of ``value`` for each pair of reviewers, on the items both answered.

    Returns:
        ``"<a> vs <b>"`` -> ``{"kappa": float | None, "n_items": int}``.
    """
    matrix = reliability_matrix(ratings=ratings, value=value)
    raters = sorted(matrix.index)
    out: dict[str, dict[str, object]] = {}
    for i, a in enumerate(raters):
        for b in raters[i + 1 :]:
            both = matrix.loc[[a, b]].dropna(axis=1, how="any")
            out[f"{a} vs {b}"] = {
                "kappa": cohen_kappa(first=both.loc[a].tolist(), second=both.loc[b].tolist()),
                "n_items": int(both.shape[1]),
            }
    return out
