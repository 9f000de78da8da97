"""Narrative metrics: faithfulness, lexical diversity, and (with real narratives) text utility.

- ``faithfulness_rate``, ``core_faithful_rate``, ``draft_faithfulness_rate`` (before repair):
  from the narrate stage (what the fact checker finds); ``checker_recall`` and
  ``checker_precision`` beside them: the checker's recall and precision for contradictions on
  the dataset's hand-labelled notes
  (``metrics/checker/<dataset>.json``, see docs/narratives.md), so a reader knows how many
  contradictions the faithfulness rate cannot see.
- ``unsupported_rate`` (share of notes stating a number, date, time or code their row does not
  hold, minimise) and ``loop_rate`` (share of notes repeating a phrase over and over, minimise):
  from the narrate stage, or counted from the narratives file's ``unsupported`` and ``loop``
  columns without its metrics; ``fallback_rate`` (share of notes written from the row's facts
  because every candidate failed, minimise) and, from the narrate stage,
  ``unsupported_rate_generated``/``loop_rate_generated`` (the same over every candidate the
  model wrote, before repair and fallback).

- ``distinct_n``: distinct-n, the number of distinct word n-grams over the number of
  n-grams in a corpus (0..1, higher = more varied wording). It falls as a corpus grows,
  so corpora are compared at the same size (``evaluate.text_rows``).
- ``text_classifier_f1``: TF-IDF + logistic regression trained on one corpus's narratives
  and mechanism labels, macro-F1 on real test narratives (text TSTR vs TRTR).
- ``text_discriminator_auc``: cross-validated AUC of TF-IDF + logistic regression telling
  real narratives from synthetic ones (0.5 = indistinguishable).

The text comparisons (TSTR/TRTR, discriminator) need a corpus to learn from: with too few
narratives (fewer than ``cv_folds`` on a side, one mechanism only, or no word in two of them,
as after a few-row test run) they are left out with a warning; faithfulness and distinct-n stay.

Real narratives are only ever read into these models: none is logged or written out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline

from traumasynth.core.errors import DataError
from traumasynth.evaluate.inputs import NARRATIVE_TEXT
from traumasynth.spec import DatasetSpec
from traumasynth.spec.ids import row_ids

_TOKEN = re.compile(r"\w+", re.UNICODE)
log = logging.getLogger(__name__)


def _fit_text_model(model: Pipeline, texts: list[str], labels: list[str]) -> Pipeline:
    """``model`` fitted; a corpus too small for TF-IDF's ``min_df`` is a one-line DataError, not sklearn's."""
    try:
        return model.fit(texts, labels)
    except ValueError as exc:
        if "no terms remain" not in str(exc) and "empty vocabulary" not in str(exc):
            raise
        raise DataError(
            f"The {len(texts)} narratives share no word (TF-IDF keeps words of at least two narratives): too few "
            "to learn from. Narrate more rows (narrate.n_rows)."
        ) from exc


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _TOKEN.findall(text.lower())


def distinct_n(texts: Sequence[str], *, n: int) -> float:
    """Distinct n-grams / all n-grams over the corpus (0 when it has no n-gram)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = tokenize(text)
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def _text_pipeline(*, max_features: int, seed: int) -> Pipeline:
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=max_features, sublinear_tf=True),
        LogisticRegression(max_iter=1000, C=4.0, random_state=seed),
    )


def text_classifier_f1(
    *,
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    max_features: int,
    seed: int,
) -> float:
    """Macro-F1 on ``test`` of TF-IDF + logistic regression fitted on ``train`` (classes of the test rows).

    Raises:
        DataError: the training corpus has fewer than two classes.
    """
    if len(set(train_labels)) < 2:
        raise DataError(
            "The narrative classifier needs training narratives of at least two mechanisms. "
            "Narrate more rows (narrate section of params.yaml)."
        )
    model = _fit_text_model(_text_pipeline(max_features=max_features, seed=seed), list(train_texts), list(train_labels))
    predicted = model.predict(list(test_texts))
    labels = sorted(set(test_labels))
    return float(f1_score(list(test_labels), predicted, labels=labels, average="macro", zero_division=0))


