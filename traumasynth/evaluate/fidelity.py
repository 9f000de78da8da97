"""Fidelity: how closely a synthetic table reproduces the real one, column by column and jointly.

Every metric compares two frames in the spec's form (the modelled columns):

- ``wasserstein_table``: Wasserstein-1 per numeric column (datetime parts included), in raw
  units and on the spec's scale (after the spec transform, divided by the bounds' width,
  so columns are comparable; range 0..1, lower is better).
- ``tvd_table``: total-variation distance per categorical column, missing as its own level
  (0..1, lower is better).
- ``association_difference``: mean absolute difference of the pairwise association
  matrices (Pearson or Spearman for numeric pairs, Cramér's V for categorical pairs,
  correlation ratio for mixed pairs; 0..2 in theory, 0..1 in practice, lower is better).
- ``missingness_table``: per nullable column, |missing rate real - missing rate synthetic|.
- ``discriminator_auc``: cross-validated AUC of a classifier telling real from synthetic
  rows (0.5 = indistinguishable, 1 = trivially told apart). Numeric values of both sides are
  first put on the spec's public grid (one cell per integer value, equal-width bins
  otherwise: ``traumasynth.encoding.grid.numeric_grids``): compared raw, the trees told
  every model from the real rows (AUC 0.99-1.00, AIM included) by decimals alone, since real
  values sit on recording grids (whole years, whole beats per minute) and generated ones do not.
  ``discriminator_features`` names the columns the discriminator relies on.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import rankdata, wasserstein_distance
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

from traumasynth.core.errors import DataError
from traumasynth.encoding.grid import numeric_grids
from traumasynth.encoding.table import MISSING_LEVEL, EncodedTable, TableEncoder
from traumasynth.evaluate.features import make_hgb, tree_matrix
from traumasynth.models.marginals import MarginalsConfig
from traumasynth.spec import DATETIME_PART_BOUNDS, ColumnSpec, DatasetSpec
from traumasynth.spec.constraints import check_constraints

log = logging.getLogger(__name__)

Correlation = Literal["pearson", "spearman"]


@dataclass(frozen=True)
class NumericVariable:
    """One numeric quantity compared between tables: a numeric column or a datetime part.

    Attributes:
        name: ``"age"`` or ``"<datetime column>.<part>"``.
        column: the spec column it comes from.
        part: the datetime part, or None.
    """

    name: str
    column: ColumnSpec
    part: str | None = None

    def raw(self, df: pd.DataFrame) -> np.ndarray:
        """Values in the column's own unit (NaN where missing)."""
        series = df[self.column.name]
        if self.part is None:
            return pd.to_numeric(series).to_numpy(dtype="float64", na_value=np.nan)
        accessor = pd.to_datetime(series).dt
        return getattr(accessor, self.part).to_numpy(dtype="float64", na_value=np.nan)

    def scaled(self, df: pd.DataFrame) -> np.ndarray:
        """Values after the spec transform, divided by the (transformed) bounds' width."""
        values = self.raw(df)
        low, high = self.bounds_transformed
        if self.column.transform == "log1p":
            values = np.log1p(values)
        return values / (high - low) if high > low else np.zeros_like(values)

    @property
    def bounds_transformed(self) -> tuple[float, float]:
        if self.part is None:
            low, high = self.column.numeric_bounds
            if self.column.transform == "log1p":
                return float(np.log1p(low)), float(np.log1p(high))
            return low, high
        if self.part == "year":
            low_d, high_d = self.column.date_bounds
            return float(low_d.year), float(high_d.year)
        low_p, high_p = DATETIME_PART_BOUNDS[self.part]
        return float(low_p), float(high_p)


def numeric_variables(spec: DatasetSpec) -> list[NumericVariable]:
    """The numeric quantities of the modelled columns, in spec order."""
    out: list[NumericVariable] = []
    for col in spec.modelled_columns:
        if col.kind == "datetime":
            out += [NumericVariable(f"{col.name}.{p}", col, p) for p in col.parts or ()]
        elif col.kind in ("integer", "continuous"):
            out.append(NumericVariable(col.name, col))
    return out


def categorical_columns(spec: DatasetSpec) -> list[ColumnSpec]:
    """The categorical modelled columns (target included), in spec order."""
    return [c for c in spec.modelled_columns if c.kind == "categorical"]


def category_codes(df: pd.DataFrame, *, col: ColumnSpec) -> np.ndarray:
    """Index of each value in the spec's categories; missing (or unknown) is the last level."""
    levels = list(col.categories or ())
    codes = pd.Categorical(df[col.name].astype(object), categories=levels).codes.astype(np.int64)
    return np.where(codes < 0, len(levels), codes)


def level_names(col: ColumnSpec) -> list[str]:
    """The spec's categories plus the ``__missing__`` level."""
    return [*list(col.categories or ()), MISSING_LEVEL]


