"""Spec-driven feature matrices for the evaluation models and distances.

All layouts come from ``traumasynth.encoding.table.TableEncoder`` (spec bounds and category
lists, nothing fitted on data), so the same row gets the same vector whichever table
it comes from:

- ``tree_matrix``: numeric slots in ``[-1, 1]`` plus categorical codes, with a mask of
  the categorical columns, for ``HistGradientBoostingClassifier``.
- ``onehot_matrix``: numeric slots plus one-hot categorical levels, for linear models.
- ``gower_matrix``: a layout whose Euclidean distance divided by ``sqrt(n_columns)`` is an
  RMS Gower distance over the modelled columns (target included), missing being its own value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from traumasynth.encoding.table import MISSING_LEVEL, EncodedTable, TableEncoder

#: HistGradientBoosting handles at most this many levels per categorical feature.
_MAX_TREE_LEVELS = 255


def tree_matrix(
    enc: EncodedTable, *, encoder: TableEncoder, with_target: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Features for gradient-boosted trees.

    Args:
        enc: the encoded table.
        encoder: the encoder that produced ``enc`` (gives the slot sizes).
        with_target: append the target index as one more categorical column
            (for real-vs-synthetic discrimination, where the target is a column like any other).

    Returns:
        ``(X, is_categorical)``: float64 ``[N, n_num + n_cat (+1)]`` and a bool mask. A
        categorical slot with more levels than HistGradientBoosting accepts is kept as an
        ordinal code (mask False).
    """
    blocks = [enc.x_num.astype(np.float64), enc.x_cat.astype(np.float64)]
    sizes = list(encoder.cat_sizes)
    if with_target:
        blocks.append(enc.y.astype(np.float64)[:, None])
        sizes.append(encoder.n_classes)
    mask = np.array([False] * encoder.n_num + [s <= _MAX_TREE_LEVELS for s in sizes], dtype=bool)
    return np.hstack(blocks), mask


#: L2 penalty on the leaf values of every HistGradientBoosting model of the evaluation. Without it
#: (sklearn's default 0) boosting diverged on DP-noisy synthetic tables: on a NEISS synthetic table
#: (AIM, ε = 1) the raw scores reached 1.5e5, the model could not fit its own training rows (macro-F1
#: 0.09) and TSTR read 0.08 where logistic regression read 0.55; with 1.0 the same rows give 0.53.
HGB_L2_REGULARIZATION = 1.0


def make_hgb(*, max_iter: int, seed: int, categorical_features: np.ndarray) -> HistGradientBoostingClassifier:
    """The evaluation's gradient-boosted trees: fixed rounds (no early stopping) and L2-regularised leaves."""
    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        early_stopping=False,
        l2_regularization=HGB_L2_REGULARIZATION,
        categorical_features=categorical_features,
        random_state=seed,
    )


def _one_hot(codes: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((codes.shape[0], size), dtype=np.float64)  # [N, size]
    out[np.arange(codes.shape[0]), codes] = 1.0
    return out


def onehot_matrix(enc: EncodedTable, *, encoder: TableEncoder) -> np.ndarray:
    """Numeric slots (already scaled to ``[-1, 1]`` by spec bounds) plus one-hot categorical levels.

    Returns:
        float64 ``[N, n_num + sum(cat_sizes)]``.
    """
    blocks = [enc.x_num.astype(np.float64)]
    blocks += [_one_hot(enc.x_cat[:, j], size) for j, size in enumerate(encoder.cat_sizes)]
    return np.hstack(blocks)


@dataclass(frozen=True)
class GowerLayout:
    """A mixed-type distance layout: ``euclidean(a, b) / sqrt(n_columns)`` is an RMS Gower distance.

    Attributes:
        matrix: float64 ``[N, d]``.
        n_columns: number of modelled columns (each datetime part counts as one).
    """

    matrix: np.ndarray
    n_columns: int


#: Present values of a nullable numeric lie on a 60-degree arc of the unit circle around
#: "missing" (the origin): present-vs-missing is then exactly 1, present-vs-present is the
#: chord ``2 sin(|dv| pi / 6)``, within 5 % of ``|dv|`` and exactly 1 at ``|dv| = 1``.
_ARC = np.pi / 3


def gower_matrix(enc: EncodedTable, *, encoder: TableEncoder) -> GowerLayout:
    """Embed rows so that the squared Euclidean distance is a sum of per-column terms ``d_j**2``, ``d_j`` in [0, 1].

    ``d_j`` is ``|v - w|`` for a numeric column scaled to ``[0, 1]`` by its spec bounds,
    1 for a categorical mismatch (target included) and 1 for present vs missing; the
    distance ``sqrt(sum d_j**2 / n_columns)`` (an RMS Gower distance, 0..1) is computed with
    fast Euclidean nearest-neighbour search.
    """
    num_pos = {name: i for i, name in enumerate(encoder.num_names)}
    cat_pos = {name: i for i, name in enumerate(encoder.cat_names)}
    unit = (enc.x_num.astype(np.float64) + 1.0) / 2.0  # [N, n_num] in [0, 1]
    blocks: list[np.ndarray] = []
    n_columns = 0
    for col in encoder.spec.feature_columns:
        if col.kind == "categorical":
            continue
        slots = [f"{col.name}.{part}" for part in col.parts or ()] if col.kind == "datetime" else [col.name]
        indicator = cat_pos.get(f"{col.name}.{MISSING_LEVEL}")
        present = ~enc.x_cat[:, indicator].astype(bool) if indicator is not None else None
        for slot in slots:
            n_columns += 1
            j = num_pos[slot]
            if present is None:
                blocks.append(unit[:, j : j + 1])
                continue
            theta = unit[:, j] * _ARC
            blocks.append(np.stack([np.cos(theta) * present, np.sin(theta) * present], axis=1))  # [N, 2]
    for name, j in cat_pos.items():
        if name.endswith(f".{MISSING_LEVEL}"):
            continue  # folded into the numeric column above
        blocks.append(_one_hot(enc.x_cat[:, j], encoder.cat_sizes[j]) * np.sqrt(0.5))
        n_columns += 1
    blocks.append(_one_hot(enc.y, encoder.n_classes) * np.sqrt(0.5))
    n_columns += 1
    return GowerLayout(matrix=np.hstack(blocks), n_columns=n_columns)


def row_keys(df: pd.DataFrame, *, columns: list[str]) -> np.ndarray:
    """One 64-bit hash per row over ``columns``; equal values hash equal whatever their dtype.

    Numbers are compared as float64 and labels as text, missing equal to missing.
    """
    canonical = pd.DataFrame(
        {
            c: (
                pd.to_numeric(df[c]).astype("float64")
                if pd.api.types.is_numeric_dtype(df[c])
                else df[c].astype(object).where(df[c].notna(), None).astype(str)
            )
            for c in columns
        }
    )
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy()