def text_discriminator_auc(
    *, real_texts: Sequence[str], synthetic_texts: Sequence[str], cv_folds: int, max_features: int, seed: int
) -> float:
    """Cross-validated AUC of TF-IDF + logistic regression separating real from synthetic narratives.

    Both corpora are cut to the size of the smaller one. Identical texts share a fold, so a
    copied narrative cannot push the AUC below 0.5.

    Raises:
        DataError: fewer narratives than ``cv_folds`` on one side.
    """
    n = min(len(real_texts), len(synthetic_texts))
    if n < cv_folds:
        raise DataError(
            f"The narrative discriminator needs at least {cv_folds} narratives per side, got {len(real_texts)} real "
            f"and {len(synthetic_texts)} synthetic. Narrate more rows or lower evaluate.cv_folds."
        )
    rng = np.random.default_rng(seed)
    real = [real_texts[i] for i in rng.choice(len(real_texts), size=n, replace=False)]
    synth = [synthetic_texts[i] for i in rng.choice(len(synthetic_texts), size=n, replace=False)]
    y = np.r_[np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)]
    texts = real + synth
    groups = pd.Series(texts).astype("category").cat.codes.to_numpy()
    folds = StratifiedGroupKFold(n_splits=cv_folds, shuffle=True, random_state=seed)
    model = _text_pipeline(max_features=max_features, seed=seed)
    try:
        proba = cross_val_predict(model, texts, y, groups=groups, cv=folds, method="predict_proba")[:, 1]
    except ValueError as exc:  # a fold's corpus too small for TF-IDF, or fewer distinct texts than folds
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"The narrative discriminator cannot be cross-validated on {n} narratives per side ({reason}). "
            "Narrate more rows (narrate.n_rows)."
        ) from exc
    return float(roc_auc_score(y, proba))


def _faithfulness(narratives: pd.DataFrame, narrate_metrics: dict[str, Any] | None) -> dict[str, float]:
    """Faithfulness figures of the narrate stage; without its metrics file, the file's own columns."""
    if narrate_metrics is not None:
        keys = (
            "faithfulness_rate",
            "core_faithful_rate",
            "draft_faithfulness_rate",
            "unsupported_rate",
            "loop_rate",
            "fallback_rate",
            "unsupported_rate_generated",
            "loop_rate_generated",
        )
        return {k: float(v) for k in keys if isinstance(v := narrate_metrics.get(k), int | float)}
    out: dict[str, float] = {}
    if "faithfulness" in narratives.columns:
        mean = pd.to_numeric(narratives["faithfulness"].astype("float64")).mean()
        if not np.isnan(mean):
            out["faithfulness_rate"] = float(mean)
    if "unsupported" in narratives.columns and "loop" in narratives.columns:
        checked = narratives["unsupported"].map(lambda v: v is not None)
        if checked.any():
            out["unsupported_rate"] = float(narratives["unsupported"][checked].map(len).gt(0).mean())
            out["loop_rate"] = float(narratives["loop"][checked].map(bool).mean())
    if "fallback" in narratives.columns and len(narratives):
        out["fallback_rate"] = float(narratives["fallback"].astype(bool).mean())
    return out


def _checker_quality(checker_metrics: dict[str, Any] | None) -> dict[str, float]:
    """The fact checker's measured recall and precision, when the dataset has a labelled set."""
    if checker_metrics is None:
        return {}
    keys = {"checker_recall": "recall", "checker_precision": "precision"}
    return {k: float(v) for k, src in keys.items() if isinstance(v := checker_metrics.get(src), int | float)}


