"""Tests of the ``ed_trauma_sim`` simulator and its dataset specification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score

from traumasynth.core.errors import ParamsError, SchemaError, SpecError
from traumasynth.datasets.ed_trauma_sim import DEFAULT_SPEC_PATH, simulate
from traumasynth.datasets.ed_trauma_sim_tables import MECHANISM_SHARES, MECHANISMS
from traumasynth.spec import DatasetSpec, load_spec
from traumasynth.spec.schema import validate


@pytest.fixture(scope="module")
def spec() -> DatasetSpec:
    return load_spec(DEFAULT_SPEC_PATH)


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate(n_rows=20_000, seed=7)


def test_spec_lists_the_seven_mechanisms_in_order(spec: DatasetSpec) -> None:
    assert spec.classes == MECHANISMS
    assert spec.reader == "ed_trauma_sim"
    assert spec.id_column is not None and spec.id_column.role == "excluded"
    assert len(spec.modelled_columns) == 25  # 24 features + the target
    assert spec.column("alcohol_suspected").categories == ("yes", "no", "unknown")
    for col in spec.columns:
        if col.kind in ("integer", "continuous"):
            assert col.unit, f"numeric column {col.name} has no unit"


def test_same_seed_gives_the_same_frame_and_another_seed_differs() -> None:
    first = simulate(n_rows=500, seed=3)
    pd.testing.assert_frame_equal(first, simulate(n_rows=500, seed=3))
    other = simulate(n_rows=500, seed=4)
    assert not first.drop(columns="patient_id").equals(other.drop(columns="patient_id"))


def test_frame_is_in_canonical_spec_form(cohort: pd.DataFrame, spec: DatasetSpec) -> None:
    validate(cohort, spec)
    assert list(cohort.columns) == spec.column_names
    for col in spec.columns:
        assert str(cohort[col.name].dtype) == col.pandas_dtype, col.name
        if not col.nullable:
            assert cohort[col.name].notna().all(), col.name
    assert cohort["patient_id"].is_unique
    # The full category lists are used, so models see every level of the spec.
    for col in spec.columns:
        if col.kind == "categorical":
            assert set(cohort[col.name].unique()) == set(col.categories or ()), col.name


def test_realistic_missingness(cohort: pd.DataFrame) -> None:
    missing = cohort.isna().mean()
    assert 0.35 <= missing["temperature"] <= 0.75
    assert 0.05 <= missing["pain_score"] <= 0.30
    assert 0.2 <= (cohort["alcohol_suspected"] == "unknown").mean() <= 0.6
    sbp_missing = cohort["sbp"].isna().groupby(cohort["triage_level"].astype(int)).mean()
    assert sbp_missing[5] > 0.5 > 0.15 > sbp_missing[[1, 2]].max()


def test_class_shares_match_the_design(cohort: pd.DataFrame) -> None:
    shares = cohort["mechanism"].value_counts(normalize=True).reindex(list(MECHANISMS))
    np.testing.assert_allclose(shares.to_numpy(), MECHANISM_SHARES, atol=0.02)


def test_clinical_patterns(cohort: pd.DataFrame) -> None:
    by_mech = cohort.groupby("mechanism")
    median_age = by_mech["age"].median()
    assert median_age["fall"] > median_age["road_traffic"] + 10
    male = (cohort["sex"] == "male").groupby(cohort["mechanism"]).mean()
    assert male["road_traffic"] > 0.6 and male["work"] > 0.75 and male["self_harm"] < 0.45
    falls_old = cohort[(cohort["mechanism"] == "fall") & (cohort["age"] >= 75)]
    assert (falls_old["sex"] == "female").mean() > 0.6
    assert (falls_old["body_region"] == "hip_pelvis").mean() > 0.2
    night = (cohort["arrival_hour"] >= 20) | (cohort["arrival_hour"] <= 5)
    assert night[cohort["mechanism"] == "assault"].mean() > 2 * night[cohort["mechanism"] == "work"].mean()
    assault = cohort[cohort["mechanism"] == "assault"]
    assert (assault["body_region"] == "face").mean() > 0.3
    assert (assault["alcohol_suspected"] == "yes").mean() > (cohort["alcohol_suspected"] == "yes").mean() * 2
    road = cohort[cohort["mechanism"] == "road_traffic"]
    assert (road["arrival_mode"] == "mobile_icu").mean() > 3 * (cohort["arrival_mode"] == "mobile_icu").mean() / 2
    assert road["triage_level"].mean() < cohort["triage_level"].mean()
    weekend = cohort["weekday"].isin(["saturday", "sunday"])
    work = cohort[cohort["mechanism"] == "work"]
    assert ((~weekend[work.index]) & work["arrival_hour"].between(7, 18)).mean() > 0.75
    assert (work["body_region"] == "wrist_hand").mean() > 0.4
    assert weekend[cohort["mechanism"] == "sport"].mean() > weekend.mean() + 0.05
    self_harm = cohort[cohort["mechanism"] == "self_harm"]
    assert self_harm["body_region"].isin(["wrist_hand", "systemic"]).mean() > 0.5
    assert self_harm["disposition"].isin(["ward", "transfer"]).mean() > 0.5
    children = cohort[cohort["age"] < 16]
    assert 0.1 < len(children) / len(cohort) < 0.35
    assert (children["activity"] == "paid_work").sum() == 0
    assert (children.loc[children["place"] == "school", "activity"] == "education").mean() > 0.4


def test_severity_drives_vitals_and_disposition(cohort: pd.DataFrame) -> None:
    triage = cohort["triage_level"].astype(int)
    gcs_by_triage = cohort["gcs"].astype("float64").groupby(triage).mean()
    assert gcs_by_triage[1] < gcs_by_triage[4] - 2
    admitted = cohort["disposition"].isin(["ward", "icu", "theatre"]).groupby(triage).mean()
    assert admitted[1] > 0.6 > 0.2 > admitted[5]
    los = cohort["length_of_stay_h"].groupby(cohort["disposition"]).median()
    assert los["home"] < 8 < 48 < los["ward"]


def test_mechanism_is_learnable_from_the_features(cohort: pd.DataFrame, spec: DatasetSpec) -> None:
    data = cohort.iloc[:10_000]
    features = [c.name for c in spec.feature_columns]
    x = pd.DataFrame(index=data.index)
    categorical = []
    for name in features:
        col = spec.column(name)
        if col.kind == "categorical":
            x[name] = pd.Categorical(data[name], categories=col.categories).codes
            categorical.append(True)
        else:
            x[name] = data[name].astype("float64")
            categorical.append(False)
    y = data["mechanism"].to_numpy()
    train, test = slice(0, 7_000), slice(7_000, None)
    model = HistGradientBoostingClassifier(categorical_features=categorical, max_iter=80, random_state=0)
    model.fit(x.iloc[train], y[train])
    macro_f1 = f1_score(y[test], model.predict(x.iloc[test]), average="macro")
    majority = np.full(len(y[test]), pd.Series(y[train]).mode()[0])
    baseline = f1_score(y[test], majority, average="macro")
    assert baseline < 0.1
    assert macro_f1 >= 0.55, f"macro-F1 {macro_f1:.3f}"


def test_bad_inputs_raise_clear_errors(spec: DatasetSpec) -> None:
    with pytest.raises(ParamsError, match="n_rows must be at least 1"):
        simulate(n_rows=0, seed=1)
    with pytest.raises(ParamsError, match="seed must be a non-negative"):
        simulate(n_rows=10, seed=-1)
    extra = spec.model_copy(update={"columns": (*spec.columns, spec.column("age").model_copy(update={"name": "bmi"}))})
    with pytest.raises(SpecError, match="cannot produce column"):
        simulate(n_rows=10, seed=1, spec=DatasetSpec.model_validate(extra.model_dump()))
    narrow = DatasetSpec.model_validate(
        {
            **spec.model_dump(),
            "columns": [
                {**c.model_dump(), "bounds": [0, 17]} if c.name == "age" else c.model_dump() for c in spec.columns
            ],
        }
    )
    with pytest.raises(SchemaError, match="Column 'age'"):
        simulate(n_rows=200, seed=1, spec=narrow)