def wasserstein_table(real: pd.DataFrame, synthetic: pd.DataFrame, *, spec: DatasetSpec) -> pd.DataFrame:
    """Wasserstein-1 distance per numeric variable, on present values.

    Returns:
        One row per variable: ``column``, ``wasserstein_scaled`` (spec scale, 0..1) and
        ``wasserstein_raw`` (column units); NaN when one side has no present value.
    """
    rows = []
    for var in numeric_variables(spec):
        r_raw, s_raw = var.raw(real), var.raw(synthetic)
        r_sc, s_sc = var.scaled(real), var.scaled(synthetic)
        keep_r, keep_s = ~np.isnan(r_raw), ~np.isnan(s_raw)
        if not keep_r.any() or not keep_s.any():
            rows.append({"column": var.name, "wasserstein_scaled": np.nan, "wasserstein_raw": np.nan})
            continue
        rows.append(
            {
                "column": var.name,
                "wasserstein_scaled": float(wasserstein_distance(r_sc[keep_r], s_sc[keep_s])),
                "wasserstein_raw": float(wasserstein_distance(r_raw[keep_r], s_raw[keep_s])),
            }
        )
    return pd.DataFrame(rows, columns=["column", "wasserstein_scaled", "wasserstein_raw"])


def level_shares(df: pd.DataFrame, *, col: ColumnSpec) -> np.ndarray:
    """Share of each level (spec categories, then missing) in ``df``."""
    counts = np.bincount(category_codes(df, col=col), minlength=len(col.categories or ()) + 1).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def tvd_table(real: pd.DataFrame, synthetic: pd.DataFrame, *, spec: DatasetSpec) -> pd.DataFrame:
    """Total-variation distance ``0.5 * sum |p - q|`` per categorical column (missing is a level)."""
    rows = [
        {
            "column": col.name,
            "tvd": float(0.5 * np.abs(level_shares(real, col=col) - level_shares(synthetic, col=col)).sum()),
        }
        for col in categorical_columns(spec)
    ]
    return pd.DataFrame(rows, columns=["column", "tvd"])


def missingness_table(real: pd.DataFrame, synthetic: pd.DataFrame, *, spec: DatasetSpec) -> pd.DataFrame:
    """Missing rate per nullable modelled column in both tables and their absolute difference."""
    rows = []
    for col in spec.modelled_columns:
        if not col.nullable:
            continue
        r, s = float(real[col.name].isna().mean()), float(synthetic[col.name].isna().mean())
        rows.append({"column": col.name, "missing_real": r, "missing_synthetic": s, "missing_diff": abs(r - s)})
    return pd.DataFrame(rows, columns=["column", "missing_real", "missing_synthetic", "missing_diff"])


# -- associations ---------------------------------------------------------------------------------
def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return 0.0
    x, y = x[keep], y[keep]
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return 0.0
    return _pearson(rankdata(x[keep]), rankdata(y[keep]))


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramér's V of two code vectors (0 = independent, 1 = one determines the other)."""
    _, a_idx = np.unique(a, return_inverse=True)
    _, b_idx = np.unique(b, return_inverse=True)
    r, c = int(a_idx.max()) + 1, int(b_idx.max()) + 1
    if min(r, c) < 2:
        return 0.0
    table = np.bincount(a_idx * c + b_idx, minlength=r * c).reshape(r, c).astype(np.float64)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(r, c) - 1)))


def correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float:
    """Correlation ratio eta of a numeric variable on a categorical one (present values only)."""
    keep = ~np.isnan(values)
    codes, values = codes[keep], values[keep]
    if values.size < 2:
        return 0.0
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return 0.0
    _, idx = np.unique(codes, return_inverse=True)
    counts = np.bincount(idx).astype(np.float64)
    means = np.bincount(idx, weights=values) / counts
    between = float((counts * (means - values.mean()) ** 2).sum())
    return float(np.sqrt(between / total))


def association_matrix(df: pd.DataFrame, *, spec: DatasetSpec, method: Correlation = "spearman") -> pd.DataFrame:
    """Pairwise associations of the modelled columns (datetime parts as numeric variables).

    Numeric pairs use ``method`` (signed, -1..1), categorical pairs Cramér's V and mixed
    pairs the correlation ratio (both 0..1). The diagonal is 1.
    """
    corr = _spearman if method == "spearman" else _pearson
    numeric = {v.name: v.raw(df) for v in numeric_variables(spec)}
    categorical = {c.name: category_codes(df, col=c) for c in categorical_columns(spec)}
    names = list(numeric) + list(categorical)
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for a, b in itertools.combinations(names, 2):
        if a in numeric and b in numeric:
            value = corr(numeric[a], numeric[b])
        elif a in categorical and b in categorical:
            value = cramers_v(categorical[a], categorical[b])
        elif a in categorical:
            value = correlation_ratio(categorical[a], numeric[b])
        else:
            value = correlation_ratio(categorical[b], numeric[a])
        out.loc[a, b] = out.loc[b, a] = value
    return out


def association_difference(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, spec: DatasetSpec, method: Correlation = "spearman"
) -> float:
    """Mean absolute difference of the two association matrices over distinct pairs (lower is better)."""
    a = association_matrix(real, spec=spec, method=method).to_numpy()
    b = association_matrix(synthetic, spec=spec, method=method).to_numpy()
    upper = np.triu_indices_from(a, k=1)
    if upper[0].size == 0:
        return 0.0
    return float(np.abs(a[upper] - b[upper]).mean())


