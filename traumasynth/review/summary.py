"""Summarise checked ratings into ``metrics/review.json``; ``run`` is the review ``ingest`` step.

Metrics (direction and range):

- ``by_source.<s>.realism_mean`` / ``coherence_mean``: mean Likert score, 1..5, higher is
  better; a model close to ``real`` is realistic.
- ``by_source.<s>.judged_real_share``: share of guesses "real", 0..1; for a model,
  close to the real rows' share means reviewers cannot tell it apart.
- ``by_source.<s>.flag_share.<flag>``: share of ratings with that flag, 0..1, lower is better.
- ``reviewers.<r>.guess_accuracy``: share of correct real/synthetic guesses, 0..1; near
  0.5 (or the balanced accuracy near 0.5) means synthetic records pass as real.
- ``agreement``: Krippendorff's alpha and Cohen's kappa, -1..1, higher is better
  (see ``traumasynth.review.agreement``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core.io import write_json_atomic
from traumasynth.review.agreement import krippendorff_alpha, pairwise_kappa
from traumasynth.review.form import FLAGS, SCORE_RANGE
from traumasynth.review.ingest import ReviewKey, read_key, read_ratings
from traumasynth.review.items import REAL


def _mean(series: pd.Series) -> float | None:
    s = series.dropna()
    return None if s.empty else round(float(s.astype(float).mean()), 4)


def _sd(series: pd.Series) -> float | None:
    s = series.dropna()
    return None if len(s) < 2 else round(float(s.astype(float).std(ddof=1)), 4)


def _share(mask: pd.Series) -> float | None:
    return None if mask.empty else round(float(mask.mean()), 4)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _by_source(ratings: pd.DataFrame, key: ReviewKey) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in sorted(set(key.sources.values())):
        r = ratings[ratings["source"] == source]
        guessed = r[r["guess"].notna()]
        out[source] = {
            "n_items_on_page": sum(s == source for s in key.sources.values()),
            "n_items_rated": int(r["item_id"].nunique()),
            "n_ratings": len(r),
            "realism_mean": _mean(r["realism"]),
            "realism_sd": _sd(r["realism"]),
            "coherence_mean": _mean(r["coherence"]),
            "coherence_sd": _sd(r["coherence"]),
            "judged_real_share": _share(guessed["guess"] == REAL),
            "flag_share": {f: _share(r["flags"].map(lambda fl, f=f: f in fl)) for f in FLAGS},
        }
    return out


def _reviewers(ratings: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for reviewer, r in ratings.groupby("reviewer_id", sort=True):
        g = r[r["guess"].notna()]
        correct = (g["guess"] == REAL) == (g["source"] == REAL)
        on_real = correct[g["source"] == REAL]
        on_synth = correct[g["source"] != REAL]
        balanced = None if on_real.empty or on_synth.empty else (on_real.mean() + on_synth.mean()) / 2
        out[str(reviewer)] = {
            "n_ratings": len(r),
            "n_guesses": len(g),
            "guess_accuracy": _share(correct),
            "accuracy_on_real": _share(on_real),
            "accuracy_on_synthetic": _share(on_synth),
            "balanced_accuracy": _round(None if balanced is None else float(balanced)),
        }
    return out


def _agreement(ratings: pd.DataFrame) -> dict[str, Any]:
    low, high = SCORE_RANGE
    domain = list(range(low, high + 1))
    out: dict[str, Any] = {}
    for scale in ("realism", "coherence"):
        for level in ("ordinal", "interval"):
            alpha = krippendorff_alpha(ratings=ratings, value=scale, level=level, domain=domain)
            out[f"{scale}_alpha_{level}"] = _round(alpha)
    out["guess_alpha_nominal"] = _round(krippendorff_alpha(ratings=ratings, value="guess", level="nominal"))
    pairs = pairwise_kappa(ratings=ratings, value="guess")
    out["guess_cohen_kappa"] = {k: {**v, "kappa": _round(v["kappa"])} for k, v in pairs.items()}  # type: ignore[arg-type]
    return out


def summarise_ratings(*, ratings: pd.DataFrame, key: ReviewKey) -> dict[str, Any]:
    """The content of ``metrics/review.json``.

    Args:
        ratings: checked ratings from ``read_ratings``.
        key: the page's key.

    Returns:
        ``n_reviewers``, ``n_ratings``, ``by_source``, ``reviewers``, ``agreement``; undefined
        statistics are ``null``.
    """
    return {
        "dataset": key.dataset,
        "review_id": key.review_id,
        "n_items_on_page": len(key.sources),
        "n_reviewers": int(ratings["reviewer_id"].nunique()),
        "n_ratings": len(ratings),
        "by_source": _by_source(ratings, key),
        "reviewers": _reviewers(ratings),
        "agreement": _agreement(ratings),
    }


def run(*, ratings: Sequence[Path], key_path: Path, metrics_path: Path) -> dict[str, Any]:
    """The review ``ingest`` step: check exported ratings against the key and write the review metrics.

    Args:
        ratings: CSV files exported by the review page.
        key_path: the page's key file (``review/key.json``).
        metrics_path: where the summary goes (``metrics/review.json``).

    Returns:
        The summary written to ``metrics_path`` (see :func:`summarise_ratings`).

    Raises:
        ReviewKeyError: the key file is missing or malformed.
        RatingsError: listing every problem of every ratings file; nothing is written then.
    """
    key = read_key(key_path)
    table = read_ratings(paths=ratings, key=key)
    summary = summarise_ratings(ratings=table, key=key)
    write_json_atomic(summary, metrics_path)
    return summary
