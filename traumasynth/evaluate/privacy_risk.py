"""Empirical privacy risk of a synthetic table, next to the ε and δ it was released under.

The DP guarantee bounds what *any* attack can learn; these checks measure what simple
attacks actually learn, and catch a broken pipeline (copied rows) at once:

- ``closest_distances``: distance to closest record (DCR), an RMS Gower distance on the
  modelled columns (spec-scaled numerics, categorical mismatches, missing as a value; see
  ``traumasynth.evaluate.features.gower_matrix``), 0..1.
  Synthetic rows should be no closer to training rows than unseen test rows are:
  ``dcr_ratio = median DCR(synthetic -> train) / median DCR(test -> train)`` near 1 or
  above is reassuring, well below 1 means memorisation.
- ``membership_auc``: a distance attack: a row is called a training member when a
  synthetic row lies close to it (score = -distance). AUC 0.5 = no leak, 1 = full leak.
- ``exact_match_rate``: share of synthetic rows identical to a training row on every
  modelled column (0 is ideal; discrete tables can have a few genuine coincidences).

These figures are computed on the real rows and are *not* covered by ε: they are for the
data custodian, not for release alongside the synthetic data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from traumasynth.encoding.table import TableEncoder
from traumasynth.evaluate.features import gower_matrix, row_keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrivacyRisk:
    """Distance-based risk figures of one synthetic table (see the module docstring)."""

    dcr_synthetic_median: float
    dcr_test_median: float
    dcr_ratio: float
    dcr_synthetic_p05: float
    mia_auc: float
    exact_match_rate: float
    dcr_synthetic: np.ndarray
    dcr_test: np.ndarray


def _subsample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= n:
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))]


def closest_distances(query: pd.DataFrame, reference: pd.DataFrame, *, encoder: TableEncoder) -> np.ndarray:
    """RMS Gower distance (0..1) from each ``query`` row to its nearest ``reference`` row."""
    q = gower_matrix(encoder.encode(query), encoder=encoder)
    r = gower_matrix(encoder.encode(reference), encoder=encoder)
    nn = NearestNeighbors(n_neighbors=1, metric="euclidean", algorithm="brute", n_jobs=1).fit(r.matrix)
    dist, _ = nn.kneighbors(q.matrix)
    # Euclidean search expands |a|^2 + |b|^2 - 2ab: round-off leaves ~1e-7 where rows are equal.
    nearest = np.where(dist[:, 0] < 1e-6, 0.0, dist[:, 0])
    return nearest / np.sqrt(q.n_columns)


def membership_auc(
    members: pd.DataFrame, non_members: pd.DataFrame, synthetic: pd.DataFrame, *, encoder: TableEncoder
) -> float:
    """AUC of the attack "a row is a member when a synthetic row is close to it" (score = -DCR)."""
    d_in = closest_distances(members, synthetic, encoder=encoder)
    d_out = closest_distances(non_members, synthetic, encoder=encoder)
    y = np.r_[np.ones(d_in.size), np.zeros(d_out.size)]
    return float(roc_auc_score(y, -np.r_[d_in, d_out]))


def exact_match_rate(synthetic: pd.DataFrame, train: pd.DataFrame, *, columns: list[str]) -> float:
    """Share of synthetic rows equal to some training row on every one of ``columns`` (missing equals missing)."""
    if len(synthetic) == 0:
        return 0.0
    train_keys = set(row_keys(train, columns=columns).tolist())
    return float(np.mean([key in train_keys for key in row_keys(synthetic, columns=columns).tolist()]))


def assess_privacy_risk(
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    synthetic: pd.DataFrame,
    encoder: TableEncoder,
    max_rows: int,
    seed: int,
) -> PrivacyRisk:
    """DCR of synthetic and test rows to the training rows, their ratio, the MIA AUC and exact matches.

    Query sets (synthetic, test, members, non-members) are subsampled to ``max_rows``;
    the reference sets (all training rows, all synthetic rows) are kept whole, so a copied
    row is always found.
    """
    rng = np.random.default_rng(seed)
    columns = encoder.columns
    d_synth = closest_distances(_subsample(synthetic, max_rows, rng), train, encoder=encoder)
    d_test = closest_distances(_subsample(test, max_rows, rng), train, encoder=encoder)
    med_s, med_t = float(np.median(d_synth)), float(np.median(d_test))
    if med_t > 0:
        ratio = med_s / med_t
    else:
        mean_t = float(d_test.mean())
        log.warning("median test->train distance is 0 (duplicated rows): dcr_ratio uses means instead")
        ratio = float(d_synth.mean()) / mean_t if mean_t > 0 else 1.0
    n_mia = min(len(train), len(test), max_rows)
    auc = membership_auc(_subsample(train, n_mia, rng), _subsample(test, n_mia, rng), synthetic, encoder=encoder)
    return PrivacyRisk(
        dcr_synthetic_median=med_s,
        dcr_test_median=med_t,
        dcr_ratio=float(ratio),
        dcr_synthetic_p05=float(np.percentile(d_synth, 5)),
        mia_auc=auc,
        exact_match_rate=exact_match_rate(synthetic, train, columns=columns),
        dcr_synthetic=d_synth,
        dcr_test=d_test,
    )
