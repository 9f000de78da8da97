"""The DP marginals floor synthesizer: exact without DP, charged to ε with DP, plausible per class."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from traumasynth.core.errors import ModelMismatchError, NotFittedError, SchemaError
from traumasynth.models import get_synthesizer
from traumasynth.models.marginals import MarginalsConfig, MarginalsSynthesizer
from traumasynth.models.postprocess import project_nonnegative, shrink_to_pooled
from traumasynth.privacy.histogram import gaussian_epsilon
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate
from traumasynth.training import TrainParams

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def sim_4000(sim_spec: DatasetSpec) -> pd.DataFrame:
    from traumasynth.datasets.ed_trauma_sim import simulate

    return simulate(n_rows=4000, seed=11, spec=sim_spec)


@pytest.fixture(scope="module")
def dp_model(sim_spec: DatasetSpec, sim_4000: pd.DataFrame) -> MarginalsSynthesizer:
    model = MarginalsSynthesizer(spec=sim_spec)
    model.fit(sim_4000, params=TrainParams(epsilon=8.0, delta=1e-5), device=CPU, seed=0)
    return model


@pytest.fixture(scope="module")
def exact_model(sim_spec: DatasetSpec, sim_4000: pd.DataFrame) -> MarginalsSynthesizer:
    model = MarginalsSynthesizer(spec=sim_spec)
    model.fit(sim_4000, params=TrainParams(epsilon=None), device=CPU, seed=0)
    return model


def test_registered_as_marginals() -> None:
    assert get_synthesizer("marginals") is MarginalsSynthesizer


def test_rarest_class_on_request_is_plausible(dp_model: MarginalsSynthesizer, sim_spec: DatasetSpec) -> None:
    rows = dp_model.sample(0, conditions={"self_harm": 1000}, seed=5)
    assert len(rows) == 1000
    assert (rows["mechanism"] == "self_harm").all()
    validate(rows, sim_spec, columns=[c.name for c in sim_spec.modelled_columns])
    # the simulator makes self-harm patients mostly female and young adults ...
    assert (rows["sex"] == "female").mean() > 0.55
    assert rows["age"].median() < 45
    # ... and work injuries mostly male, in working age
    work = dp_model.sample(0, conditions={"work": 1000}, seed=5)
    assert (work["sex"] == "male").mean() > 0.7
    assert (work["age"].astype(float) >= 16).mean() > 0.85


def test_without_dp_the_class_marginals_are_reproduced(
    exact_model: MarginalsSynthesizer, sim_4000: pd.DataFrame
) -> None:
    rows = exact_model.sample(0, conditions={"fall": 4000, "assault": 4000}, seed=1)
    for cls in ("fall", "assault"):
        real = sim_4000.loc[sim_4000["mechanism"] == cls]
        fake = rows.loc[rows["mechanism"] == cls]
        for col in ("sex", "place", "triage_level"):
            p = real[col].value_counts(normalize=True)
            q = fake[col].value_counts(normalize=True)
            tv = 0.5 * p.sub(q, fill_value=0).abs().sum()
            assert tv < 0.06, (cls, col, tv)
        # integer slots with few values are points: no value the class never had
        assert set(fake["triage_level"].dropna()) <= set(real["triage_level"].dropna())
        share_missing = real["sbp"].isna().mean()
        assert fake["sbp"].isna().mean() == pytest.approx(share_missing, abs=0.04)


def test_dp_release_is_charged_and_calibrated(
    dp_model: MarginalsSynthesizer, exact_model: MarginalsSynthesizer
) -> None:
    result = dp_model.train_result
    assert result is not None and result.dp and result.budget is not None
    # the release and the sampling stage's class histogram share the training ε exactly
    hist = result.budget["histogram_noise_multiplier"]
    mu = math.sqrt(1 / result.noise_multiplier**2 + 1 / hist**2)
    assert gaussian_epsilon(sigma=1 / mu, delta=1e-5) == pytest.approx(8.0, rel=1e-6)
    assert result.epsilon <= 8.0 and result.budget["epsilon_total"] <= 8.0
    assert result.sample_rate is None and result.steps is None and result.final_loss is None
    noisy = dp_model.network.cat_counts
    exact = exact_model.network.cat_counts
    assert not torch.equal(noisy, exact)  # noise was added
    assert (noisy >= 0).all()
    # projection keeps each (class, slot) total: the noisy totals stay close to the exact ones
    assert noisy.sum() == pytest.approx(float(exact.sum()), rel=0.05)
    assert exact_model.train_result is not None and exact_model.train_result.epsilon is None


def test_indicators_ride_in_their_numeric_slot(exact_model: MarginalsSynthesizer, sim_4000: pd.DataFrame) -> None:
    """A missing indicator is one more cell of its column's numeric histogram, not a histogram of its own."""
    enc = exact_model.encoder.encode(sim_4000)
    released = exact_model._true_counts(enc)
    n_indicators = sum(name.endswith(".__missing__") for name in exact_model.encoder.cat_names)
    assert n_indicators > 0
    n_slots = exact_model.encoder.n_num + exact_model.encoder.n_cat
    assert exact_model.n_released == len(released) == n_slots - n_indicators
    # sensitivity sqrt(S): every row adds exactly 1 to each released histogram
    for block in released:
        assert block.sum() == len(sim_4000)
    # the indicator's counts are read back off the extra cell, exactly
    cats = exact_model.network.cat_counts
    for j, name in enumerate(exact_model.encoder.cat_names):
        if name.endswith(".__missing__"):
            column = name.removesuffix(".__missing__")
            for k, cls in enumerate(exact_model.encoder.classes):
                rows = sim_4000.loc[sim_4000["mechanism"] == cls, column]
                assert float(cats[k, j, 1]) == rows.isna().sum()
                assert float(cats[k, j, 0]) == rows.notna().sum()


