"""The DP-DDPM: denoiser, per-example loss under Opacus ghost clipping, training, sampling, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from opacus import PrivacyEngine
from opacus.grad_sample import GradSampleModule
from torch.utils.data import DataLoader, TensorDataset

from traumasynth.core.errors import ModelMismatchError, ParamsError
from traumasynth.models import get_synthesizer
from traumasynth.models.ddpm import DDPMConfig, DDPMSynthesizer
from traumasynth.models.ddpm.denoiser import MLPDenoiser
from traumasynth.models.ddpm.loss import DiffusionBatchBuilder, DiffusionLoss
from traumasynth.models.ddpm.multinomial import CategoricalLayout
from traumasynth.models.ddpm.schedule import make_schedule
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate
from traumasynth.training import TrainParams, model_config

TINY = DDPMConfig(
    timesteps=10, hidden_dims=(32, 32), d_embed=16, noise_multiplicity=2, sample_batch_size=128, prior="marginals"
)  # the joint prior: test_joint_prior.py
LAYOUT = CategoricalLayout(sizes=(2, 3, 4))
N_CLASSES = 3
CPU = torch.device("cpu")


def _toy_batch(b: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x_num = torch.zeros(b, 0)  # the grid view: no numeric slot
    x_cat = torch.stack([torch.randint(0, k, (b,), generator=g) for k in LAYOUT.sizes], dim=1)
    return x_num, x_cat, torch.randint(0, N_CLASSES, (b,), generator=g)


def _toy_parts(k: int, timesteps: int = 20):
    schedule = make_schedule(kind="cosine", timesteps=timesteps)
    net = MLPDenoiser(d_in=LAYOUT.width, n_classes=N_CLASSES, hidden_dims=(16, 16), d_embed=8)
    builder = DiffusionBatchBuilder(schedule=schedule, layout=LAYOUT, n_classes=N_CLASSES, multiplicity=k)
    return net, builder, DiffusionLoss(schedule=schedule, layout=LAYOUT)


def test_denoiser_shapes_and_rows_are_independent():
    net, builder, _ = _toy_parts(k=3)
    (x_t, t, y), target = builder(_toy_batch(5, seed=0), torch.Generator().manual_seed(1))
    assert x_t.shape == (5, 3, LAYOUT.width)
    assert t.shape == (5, 3) and y.shape == (5,)
    assert target.shape == (5, 3, 2 * LAYOUT.width + 1)
    out = net(x_t, t, y)
    assert out.shape == (5, 3, LAYOUT.width)
    changed = x_t.clone()
    changed[1:] = torch.randn_like(changed[1:])
    torch.testing.assert_close(net(changed, t, y)[0], out[0])  # no batch statistics: row 0 unaffected
    shared_t = torch.full((1, 3), 4)
    torch.testing.assert_close(net(x_t, shared_t, y), net(x_t, shared_t.expand(5, 3), y))


def test_loss_is_per_example_mean_of_draws():
    net, builder, loss = _toy_parts(k=4)
    (x_t, t, y), target = builder(_toy_batch(6, seed=2), torch.Generator().manual_seed(3))
    out = net(x_t, t, y)
    loss.reduction = "none"
    per_example = loss(out, target)
    assert per_example.shape == (6,)
    per_draw = loss.per_draw(out, target)
    assert per_draw.shape == (6, 4)
    assert (per_draw >= -1e-5).all()  # KL and NLL are non-negative
    torch.testing.assert_close(per_example, per_draw.mean(dim=1))
    loss.reduction = "mean"
    torch.testing.assert_close(loss(out, target), per_example.mean())


def test_ghost_clipping_clips_the_k_draws_of_an_example_as_one_gradient():
    """Opacus ghost clipping accepts [B, K, d] inputs; norms match per-sample gradients of hooks mode."""
    torch.manual_seed(0)
    b, k, clip = 12, 4, 0.05
    net, builder, loss = _toy_parts(k=k)
    reference = MLPDenoiser(d_in=LAYOUT.width, n_classes=N_CLASSES, hidden_dims=(16, 16), d_embed=8)
    reference.load_state_dict(net.state_dict())
    batch = _toy_batch(b, seed=4)
    inputs, target = builder(batch, torch.Generator().manual_seed(5))

    loader = DataLoader(TensorDataset(*batch), batch_size=b)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    model, optimizer, criterion, _ = PrivacyEngine().make_private(
        module=net,
        optimizer=optimizer,
        data_loader=loader,
        criterion=loss,
        noise_multiplier=0.0,
        max_grad_norm=clip,
        grad_sample_mode="ghost",
        poisson_sampling=False,
    )
    optimizer.zero_grad()
    criterion(model(*inputs), target).backward()
    ghost_norms = model.per_sample_gradient_norms
    assert ghost_norms.shape == (b,)  # one norm per example, not per draw

    gsm = GradSampleModule(reference, loss_reduction="mean")
    ref_loss = DiffusionLoss(schedule=builder.schedule, layout=LAYOUT, reduction="mean")
    ref_loss(gsm(*inputs), target).backward()
    per_sample = [p.grad_sample.reshape(b, -1) for p in reference.parameters()]
    norms = torch.cat(per_sample, dim=1).norm(dim=1)
    torch.testing.assert_close(ghost_norms, norms, rtol=1e-4, atol=1e-6)
    assert (norms > clip).all()  # so clipping is active in what follows

    factors = (clip / (norms + 1e-6)).clamp(max=1.0)
    for p_ghost, g in zip(net.parameters(), per_sample, strict=True):
        clipped = factors[:, None] * g  # [B, numel]
        assert (clipped.norm(dim=1) <= clip * (1 + 1e-5)).all()
        torch.testing.assert_close(p_ghost.grad.reshape(-1), clipped.sum(0), rtol=1e-4, atol=1e-7)


@pytest.fixture(scope="module")
def trained(sim_spec, sim_rows):
    """A tiny DP-DDPM trained on 600 simulated rows, and its fixed-draw loss before and after."""
    torch.manual_seed(0)
    synth = DDPMSynthesizer(spec=sim_spec, config=TINY)
    params = TrainParams(epsilon=8.0, delta=1e-4, epochs=8, batch_size=100, lr=5e-3, device="cpu")

    def fixed_loss(network: torch.nn.Module) -> float:
        enc = synth.codec.to_codes(synth.encoder.encode(sim_rows))
        builder = DiffusionBatchBuilder(
            schedule=synth.schedule,
            layout=synth.layout,
            n_classes=synth.encoder.n_classes,
            multiplicity=8,
        )
        batch = (torch.from_numpy(enc.x_num), torch.from_numpy(enc.x_cat), torch.from_numpy(enc.y))
        inputs, target = builder(batch, torch.Generator().manual_seed(11))
        criterion = DiffusionLoss(schedule=synth.schedule, layout=synth.layout)
        with torch.no_grad():
            return float(criterion(network.eval()(*inputs), target))

    torch.manual_seed(0)  # fit() rebuilds the network from this seed: measure that same initial network
    before = fixed_loss(synth._build_network())
    result = synth.fit(sim_rows, params=params, device=CPU, seed=0)
    return synth, result, before, fixed_loss(synth.network)


def test_short_dp_training_lowers_the_loss_and_reports_epsilon(trained):
    _, result, before, after = trained
    assert result.dp and result.grad_sample_mode == "ghost"
    assert 0 < result.epsilon <= 8.0 + 1e-6
    assert np.isfinite(result.final_loss)
    assert after < before - 0.05, (before, after)


def test_conditional_sampling_gives_requested_counts_and_passes_schema(trained, sim_spec):
    synth, *_ = trained
    df = synth.sample(0, conditions={"self_harm": 60, "fall": 25, "work": 0}, seed=3)
    assert len(df) == 85
    assert df["mechanism"].value_counts().to_dict() == {"self_harm": 60, "fall": 25}
    validate(df, sim_spec, columns=[c.name for c in sim_spec.modelled_columns])
    unconditional = synth.sample(40, seed=4)
    assert len(unconditional) == 40 and set(unconditional.columns) == set(df.columns)


def test_save_load_sample_identical_for_a_seed(trained, sim_spec, tmp_path):
    synth, *_ = trained
    synth.save(tmp_path / "ddpm")
    loaded = get_synthesizer("ddpm").load(tmp_path / "ddpm", spec=sim_spec)
    assert isinstance(loaded, DDPMSynthesizer) and loaded.config == TINY
    first = synth.sample(150, seed=9)  # 150 > sample_batch_size: two denoising batches
    pd.testing.assert_frame_equal(first, loaded.sample(150, seed=9))
    pd.testing.assert_frame_equal(first, synth.sample(150, seed=9))
    assert not first.equals(synth.sample(150, seed=10))
    other = DatasetSpec.model_validate({**sim_spec.model_dump(), "description": "another dataset"})
    with pytest.raises(ModelMismatchError, match="trained on dataset specification"):
        get_synthesizer("ddpm").load(tmp_path / "ddpm", spec=other)


def test_classifier_free_guidance_samples(sim_spec, sim_rows):
    config = TINY.model_copy(update={"cond_drop_prob": 0.2, "guidance_scale": 1.5, "sample_steps": 4})
    synth = DDPMSynthesizer(spec=sim_spec, config=config)
    params = TrainParams(epsilon=None, epochs=1, batch_size=200, device="cpu")
    synth.fit(sim_rows, params=params, device=CPU, seed=1)
    df = synth.sample(0, conditions={"assault": 30}, seed=2)
    assert (df["mechanism"] == "assault").sum() == 30 and len(df) == 30
    assert synth.sample_t.tolist() == [0, 3, 6, 9]  # 4 of the 10 training timesteps


def test_config_errors_name_the_key():
    with pytest.raises(ParamsError, match="train_dp_tabular.ddpm.noise_multiplicity"):
        model_config(TrainParams(ddpm={"noise_multiplicity": 0}), "ddpm")
    with pytest.raises(ParamsError, match="cond_drop_prob > 0"):
        model_config(TrainParams(ddpm={"guidance_scale": 2.0}), "ddpm")
    with pytest.raises(ParamsError, match="train_dp_tabular.ddpm.schedule"):
        model_config(TrainParams(ddpm={"schedule": "sigmoid"}), "ddpm")
    assert model_config(TrainParams(ddpm={"timesteps": 50}), "ddpm") == DDPMConfig(timesteps=50)


def test_sample_steps_are_capped_at_timesteps(sim_spec):
    assert DDPMSynthesizer(spec=sim_spec, config=TINY).sample_t.tolist() == list(range(10))  # default 50 > T = 10
    spaced = DDPMSynthesizer(spec=sim_spec, config=DDPMConfig(timesteps=100, sample_steps=5, hidden_dims=(8,)))
    assert spaced.sample_t.tolist() == [0, 25, 50, 74, 99]
