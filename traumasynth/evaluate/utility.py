"""Utility: does a mechanism classifier trained on synthetic rows work on real patients?

Three training sets, all scored on the real test split:

- ``trtr``: train on real train rows (the reference);
- ``tstr``: train on synthetic rows drawn to the real train's size and class counts;
- ``augmented``: real train rows plus the rare-class synthetic rows of the augment file.

Scores (macro-F1, balanced accuracy, recall per class) come with bootstrap 95 % intervals
over the test rows. Features are the modelled feature columns in the spec's encoding
(datetime columns as their parts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression

from traumasynth.core.errors import DataError
from traumasynth.encoding.table import TableEncoder
from traumasynth.evaluate.features import make_hgb, onehot_matrix, tree_matrix

log = logging.getLogger(__name__)

ClassifierName = Literal["hgb", "logreg"]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap 95 % interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Scores:
    """Scores of one classifier on the test rows.

    Attributes:
        macro_f1: mean F1 over the classes present in the test rows (0..1, higher is better).
        balanced_accuracy: mean recall over those classes (0..1, higher is better).
        recall: recall per class (classes absent from the test rows are left out).
        confusion: counts ``[n_classes, n_classes]``, rows = actual, columns = predicted.
    """

    macro_f1: Interval
    balanced_accuracy: Interval
    recall: dict[str, Interval]
    confusion: np.ndarray


def rare_classes(y: np.ndarray, *, classes: tuple[str, ...], threshold: float) -> list[str]:
    """Classes whose share of ``y`` (class indices) is below ``threshold``, in spec order."""
    shares = np.bincount(y, minlength=len(classes)) / max(len(y), 1)
    return [c for c, share in zip(classes, shares, strict=True) if share < threshold]


def match_class_counts(
    synthetic: pd.DataFrame, *, target: str, counts: dict[str, int], seed: int
) -> tuple[pd.DataFrame, list[str]]:
    """Draw ``counts[c]`` synthetic rows of each class ``c`` (without replacement when enough exist).

    Returns:
        The drawn rows, and the classes the synthetic table lacks entirely (no rows drawn for them).
    """
    rng = np.random.default_rng(seed)
    parts: list[pd.DataFrame] = []
    lacking: list[str] = []
    topped_up: list[str] = []
    labels = synthetic[target].astype(object).to_numpy()
    for cls, n in counts.items():
        if n == 0:
            continue
        pool = np.flatnonzero(labels == cls)
        if pool.size == 0:
            lacking.append(cls)
            continue
        if pool.size < n:
            topped_up.append(f"{cls} ({pool.size} for {n})")
        parts.append(synthetic.iloc[rng.choice(pool, size=n, replace=pool.size < n)])
    if topped_up:
        log.info("TSTR: fewer synthetic rows than real ones, drawn with replacement: %s", ", ".join(topped_up))
    if not parts:
        raise DataError(f"The synthetic table has no rows of any class of '{target}'. Re-run `dvc repro sample`.")
    drawn = pd.concat(parts, ignore_index=True)
    return drawn.iloc[rng.permutation(len(drawn))].reset_index(drop=True), lacking


def fit_predict(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    encoder: TableEncoder,
    classifier: ClassifierName,
    hgb_max_iter: int,
    seed: int,
) -> np.ndarray:
    """Train ``classifier`` on ``train`` and return its class indices for the ``test`` rows."""
    enc_train, enc_test = encoder.encode(train), encoder.encode(test)
    model: ClassifierMixin
    if classifier == "hgb":
        x_train, mask = tree_matrix(enc_train, encoder=encoder)
        x_test, _ = tree_matrix(enc_test, encoder=encoder)
        model = make_hgb(max_iter=hgb_max_iter, seed=seed, categorical_features=mask)
    else:
        x_train, x_test = onehot_matrix(enc_train, encoder=encoder), onehot_matrix(enc_test, encoder=encoder)
        model = LogisticRegression(max_iter=1000, C=1.0)
    model.fit(x_train, enc_train.y)
    return np.asarray(model.predict(x_test), dtype=np.int64)


def _class_scores(cm: np.ndarray, present: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(macro-F1 over ``present`` classes, balanced accuracy, recall per class) from a confusion matrix."""
    tp = np.diag(cm).astype(np.float64)
    actual, predicted = cm.sum(axis=1).astype(np.float64), cm.sum(axis=0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(actual > 0, tp / actual, np.nan)
        f1 = np.where(actual + predicted > 0, 2 * tp / (actual + predicted), 0.0)
    macro_f1 = float(f1[present].mean())
    balanced = float(np.nanmean(recall[present])) if np.any(actual[present] > 0) else float("nan")
    return macro_f1, balanced, recall


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def score_predictions(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    classes: tuple[str, ...],
    n_bootstrap: int,
    seed: int,
) -> Scores:
    """Macro-F1, balanced accuracy and per-class recall with percentile bootstrap 95 % intervals.

    The bootstrap resamples test rows with replacement ``n_bootstrap`` times; the classes
    scored are those present in the full test set, so every resample averages the same ones.
    """
    k = len(classes)
    cm = _confusion(y_true, y_pred, k)
    present = np.flatnonzero(cm.sum(axis=1) > 0)
    f1, bal, recall = _class_scores(cm, present)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_bootstrap, 2 + k))
    for b in range(n_bootstrap):
        idx = rng.integers(0, len(y_true), size=len(y_true))
        bf1, bbal, brec = _class_scores(_confusion(y_true[idx], y_pred[idx], k), present)
        boot[b] = [bf1, bbal, *brec]

    def interval(point: float, column: int) -> Interval:
        values = boot[:, column]
        values = values[~np.isnan(values)]
        if values.size == 0:
            return Interval(point, point, point)
        low, high = np.percentile(values, [2.5, 97.5])
        return Interval(float(point), float(low), float(high))

    return Scores(
        macro_f1=interval(f1, 0),
        balanced_accuracy=interval(bal, 1),
        recall={classes[j]: interval(float(recall[j]), 2 + int(j)) for j in present},
        confusion=cm,
    )


def train_and_score(
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    encoder: TableEncoder,
    classifiers: tuple[ClassifierName, ...],
    hgb_max_iter: int,
    n_bootstrap: int,
    seed: int,
) -> dict[ClassifierName, Scores]:
    """Train each classifier on ``train`` and score it on ``test`` (see ``score_predictions``)."""
    y_test = encoder.encode(test).y
    out: dict[ClassifierName, Scores] = {}
    for name in classifiers:
        y_pred = fit_predict(train, test, encoder=encoder, classifier=name, hgb_max_iter=hgb_max_iter, seed=seed)
        out[name] = score_predictions(y_test, y_pred, classes=encoder.classes, n_bootstrap=n_bootstrap, seed=seed)
    return out