# -- classifier two-sample test ---------------------------------------------------------------------
def grid_matrix(enc: EncodedTable, *, encoder: TableEncoder) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Tree features with every numeric slot replaced by its cell on the spec's public grid.

    Returns ``(X, is_categorical, feature names)``; the target is the last feature.
    """
    grids = numeric_grids(encoder.spec, encoder.num_names, MarginalsConfig())
    x, mask = tree_matrix(enc, encoder=encoder, with_target=True)
    for j, grid in enumerate(grids):
        x[:, j] = grid.index(enc.x_num[:, j])
    names = [*encoder.num_names, *encoder.cat_names, encoder.spec.target.name]
    return x, mask, names


def _paired_sample(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, encoder: TableEncoder, max_rows: int, cv_folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    n = min(len(real), len(synthetic), max_rows)
    if n < cv_folds:
        raise DataError(
            f"The discriminator needs at least {cv_folds} rows per table, got {len(real)} real and "
            f"{len(synthetic)} synthetic. Sample more rows or lower evaluate.cv_folds."
        )
    rng = np.random.default_rng(seed)
    real_s = real.iloc[rng.choice(len(real), size=n, replace=False)]
    synth_s = synthetic.iloc[rng.choice(len(synthetic), size=n, replace=False)]
    x_real, mask, names = grid_matrix(encoder.encode(real_s), encoder=encoder)
    x_synth, _, _ = grid_matrix(encoder.encode(synth_s), encoder=encoder)
    x = np.vstack([x_real, x_synth])
    y = np.r_[np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)]
    # Rows identical on the grid (what the trees see) share a fold, whichever side they come from.
    groups = pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy()
    return x, y, mask, groups, names


def discriminator_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    encoder: TableEncoder,
    max_rows: int,
    cv_folds: int,
    max_iter: int,
    seed: int,
) -> float:
    """Cross-validated AUC of gradient-boosted trees telling real rows from synthetic ones.

    Both tables are subsampled to the same size (at most ``max_rows`` each) and put on the
    public grid (:func:`grid_matrix`), so 0.5 means the classifier cannot tell them apart and
    1.0 that it always can. Rows identical on the grid are kept in the same fold: otherwise a
    synthetic copy of a real row, seen in training with the other label, would push the AUC
    *below* 0.5.

    Raises:
        DataError: a table has fewer rows than ``cv_folds``.
    """
    x, y, mask, groups, _ = _paired_sample(
        real, synthetic, encoder=encoder, max_rows=max_rows, cv_folds=cv_folds, seed=seed
    )
    clf = make_hgb(max_iter=max_iter, seed=seed, categorical_features=mask)
    folds = StratifiedGroupKFold(n_splits=cv_folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(clf, x, y, groups=groups, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, proba))
    log.debug("discriminator AUC %.3f on %d + %d rows", auc, len(y) // 2, len(y) // 2)
    return auc


def discriminator_features(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    encoder: TableEncoder,
    max_rows: int,
    max_iter: int,
    seed: int,
    top: int = 5,
) -> dict[str, float]:
    """The features the discriminator relies on: drop in held-out AUC when each is permuted.

    One split (two thirds to fit, one third to score, identical rows on one side), sklearn's
    permutation importance with 3 repeats; the ``top`` largest drops, largest first.
    """
    x, y, mask, groups, names = _paired_sample(
        real, synthetic, encoder=encoder, max_rows=max_rows, cv_folds=3, seed=seed
    )
    fold = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
    fit_idx, test_idx = next(fold.split(x, y, groups))
    clf = make_hgb(max_iter=max_iter, seed=seed, categorical_features=mask).fit(x[fit_idx], y[fit_idx])
    result = permutation_importance(
        clf, x[test_idx], y[test_idx], scoring="roc_auc", n_repeats=3, random_state=seed, n_jobs=1
    )
    order = np.argsort(-result.importances_mean)[:top]
    return {names[i]: round(float(result.importances_mean[i]), 4) for i in order}


def constraint_fidelity(
    *, sample_metrics: dict[str, Any], synthetic: pd.DataFrame, spec: DatasetSpec
) -> dict[str, float | None]:
    """Share of synthetic rows breaking a clinical rule, before and after ``sample`` enforced them.

    ``constraint_violation_rate`` is the honest figure: the model's rows as it produced them (the
    first draw of ``sample``, read from ``metrics/sample_<model>.json``; ``None`` if that file
    predates the rules). ``constraint_violation_rate_released`` is checked here on the released
    table: 0 when ``sample.enforce_constraints`` is on. Both are ``None`` for a spec without rules.
    Goal: minimise; range 0..1.
    """
    if not spec.constraints:
        return {"constraint_violation_rate": None, "constraint_violation_rate_released": None}
    before = sample_metrics.get("constraint_violation_rate")
    return {
        "constraint_violation_rate": float(before) if isinstance(before, int | float) else None,
        "constraint_violation_rate_released": round(
            float(check_constraints(synthetic, spec.constraints).violation_rate), 6
        ),
    }
