"""Plot data for ``dvc plots show``: small CSV files under ``metrics/plots/``.

Each builder returns a frame whose columns are the fields named in the ``plots:`` entries
of ``dvc.yaml`` (templates ``bar_horizontal``, ``confusion``, ``scatter``, ``linear``);
``write_plot`` writes one atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from traumasynth.core.io import atomic_path
from traumasynth.evaluate.fidelity import (
    categorical_columns,
    level_names,
    level_shares,
    numeric_variables,
)
from traumasynth.evaluate.utility import Scores
from traumasynth.spec import DatasetSpec

SETTING_LABELS = {"trtr": "TRTR", "tstr": "TSTR", "augmented": "TRTR+S"}


def write_plot(frame: pd.DataFrame, *, path: Path) -> None:
    """Write ``frame`` as CSV (no index, 6 significant digits) atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def recall_frame(scores: dict[str, Scores], *, classes: tuple[str, ...]) -> pd.DataFrame:
    """Recall per class and training setting: ``label`` ("assault · TSTR"), class, setting, recall, low, high."""
    rows = []
    for cls in classes:
        for setting, s in scores.items():
            if cls in s.recall:
                r = s.recall[cls]
                label = f"{cls} · {SETTING_LABELS.get(setting, setting)}"
                rows.append(
                    {"label": label, "class": cls, "setting": setting, "recall": r.value, "low": r.low, "high": r.high}
                )
    return pd.DataFrame(rows, columns=["label", "class", "setting", "recall", "low", "high"])


def confusion_frame(confusion: np.ndarray, *, classes: tuple[str, ...]) -> pd.DataFrame:
    """One record per test row (``actual``, ``predicted``), as DVC's ``confusion`` template counts them."""
    k = len(classes)
    actual = np.repeat(np.arange(k), confusion.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(k), confusion[i]) for i in range(k)])
    names = np.asarray(classes, dtype=object)
    return pd.DataFrame({"actual": names[actual], "predicted": names[predicted]})


def marginals_frame(real: pd.DataFrame, synthetic: pd.DataFrame, *, spec: DatasetSpec, bins: int) -> pd.DataFrame:
    """Share of rows per level (categoricals) or per bin of the spec bounds (numerics), real vs synthetic.

    A point per (column, level) on a real-vs-synthetic scatter: the diagonal is perfect fidelity.
    Missing values are a level of their own.
    """
    rows = []
    for col in categorical_columns(spec):
        levels = zip(level_names(col), level_shares(real, col=col), level_shares(synthetic, col=col), strict=True)
        for level, r, s in levels:
            rows.append({"column": col.name, "level": level, "real": float(r), "synthetic": float(s)})
    for var in numeric_variables(spec):
        low, high = var.bounds_transformed
        integer = var.part is not None or var.column.kind == "integer"
        n_bins = int(min(bins, high - low + 1)) if integer and var.column.transform == "none" else bins
        edges = np.linspace(low, high, n_bins + 1)
        shares: list[np.ndarray] = []
        for df in (real, synthetic):
            values = var.raw(df)
            if var.column.transform == "log1p":
                values = np.log1p(values)
            present = values[~np.isnan(values)]
            counts, _ = np.histogram(np.clip(present, low, high), bins=edges)
            n = max(len(values), 1)
            shares.append(np.r_[counts / n, (len(values) - present.size) / n])
        labels = [f"[{a:.4g}, {b:.4g})" for a, b in zip(edges[:-1], edges[1:], strict=True)] + ["__missing__"]
        for level, r, s in zip(labels, shares[0], shares[1], strict=True):
            if level == "__missing__" and not var.column.nullable:
                continue
            rows.append({"column": var.name, "level": level, "real": float(r), "synthetic": float(s)})
    return pd.DataFrame(rows, columns=["column", "level", "real", "synthetic"])


def dcr_frame(dcr_synthetic: np.ndarray, dcr_test: np.ndarray, *, points: int) -> pd.DataFrame:
    """Quantile-quantile points of the distances to the closest training row: real test vs synthetic rows.

    On a ``test`` (x) vs ``synthetic`` (y) scatter, points on the diagonal mean synthetic rows
    are as far from the training rows as unseen real rows are; points below it, closer
    (memorisation).
    """
    q = np.linspace(0.0, 1.0, points + 1)
    return pd.DataFrame({"quantile": q, "test": np.quantile(dcr_test, q), "synthetic": np.quantile(dcr_synthetic, q)})
