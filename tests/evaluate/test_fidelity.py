"""Fidelity metrics on cases with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from traumasynth.evaluate import fidelity


def test_identical_tables_have_zero_distances(sim_spec, real_train):
    same = real_train.copy()
    wass = fidelity.wasserstein_table(real_train, same, spec=sim_spec)
    assert set(wass["column"]) >= {"age", "sbp", "length_of_stay_h"}
    assert np.allclose(wass[["wasserstein_scaled", "wasserstein_raw"]].to_numpy(), 0.0)
    assert np.allclose(fidelity.tvd_table(real_train, same, spec=sim_spec)["tvd"], 0.0)
    assert fidelity.association_difference(real_train, same, spec=sim_spec) == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(fidelity.missingness_table(real_train, same, spec=sim_spec)["missing_diff"], 0.0)


def test_shift_in_years_is_measured_in_raw_and_spec_units(sim_spec, real_train):
    shifted = real_train.copy()
    shifted["age"] = (shifted["age"] + 10).clip(upper=105).astype("Int64")
    wass = fidelity.wasserstein_table(real_train, shifted, spec=sim_spec).set_index("column")
    raw = wass.loc["age", "wasserstein_raw"]
    assert 8.0 < raw <= 10.0  # 10 years, less what clipping at 105 takes off
    assert wass.loc["age", "wasserstein_scaled"] == pytest.approx(raw / 105.0)  # bounds 0..105, no transform
    assert wass.loc["sbp", "wasserstein_raw"] == 0.0


def test_shifted_table_is_farther_than_a_fresh_sample(sim_spec, real_train, synthetic):
    fresh = fidelity.wasserstein_table(real_train, synthetic, spec=sim_spec).set_index("column")
    shifted = synthetic.copy()
    shifted["sbp"] = (shifted["sbp"] + 30).clip(upper=250).astype("Int64")
    far = fidelity.wasserstein_table(real_train, shifted, spec=sim_spec).set_index("column")
    assert far.loc["sbp", "wasserstein_scaled"] > 3 * fresh.loc["sbp", "wasserstein_scaled"]


def test_log_transform_is_applied_before_scaling(sim_spec, real_train):
    longer = real_train.copy()
    longer["length_of_stay_h"] = (longer["length_of_stay_h"] * 2).clip(upper=720)
    row = fidelity.wasserstein_table(real_train, longer, spec=sim_spec).set_index("column").loc["length_of_stay_h"]
    # doubling adds at most log(2) on the log1p scale, divided by log1p(720)
    assert 0 < row["wasserstein_scaled"] <= np.log(2) / np.log1p(720) + 1e-9
    assert row["wasserstein_raw"] > 1.0  # hours


def test_tvd_counts_missing_as_a_level(sim_spec, real_train):
    a = real_train.copy()
    b = real_train.copy()
    a["sex"] = "female"
    b["sex"] = ["female", "male"] * (len(b) // 2)
    tvd = fidelity.tvd_table(a, b, spec=sim_spec).set_index("column")["tvd"]
    assert tvd["sex"] == pytest.approx(0.5)
    col = sim_spec.column("alcohol_suspected")
    shares = fidelity.level_shares(pd.DataFrame({"alcohol_suspected": ["yes", None, None, "no"]}), col=col)
    assert shares.tolist() == [0.25, 0.25, 0.0, 0.5]  # yes, no, unknown, __missing__


def test_association_measures_known_values():
    a = np.array([0, 0, 1, 1, 2, 2] * 20)
    assert fidelity.cramers_v(a, a) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert fidelity.cramers_v(rng.integers(0, 3, 5000), rng.integers(0, 4, 5000)) < 0.05
    assert fidelity.correlation_ratio(a, a.astype(float) * 3.0) == pytest.approx(1.0)
    assert fidelity.correlation_ratio(a, np.ones(a.size)) == 0.0


def test_broken_dependence_raises_the_association_difference(sim_spec, real_train, synthetic):
    fresh = fidelity.association_difference(real_train, synthetic, spec=sim_spec)
    shuffled = synthetic.copy()
    rng = np.random.default_rng(0)
    for col in shuffled.columns:  # same marginals, no dependence left
        shuffled[col] = shuffled[col].to_numpy()[rng.permutation(len(shuffled))]
    broken = fidelity.association_difference(real_train, shuffled, spec=sim_spec)
    assert broken > 1.5 * fresh


def test_discriminator_cannot_tell_identical_tables(sim_spec, real_train, encoder):
    auc = fidelity.discriminator_auc(
        real_train, real_train.copy(), encoder=encoder, max_rows=500, cv_folds=3, max_iter=30, seed=0
    )
    assert abs(auc - 0.5) < 0.1


def test_discriminator_spots_a_shifted_table(sim_spec, real_train, encoder):
    shifted = real_train.copy()
    shifted["age"] = (shifted["age"] + 30).clip(upper=105).astype("Int64")
    shifted["sex"] = "male"
    auc = fidelity.discriminator_auc(
        real_train, shifted, encoder=encoder, max_rows=500, cv_folds=3, max_iter=30, seed=0
    )
    assert auc > 0.9


def test_discriminator_ignores_decimals_within_a_grid_cell(sim_spec, real_train, encoder):
    # Values moved within their cell of the public grid (what a generator's decimals do) are not a tell.
    jittered = real_train.copy()
    rng = np.random.default_rng(0)
    # temperature has 32 bins of 0.31 °C over its bounds [32, 42]: a shift of at most 0.001 °C stays in its cell
    jittered["temperature"] = jittered["temperature"] + rng.uniform(-0.001, 0.001, len(jittered))
    auc = fidelity.discriminator_auc(
        real_train, jittered, encoder=encoder, max_rows=500, cv_folds=3, max_iter=30, seed=0
    )
    assert abs(auc - 0.5) < 0.1


def test_discriminator_features_name_the_column_that_gives_rows_away(sim_spec, real_train, encoder):
    shifted = real_train.copy()
    shifted["sex"] = "male"
    features = fidelity.discriminator_features(
        real_train, shifted, encoder=encoder, max_rows=500, max_iter=30, seed=0, top=3
    )
    assert list(features)[0] == "sex" and features["sex"] > 0.2
    assert len(features) == 3
