"""Sampling strategies, the DP class plan, ids and schema, and every bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from traumasynth.core.errors import DataError, ParamsError, SchemaError
from traumasynth.models.marginals import MarginalsSynthesizer
from traumasynth.privacy.plan import plan_budget
from traumasynth.sampling.class_plan import (
    augment_counts,
    augment_target,
    dp_class_histogram,
    histogram_rng,
    plan_class_counts,
)
from traumasynth.sampling.draw import sample_rows, synthetic_columns, with_ids
from traumasynth.sampling.params import SampleParams
from traumasynth.sampling.stage import generate_synthetic
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate
from traumasynth.training import TrainParams

CLASSES = ("fall", "sport", "domestic_leisure", "road_traffic", "assault", "work", "self_harm")
DP_COUNTS = np.array([4000, 1500, 1500, 1400, 800, 600, 200])


@pytest.fixture(scope="module")
def model(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> MarginalsSynthesizer:
    synth = MarginalsSynthesizer(spec=sim_spec)
    synth.fit(sim_rows, params=TrainParams(epsilon=5.0, delta=1e-5), device=torch.device("cpu"), seed=0)
    return synth


# -- plans --------------------------------------------------------------------------------
def test_match_reproduces_the_dp_class_mix(sim_spec: DatasetSpec) -> None:
    plan = plan_class_counts(params=SampleParams(strategy="match", n_rows=1000), spec=sim_spec, dp_counts=DP_COUNTS)
    assert list(plan) == list(CLASSES)
    assert sum(plan.values()) == 1000
    expected = 1000 * DP_COUNTS / DP_COUNTS.sum()
    assert all(abs(plan[c] - e) < 1 for c, e in zip(CLASSES, expected, strict=True))


def test_match_defaults_to_the_dp_training_size(sim_spec: DatasetSpec) -> None:
    plan = plan_class_counts(params=SampleParams(), spec=sim_spec, dp_counts=DP_COUNTS)
    assert plan == dict(zip(CLASSES, DP_COUNTS.tolist(), strict=True))


def test_balanced(sim_spec: DatasetSpec) -> None:
    plan = plan_class_counts(params=SampleParams(strategy="balanced", n_rows=100), spec=sim_spec, dp_counts=DP_COUNTS)
    assert sum(plan.values()) == 100
    assert set(plan.values()) == {14, 15}
    default = plan_class_counts(params=SampleParams(strategy="balanced"), spec=sim_spec, dp_counts=DP_COUNTS)
    assert sum(default.values()) == DP_COUNTS.sum()


def test_counts(sim_spec: DatasetSpec) -> None:
    params = SampleParams(strategy="counts", counts={"self_harm": 1000, "work": 5}, n_rows=7)
    plan = plan_class_counts(params=params, spec=sim_spec, dp_counts=DP_COUNTS)
    assert plan == {c: 0 for c in CLASSES} | {"self_harm": 1000, "work": 5}


def test_augment_tops_up_only_rare_classes(sim_spec: DatasetSpec) -> None:
    assert augment_counts(dp_counts=DP_COUNTS, target=1000, spec=sim_spec) == {
        "assault": 200,
        "work": 400,
        "self_harm": 800,
    }
    plan = plan_class_counts(
        params=SampleParams(strategy="augment", augment_target=1000), spec=sim_spec, dp_counts=DP_COUNTS
    )
    assert plan == {c: 0 for c in CLASSES} | {"assault": 200, "work": 400, "self_harm": 800}


@pytest.mark.parametrize("n_rows", [0, -5])
def test_a_size_of_zero_or_less_is_refused(sim_spec: DatasetSpec, n_rows: int) -> None:
    with pytest.raises(ParamsError, match=f"sample.n_rows = {n_rows}.*at least one row"):
        plan_class_counts(params=SampleParams(n_rows=n_rows), spec=sim_spec, dp_counts=DP_COUNTS)


def test_unknown_class_in_counts_lists_the_valid_ones(sim_spec: DatasetSpec) -> None:
    params = SampleParams(strategy="counts", counts={"selfharm": 10, "bicycle": 1})
    with pytest.raises(ParamsError) as err:
        plan_class_counts(params=params, spec=sim_spec, dp_counts=DP_COUNTS)
    message = str(err.value)
    assert "'selfharm' is not a class" in message and "'bicycle' is not a class" in message
    assert "Valid classes: fall, sport, domestic_leisure, road_traffic, assault, work, self_harm" in message


def test_negative_counts_are_refused(sim_spec: DatasetSpec) -> None:
    params = SampleParams(strategy="counts", counts={"self_harm": -3, "fall": 2})
    with pytest.raises(ParamsError, match=r"sample.counts.self_harm = -3: a count must be a whole number >= 0"):
        plan_class_counts(params=params, spec=sim_spec, dp_counts=DP_COUNTS)


def test_counts_summing_to_zero_are_refused(sim_spec: DatasetSpec) -> None:
    with pytest.raises(ParamsError, match="0 rows in total"):
        plan_class_counts(
            params=SampleParams(strategy="counts", counts={"fall": 0}), spec=sim_spec, dp_counts=DP_COUNTS
        )


def test_augment_with_nothing_to_top_up_is_refused(sim_spec: DatasetSpec) -> None:
    with pytest.raises(ParamsError, match="nothing to top up"):
        plan_class_counts(
            params=SampleParams(strategy="augment", augment_target=10), spec=sim_spec, dp_counts=DP_COUNTS
        )


def test_an_all_zero_histogram_cannot_be_matched(sim_spec: DatasetSpec) -> None:
    zeros = np.zeros(len(CLASSES), dtype=np.int64)
    with pytest.raises(DataError, match="sums to 0"):
        plan_class_counts(params=SampleParams(), spec=sim_spec, dp_counts=zeros)
    with pytest.raises(DataError, match="all zero"):
        plan_class_counts(params=SampleParams(n_rows=10), spec=sim_spec, dp_counts=zeros)
    balanced = plan_class_counts(params=SampleParams(strategy="balanced", n_rows=14), spec=sim_spec, dp_counts=zeros)
    assert set(balanced.values()) == {2}


# -- the DP histogram of the labels -------------------------------------------------------
def test_dp_class_histogram(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> None:
    labels = sim_rows["mechanism"]
    exact = labels.value_counts().reindex(CLASSES, fill_value=0).to_numpy()
    loose = dp_class_histogram(labels=labels, spec=sim_spec, noise_multiplier=0.01, rng=np.random.default_rng(0))
    np.testing.assert_allclose(loose.counts, exact, atol=1)
    tight = dp_class_histogram(labels=labels, spec=sim_spec, noise_multiplier=20.0, rng=np.random.default_rng(0))
    assert tight.noise_scale == 20.0
    assert not np.array_equal(tight.counts, exact) and (tight.counts >= 0).all()
    none = dp_class_histogram(labels=labels, spec=sim_spec, noise_multiplier=None, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(none.counts, exact)  # a non-DP reference run: exact counts


def test_unknown_training_label_is_refused(sim_spec: DatasetSpec) -> None:
    with pytest.raises(SchemaError, match="bicycle"):
        dp_class_histogram(
            labels=pd.Series(["fall", "bicycle"]), spec=sim_spec, noise_multiplier=1.0, rng=np.random.default_rng(0)
        )


# -- drawing ------------------------------------------------------------------------------
def test_sample_rows_gives_exact_counts_deterministically(model: MarginalsSynthesizer) -> None:
    counts = {"fall": 120, "self_harm": 1000, "work": 0}
    a = sample_rows(synthesizer=model, counts=counts, seed=3, batch_size=256)
    b = sample_rows(synthesizer=model, counts=counts, seed=3, batch_size=256)
    pd.testing.assert_frame_equal(a, b)
    assert a["mechanism"].value_counts().to_dict() == {"self_harm": 1000, "fall": 120}
    assert a["mechanism"].iloc[:200].nunique() == 2  # shuffled, not grouped by class
    assert not a.equals(sample_rows(synthesizer=model, counts=counts, seed=4, batch_size=256))


def test_sample_rows_refuses_bad_counts(model: MarginalsSynthesizer) -> None:
    with pytest.raises(ParamsError, match="'bicycle' is not a class"):
        sample_rows(synthesizer=model, counts={"bicycle": 3}, seed=0)
    with pytest.raises(ParamsError, match="whole number >= 0"):
        sample_rows(synthesizer=model, counts={"fall": -1}, seed=0)


def test_ids_and_schema(model: MarginalsSynthesizer, sim_spec: DatasetSpec) -> None:
    rows = sample_rows(synthesizer=model, counts={"assault": 30}, seed=0)
    table = with_ids(rows, spec=sim_spec, model="vae", start=5)
    assert list(table.columns) == synthetic_columns(sim_spec)
    assert synthetic_columns(sim_spec)[0] == "patient_id"
    assert "patient_id" in table.columns and len(table.columns) == len(sim_spec.modelled_columns) + 1
    assert table["patient_id"].iloc[0] == "vae-000005" and table["patient_id"].iloc[-1] == "vae-000034"
    validate(table, sim_spec, columns=synthetic_columns(sim_spec))
    empty = with_ids(sample_rows(synthesizer=model, counts={}, seed=0), spec=sim_spec, model="vae")
    assert len(empty) == 0 and list(empty.columns) == synthetic_columns(sim_spec)


def test_schema_violation_is_caught_before_writing(model: MarginalsSynthesizer, sim_spec: DatasetSpec) -> None:
    rows = sample_rows(synthesizer=model, counts={"fall": 5}, seed=0)
    rows.loc[0, "age"] = 500
    with pytest.raises(SchemaError, match="age"):
        with_ids(rows, spec=sim_spec, model="vae")


@pytest.mark.parametrize("strategy", ["match", "balanced", "counts", "augment"])
def test_generate_each_strategy(model: MarginalsSynthesizer, sim_rows: pd.DataFrame, strategy: str) -> None:
    params = SampleParams(strategy=strategy, n_rows=140, counts={"self_harm": 50}, augment_target=100)
    plan = plan_budget(epsilon=6.0, delta=1e-5, histogram_share=0.02, prior_share=0.98, sgd=None)
    result = generate_synthetic(
        model="marginals", synthesizer=model, labels=sim_rows["mechanism"], plan=plan, params=params, seed=1
    )
    dp = dict(zip(CLASSES, result.histogram.counts.tolist(), strict=True))
    rare = {c: 100 - n for c, n in dp.items() if n < 100}
    got = result.table["mechanism"].value_counts().to_dict()
    if strategy == "match":
        assert len(result.table) == 140 and got["fall"] > got["sport"]
    elif strategy == "balanced":
        assert set(got.values()) == {20}
    elif strategy == "counts":
        assert got == {"self_harm": 50}
    else:
        assert got == rare
    assert result.augment["mechanism"].value_counts().to_dict() == rare
    ids = pd.concat([result.table["patient_id"], result.augment["patient_id"]])
    assert ids.is_unique or strategy == "augment"
    metrics = result.to_metrics()
    assert metrics["strategy"] == strategy
    assert metrics["rows"] == len(result.table) and metrics["augment_rows"] == len(result.augment)
    assert sum(metrics["rows_per_class"].values()) == len(result.table)
    assert metrics["epsilon_total"] <= metrics["epsilon_target"] == 6.0 and metrics["delta_total"] == 1e-5
    assert metrics["histogram_noise_multiplier"] == plan.histogram_noise
    assert metrics["composition"].startswith("exact")


@pytest.mark.slow
def test_vae_gives_the_rarest_class_on_request(sim_spec: DatasetSpec) -> None:
    """1,000 self-harm rows from a (non-DP, briefly trained) VAE: all self-harm, young adults, unlike falls."""
    from traumasynth.datasets.ed_trauma_sim import simulate
    from traumasynth.models import get_synthesizer

    rows = simulate(n_rows=3000, seed=11, spec=sim_spec)
    vae = get_synthesizer("vae")(spec=sim_spec)
    params = TrainParams(epsilon=None, epochs=15, batch_size=128, device="cpu")
    vae.fit(rows, params=params, device=torch.device("cpu"), seed=0)
    table = sample_rows(synthesizer=vae, counts={"self_harm": 1000, "fall": 1000, "work": 1000}, seed=5)
    validate(table, sim_spec, columns=[c.name for c in sim_spec.modelled_columns])
    by_class = {c: table.loc[table["mechanism"] == c] for c in ("self_harm", "fall", "work")}
    assert {c: len(f) for c, f in by_class.items()} == {"self_harm": 1000, "fall": 1000, "work": 1000}
    harm_age = by_class["self_harm"]["age"].astype(float)
    assert harm_age.median() < 40 and harm_age.median() < by_class["fall"]["age"].astype(float).median() - 10
    male = {c: (f["sex"] == "male").mean() for c, f in by_class.items()}
    assert male["work"] > male["self_harm"] + 0.15


def test_histogram_noise_is_seeded_unless_secure() -> None:
    seeded = [histogram_rng(params=SampleParams(), seed=1).integers(1 << 62) for _ in range(2)]
    assert seeded[0] == seeded[1]
    assert histogram_rng(params=SampleParams(), seed=2).integers(1 << 62) != seeded[0]
    secure = [histogram_rng(params=SampleParams(secure_noise=True), seed=1).integers(1 << 62) for _ in range(2)]
    assert secure[0] != secure[1]


def test_the_default_augment_target_is_1000_on_the_default_tables_and_grows_with_a_registry():
    """Issue 28: a fixed 1000 left every rare class of a 650,000-row registry without a top-up."""
    default = SampleParams()
    assert augment_target(default, dp_counts=DP_COUNTS) == 1000  # 10,000 rows in 7 classes: 714 < 1000
    registry = DP_COUNTS * 65  # 650,000 rows, the same class mix
    target = augment_target(default, dp_counts=registry)
    assert target == round(650_000 / 14)
    assert registry.min() < target  # the rare class (13,000 rows) is still topped up
    assert augment_target(SampleParams(augment_target=300), dp_counts=registry) == 300  # a set value wins