def narrative_metrics(
    *,
    narratives: pd.DataFrame,
    narrate_metrics: dict[str, Any] | None,
    synthetic: pd.DataFrame,
    real_train: pd.DataFrame,
    real_test: pd.DataFrame,
    spec: DatasetSpec,
    id_column: str,
    text_rows: int,
    max_features: int,
    cv_folds: int,
    seed: int,
    checker_metrics: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Faithfulness (and the checker's measured recall), distinct-1/2 and, with real narratives, text TSTR/TRTR.

    Synthetic narratives get their mechanism label from the synthetic table, joined on the
    row id (``id_column`` of ``narratives``; see ``traumasynth.spec.ids``). The text TRTR
    classifier is trained on as many real train narratives as there are synthetic ones (at
    most ``text_rows``), so both see corpora of the same size.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {"rows": len(narratives)}
    out.update(_faithfulness(narratives, narrate_metrics))
    out.update(_checker_quality(checker_metrics))
    target = spec.target.name
    if narratives[id_column].duplicated().any():
        raise DataError(
            f"The narratives file repeats row ids in '{id_column}' ({int(narratives[id_column].duplicated().sum())} "
            "duplicates). Re-run the narrate stage."
        )
    labels = pd.DataFrame({"_id": row_ids(synthetic, spec), target: synthetic[target].to_numpy()})
    texts = pd.DataFrame(
        {"_id": narratives[id_column].astype(str).to_numpy(), NARRATIVE_TEXT: narratives[NARRATIVE_TEXT].to_numpy()}
    )
    labelled = texts.merge(labels, on="_id", how="inner")
    labelled = labelled[labelled[NARRATIVE_TEXT].notna()]
    labelled = labelled[labelled[NARRATIVE_TEXT].astype(str).str.strip() != ""]
    if len(labelled) > text_rows:
        labelled = labelled.iloc[np.sort(rng.choice(len(labelled), size=text_rows, replace=False))]
    synth_texts = labelled[NARRATIVE_TEXT].astype(str).tolist()
    if not synth_texts:
        raise DataError(
            "No narrative matches a synthetic row id. Re-run the narrate stage on the current synthetic table."
        )
    out["distinct_1"] = distinct_n(synth_texts, n=1)
    out["distinct_2"] = distinct_n(synth_texts, n=2)
    real_col = spec.narrative_column
    if real_col is None or real_col.name not in real_train.columns:
        return out
    try:
        out.update(
            _text_comparison(
                synth_texts=synth_texts, synth_labels=labelled[target].astype(str).tolist(), real_train=real_train,
                real_test=real_test, text=real_col.name, target=target, max_features=max_features,
                cv_folds=cv_folds, rng=rng, seed=seed,
            )
        )  # fmt: skip
    except DataError as exc:
        log.warning("Text TSTR/TRTR and discriminator left out: %s", exc)
    return out


def _text_comparison(
    *,
    synth_texts: list[str],
    synth_labels: list[str],
    real_train: pd.DataFrame,
    real_test: pd.DataFrame,
    text: str,
    target: str,
    max_features: int,
    cv_folds: int,
    rng: np.random.Generator,
    seed: int,
) -> dict[str, float]:
    """Text TSTR/TRTR and the discriminator against the real narratives of column ``text``.

    Raises:
        DataError: too few narratives (or mechanisms, or shared words) to learn from.
    """
    out: dict[str, float] = {}
    train_real = real_train[real_train[text].notna()]
    test_real = real_test[real_test[text].notna()]
    n_train = min(len(train_real), len(synth_texts))
    train_real = train_real.iloc[np.sort(rng.choice(len(train_real), size=n_train, replace=False))]
    real_texts = train_real[text].astype(str).tolist()
    test_texts, test_labels = test_real[text].astype(str).tolist(), test_real[target].astype(str).tolist()
    out["real_distinct_2"] = distinct_n(real_texts, n=2)
    common = {"test_texts": test_texts, "test_labels": test_labels, "max_features": max_features, "seed": seed}
    out["text_tstr_macro_f1"] = text_classifier_f1(train_texts=synth_texts, train_labels=synth_labels, **common)
    out["text_trtr_macro_f1"] = text_classifier_f1(
        train_texts=real_texts, train_labels=train_real[target].astype(str).tolist(), **common
    )
    if out["text_trtr_macro_f1"] > 0:
        out["text_tstr_trtr_ratio"] = out["text_tstr_macro_f1"] / out["text_trtr_macro_f1"]
    out["text_discriminator_auc"] = text_discriminator_auc(
        real_texts=real_texts, synthetic_texts=synth_texts, cv_folds=cv_folds, max_features=max_features, seed=seed
    )
    return out
