"""Secret-keyed noise: same key, same bytes; another key, other noise; the published seed alone, nothing."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import torch

from traumasynth.core.errors import ParamsError
from traumasynth.models.marginals import MarginalsSynthesizer
from traumasynth.privacy.keys import KEY_ENV, keyed_rng, keyed_seed, noise_key
from traumasynth.training import TrainParams

CPU = torch.device("cpu")


def _released_counts(sim_spec, sim_rows) -> torch.Tensor:
    model = MarginalsSynthesizer(spec=sim_spec)
    model.fit(sim_rows, params=TrainParams(epsilon=1.0, delta=1e-4), device=CPU, seed=42)
    return model.network.cat_counts.clone()


def test_the_key_is_created_once_private_and_32_bytes(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "noise.key"
    monkeypatch.setenv(KEY_ENV, str(path))
    key = noise_key()
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert noise_key() == key  # read back, not replaced


def test_a_damaged_key_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "noise.key"
    path.write_bytes(b"short")
    monkeypatch.setenv(KEY_ENV, str(path))
    with pytest.raises(ParamsError, match="holds 5 bytes, not 32.*backup"):
        noise_key()


def test_same_key_same_noise_other_key_other_noise(sim_spec, sim_rows, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "a.key"))
    first = _released_counts(sim_spec, sim_rows)
    assert torch.equal(first, _released_counts(sim_spec, sim_rows))  # reproducible with the key
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "b.key"))
    assert not torch.equal(first, _released_counts(sim_spec, sim_rows))


def test_the_published_seed_alone_does_not_reproduce_the_noise(sim_spec, sim_rows):
    # Whoever knows base.seed (42) can rebuild any generator seeded from it; the release is keyed instead.
    model = MarginalsSynthesizer(spec=sim_spec)
    enc = model.encoder.encode(sim_rows)
    keyed = _released_counts(sim_spec, sim_rows)
    for guess in (np.random.default_rng(42), np.random.default_rng(np.random.SeedSequence([42, 0x5A3]))):
        model.release(enc, noise_multiplier=keyed_noise_multiplier(sim_spec, sim_rows), rng=guess)
        assert not torch.equal(model.network.cat_counts, keyed)
    assert keyed_seed("dp-sgd noise", 42) != 42 and keyed_seed("dp-sgd noise", 42) != keyed_seed("dp-sgd noise", 43)
    a, b = keyed_rng("class histogram", 42).random(4), keyed_rng("marginal prior", 42).random(4)
    assert not np.array_equal(a, b)  # one stream per purpose


def keyed_noise_multiplier(sim_spec, sim_rows) -> float:
    model = MarginalsSynthesizer(spec=sim_spec)
    result = model.fit(sim_rows, params=TrainParams(epsilon=1.0, delta=1e-4), device=CPU, seed=42)
    return result.noise_multiplier


def test_dp_sgd_noise_and_batches_follow_the_key(tmp_path, monkeypatch):
    from torch import nn
    from torch.utils.data import TensorDataset

    from traumasynth.privacy.dp import train_dp
    from traumasynth.privacy.task import DPTask

    class MSE(nn.Module):
        reduction = "mean"

        def forward(self, out, target):
            loss = ((out - target) ** 2).sum(dim=1)
            return loss if self.reduction == "none" else loss.mean()

    def weights(key_name: str) -> torch.Tensor:
        monkeypatch.setenv(KEY_ENV, str(tmp_path / key_name))
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(3, 1))
        x = torch.randn(200, 3, generator=torch.Generator().manual_seed(1))
        task = DPTask(module=net, criterion=MSE(), make_batch=lambda b, g: ((b[0],), b[1]))
        params = TrainParams(epsilon=2.0, delta=1e-4, epochs=2, batch_size=20, lr=0.01, device="cpu")
        train_dp(task=task, dataset=TensorDataset(x, x[:, :1]), params=params, device=CPU, seed=3, noise_multiplier=1.0)
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    first = weights("a.key")
    assert torch.equal(first, weights("a.key"))
    assert not torch.equal(first, weights("b.key"))


def test_a_release_seed_changes_whenever_the_release_would(sim_rows):
    from traumasynth.privacy.keys import release_seed
    from traumasynth.training import TrainParams, release_settings

    params = TrainParams(epsilon=3.0)
    base = {"seed": 42, "model": "vae", "rows": sim_rows, "settings": release_settings(params, "vae")}
    seed = release_seed(**base)
    assert release_seed(**base) == seed  # an unchanged pipeline: the same bytes
    others = [
        {**base, "rows": sim_rows.iloc[1:]},  # one row fewer
        {**base, "rows": sim_rows.assign(age=sim_rows["age"].fillna(0) + 1)},  # other values
        {**base, "model": "ddpm"},
        {**base, "seed": 43},
        {**base, "settings": release_settings(TrainParams(epsilon=1.0), "vae")},
        {**base, "settings": release_settings(TrainParams(epsilon=3.0, vae={"latent_dim": 8}), "vae")},
    ]
    assert len({seed, *(release_seed(**o) for o in others)}) == len(others) + 1
    # another model's sub-section is not this release's (its stage does not depend on it either)
    assert release_settings(TrainParams(epsilon=3.0, ddpm={"timesteps": 10}), "vae") == base["settings"]