@pytest.mark.parametrize("probe_share", [None, 0.2])
def test_probe_then_weighted_release_spends_one_releases_budget(
    exact_model: MarginalsSynthesizer, probe_share: float | None
) -> None:
    """The two releases' precisions add up to one Gaussian release's mu^2, and favour the telling histogram."""
    rng = np.random.default_rng(0)
    telling = np.array([[900.0, 50, 50], [50, 900, 50], [50, 50, 900]])  # differs by class
    flat = np.full((3, 3), 333.0)  # the same in every class
    true = [telling, flat, flat.copy(), flat.copy()]
    model = MarginalsSynthesizer(spec=exact_model.spec, config=MarginalsConfig(probe_share=probe_share))
    noise_multiplier = 2.0
    residuals = []
    for _ in range(200):
        noisy, sigmas = model._noisy_counts(true, noise_multiplier=noise_multiplier, rng=rng)
        # Gaussian DP: each histogram's precision 1/sigma_j^2 is its share of mu^2; they add to one release's
        assert sum(1 / sd**2 for sd in sigmas) == pytest.approx(1 / noise_multiplier**2, rel=1e-9)
        residuals += [((n - t) / sd).ravel() for n, t, sd in zip(noisy, true, sigmas, strict=True)]
    assert np.concatenate(residuals).std() == pytest.approx(1.0, abs=0.05)  # the sigmas are the noise added
    if probe_share is None:
        assert len(set(sigmas)) == 1
    else:
        assert sigmas[0] < min(sigmas[1:])  # the histogram that tells the classes apart is measured best


def test_projection_and_shrinkage_keep_totals() -> None:
    v = np.array([[5.0, -3.0, 2.0, -1.0], [-2.0, -1.0, 0.5, 0.0]])
    p = project_nonnegative(v)
    assert (p >= 0).all()
    assert p[0].sum() == pytest.approx(3.0) and p[1].sum() == 0.0  # a non-positive total: all zero
    counts = np.array([[90.0, 10.0], [1.0, 4.0]])
    shrunk = shrink_to_pooled(counts, noise=2.0)
    np.testing.assert_allclose(shrunk.sum(axis=1), counts.sum(axis=1))
    # the small class moves toward the pooled shape (0.88, 0.12) far more than the large one
    assert abs(shrunk[1, 0] / 5 - 0.2) > abs(shrunk[0, 0] / 100 - 0.9)


def test_same_seed_same_rows(dp_model: MarginalsSynthesizer) -> None:
    a = dp_model.sample(300, seed=9)
    b = dp_model.sample(300, seed=9)
    c = dp_model.sample(300, seed=10)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_unconditional_sampling_follows_the_released_class_mix(dp_model: MarginalsSynthesizer) -> None:
    rows = dp_model.sample(5000, seed=2)
    assert (rows["mechanism"] == "fall").mean() == pytest.approx(0.40, abs=0.05)
    assert (rows["mechanism"] == "self_harm").mean() < 0.06


def test_save_load_round_trip_and_spec_mismatch(
    dp_model: MarginalsSynthesizer, sim_spec: DatasetSpec, tmp_path
) -> None:
    dp_model.save(tmp_path / "m")
    loaded = MarginalsSynthesizer.load(tmp_path / "m", spec=sim_spec)
    pd.testing.assert_frame_equal(loaded.sample(200, seed=4), dp_model.sample(200, seed=4))
    other = DatasetSpec.model_validate({**yaml.safe_load(sim_spec.model_dump_json()), "version": 99})
    with pytest.raises(ModelMismatchError, match="another|not on"):
        MarginalsSynthesizer.load(tmp_path / "m", spec=other)


def test_bad_conditions_and_unfitted(dp_model: MarginalsSynthesizer, sim_spec: DatasetSpec) -> None:
    with pytest.raises(SchemaError, match="not a class"):
        dp_model.sample(0, conditions={"bicycle": 3}, seed=0)
    with pytest.raises(NotFittedError):
        MarginalsSynthesizer(spec=sim_spec).sample(3, seed=0)


def test_all_zero_class_falls_back_to_public_uniform() -> None:
    counts = torch.tensor([[0.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    y = torch.tensor([0] * 3000 + [1] * 10)
    cells = MarginalsSynthesizer._draw(counts, y, torch.Generator().manual_seed(0))
    assert np.bincount(cells[:3000].numpy(), minlength=3).min() > 900
    assert (cells[3000:] == 1).all()
