"""DP-VAE: per-example criterion, training lowers the loss, conditional and seeded sampling, save/load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from traumasynth.core.errors import DataError, ModelMismatchError, NotFittedError, ParamsError, SchemaError
from traumasynth.models import available_synthesizers, get_synthesizer
from traumasynth.models.vae import VAEConfig, VAELayout, VAELoss, VAESynthesizer
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate
from traumasynth.training import TrainParams

CPU = torch.device("cpu")
SMALL = VAEConfig(hidden=(32, 32), latent_dim=4, prior="marginals")  # the joint prior: test_joint_prior.py


def fast_params(**kw) -> TrainParams:
    base = {
        "epsilon": 8.0,
        "delta": 1e-4,
        "epochs": 3,
        "batch_size": 64,
        "lr": 5e-3,
        "device": "cpu",
    }
    return TrainParams(**{**base, **kw})


@pytest.fixture(scope="module")
def fitted(sim_spec, sim_rows) -> VAESynthesizer:
    model = VAESynthesizer(spec=sim_spec, config=SMALL)
    model.fit(sim_rows, params=fast_params(), device=CPU, seed=0)
    return model


def test_registry_lists_valid_names():
    assert get_synthesizer("vae") is VAESynthesizer
    assert "vae" in available_synthesizers() and "ddpm" in available_synthesizers()
    with pytest.raises(ParamsError, match=r"Unknown model 'gan'. Valid models: .*ddpm.*vae") as err:
        get_synthesizer("gan")
    assert all(name in str(err.value) for name in available_synthesizers())


def test_criterion_gives_one_loss_per_example(sim_spec, sim_rows):
    model = VAESynthesizer(spec=sim_spec, config=SMALL)
    codes = model.codec.to_codes(model.encoder.encode(sim_rows.head(16)))
    batch = (torch.from_numpy(codes.x_num), torch.from_numpy(codes.x_cat), torch.from_numpy(codes.y))
    inputs, target = model._make_batch(batch, torch.Generator().manual_seed(0))
    out = model.network(*inputs)
    crit = VAELoss(model.layout, reduction="none")
    per_example = crit(out, target)
    assert per_example.shape == (16,)
    crit.reduction = "mean"
    assert crit(out, target).item() == pytest.approx(per_example.mean().item(), rel=1e-6)


def test_missing_numeric_values_do_not_count_in_the_reconstruction():
    layout = VAELayout(n_num=2, cat_sizes=(2, 2), n_classes=2, latent_dim=1, num_missing_slot=(0, -1))
    crit = VAELoss(layout, reduction="none")
    out = torch.randn(3, 2 * 2 + 4 + 2 * 1 + 2)
    target = torch.tensor([[0.1, 0.2, 1.0, 0.0, 1.0]] * 3)  # first numeric slot missing (indicator 1)
    moved = target.clone()
    moved[:, 0] = 0.9  # a value under a "missing" indicator is ignored
    assert torch.allclose(crit(out, target), crit(out, moved))


def test_short_training_lowers_the_loss(fitted):
    curve = [loss for _, loss in fitted.train_result.loss_curve]
    assert curve[-1] < curve[0]
    assert fitted.train_result.dp and fitted.train_result.epsilon <= 8.0 + 1e-6


def test_non_dp_training_lowers_the_loss_more(sim_spec, sim_rows):
    model = VAESynthesizer(spec=sim_spec, config=SMALL)
    result = model.fit(sim_rows, params=fast_params(epsilon=None), device=CPU, seed=0)
    assert not result.dp and result.epsilon is None
    # the network starts at its (exact, non-DP) marginal prior: training learns the dependence on top
    assert result.loss_curve[-1][1] < 0.95 * result.loss_curve[0][1]


def test_conditional_sampling_gives_exact_counts(fitted, sim_spec):
    out = fitted.sample(0, conditions={"self_harm": 300, "fall": 7}, seed=1)
    assert out["mechanism"].value_counts().to_dict() == {"self_harm": 300, "fall": 7}
    assert list(out.columns) == [c.name for c in sim_spec.modelled_columns]
    validate(out, sim_spec, columns=list(out.columns))


def test_sampling_is_deterministic_per_seed(fitted):
    a = fitted.sample(200, seed=5)
    pd.testing.assert_frame_equal(a, fitted.sample(200, seed=5))
    assert not a.equals(fitted.sample(200, seed=6))
    assert a["mechanism"].nunique() > 1  # the learned class prior mixes classes


def test_saved_model_reloads_and_samples_identically(fitted, sim_spec, tmp_path):
    fitted.save(tmp_path / "vae")
    assert sorted(p.name for p in (tmp_path / "vae").iterdir()) == [
        "config.json",
        "encoder.json",
        "meta.json",
        "weights.pt",
    ]
    loaded = VAESynthesizer.load(tmp_path / "vae", spec=sim_spec)
    assert loaded.config == SMALL
    pd.testing.assert_frame_equal(
        loaded.sample(150, conditions={"assault": 100, "work": 50}, seed=11),
        fitted.sample(150, conditions={"assault": 100, "work": 50}, seed=11),
    )
    fitted.save(tmp_path / "vae")  # overwriting an existing model folder works
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_model_of_another_spec_is_refused(fitted, sim_spec, tmp_path):
    fitted.save(tmp_path / "vae")
    other = DatasetSpec.model_validate({**sim_spec.model_dump(), "name": "other_ed"})
    with pytest.raises(ModelMismatchError, match="trained on dataset specification 'ed_trauma_sim'"):
        VAESynthesizer.load(tmp_path / "vae", spec=other)


def test_missing_model_folder(tmp_path, sim_spec):
    with pytest.raises(DataError, match="not a saved model"):
        VAESynthesizer.load(tmp_path / "nothing", spec=sim_spec)


def test_sampling_before_fit(sim_spec):
    with pytest.raises(NotFittedError, match="fit\\(\\) or load\\(\\)"):
        VAESynthesizer(spec=sim_spec).sample(5, seed=0)


def test_bad_conditions(fitted):
    with pytest.raises(SchemaError, match="'burns' is not a class"):
        fitted.sample(0, conditions={"burns": 3}, seed=0)
    with pytest.raises(SchemaError, match="non-negative"):
        fitted.sample(0, conditions={"fall": -1}, seed=0)


def test_a_class_with_a_single_row_is_refused(sim_spec, sim_rows):
    rows = sim_rows[sim_rows["mechanism"] != "self_harm"]
    one = sim_rows[sim_rows["mechanism"] == "self_harm"].head(1)
    with pytest.raises(DataError, match="self_harm .* single training row"):
        VAESynthesizer(spec=sim_spec, config=SMALL).fit(pd.concat([rows, one]), params=fast_params(), device=CPU)


def test_class_prior_is_a_distribution(fitted):
    probs = fitted._class_probabilities()
    assert probs.shape == (7,) and np.isclose(probs.sum(), 1.0) and (probs > 0).all()
