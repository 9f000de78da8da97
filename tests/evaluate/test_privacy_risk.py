"""Privacy-risk metrics: a copy of the training rows is flagged, fresh rows are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traumasynth.evaluate.features import gower_matrix
from traumasynth.evaluate.privacy_risk import assess_privacy_risk, closest_distances, exact_match_rate


def test_copy_of_training_rows_is_flagged(real_train, real_test, encoder):
    risk = assess_privacy_risk(
        train=real_train, test=real_test, synthetic=real_train.copy(), encoder=encoder, max_rows=500, seed=0
    )
    assert risk.exact_match_rate == 1.0
    assert risk.dcr_synthetic_median == 0.0
    assert risk.dcr_test_median > 0.0
    assert risk.dcr_ratio == pytest.approx(0.0)
    assert risk.mia_auc > 0.95


def test_fresh_rows_of_the_population_are_not_flagged(real_train, real_test, synthetic, encoder):
    risk = assess_privacy_risk(
        train=real_train, test=real_test, synthetic=synthetic, encoder=encoder, max_rows=500, seed=0
    )
    assert risk.exact_match_rate == 0.0
    assert 0.7 < risk.dcr_ratio < 1.4
    assert abs(risk.mia_auc - 0.5) < 0.1


def test_gower_distance_of_single_differences(sim_spec, real_train, encoder):
    row = real_train.iloc[[0]].copy()
    row["sbp"] = row["sbp"].astype("Int64")
    n_columns = gower_matrix(encoder.encode(row), encoder=encoder).n_columns
    assert n_columns == len(sim_spec.modelled_columns)  # no datetime column in this spec
    other_sex = row.copy()
    other_sex["sex"] = "male" if row["sex"].iloc[0] == "female" else "female"
    unit = np.sqrt(1 / n_columns)  # one column at distance 1, the others equal
    assert closest_distances(other_sex, row, encoder=encoder)[0] == pytest.approx(unit)
    present, missing = row.copy(), row.copy()
    present["sbp"], missing["sbp"] = pd.array([120], dtype="Int64"), pd.array([None], dtype="Int64")
    assert closest_distances(present, missing, encoder=encoder)[0] == pytest.approx(unit)
    lower = present.copy()
    lower["sbp"] = pd.array([99], dtype="Int64")  # 21 mmHg of a 40..250 range
    chord = 2 * np.sin(21 / 210 * np.pi / 6)  # sbp is nullable: a chord of the 60-degree arc
    assert chord == pytest.approx(21 / 210, rel=0.05)
    assert closest_distances(present, lower, encoder=encoder)[0] == pytest.approx(chord * unit)
    older = row.copy()
    older["age"] = pd.array(
        [int(row["age"].iloc[0]) + 21 if row["age"].iloc[0] < 50 else int(row["age"].iloc[0]) - 21], dtype="Int64"
    )
    assert closest_distances(older, row, encoder=encoder)[0] == pytest.approx(21 / 105 * unit)  # not nullable: exact


def test_exact_match_ignores_dtype_differences(real_train):
    as_float = real_train.copy()
    as_float["age"] = as_float["age"].astype("float64")
    assert exact_match_rate(as_float.iloc[:50], real_train, columns=list(real_train.columns)) == 1.0
    changed = as_float.iloc[:50].copy()
    changed["temperature"] = 45.5  # outside every real value
    assert exact_match_rate(changed, real_train, columns=list(real_train.columns)) == 0.0
