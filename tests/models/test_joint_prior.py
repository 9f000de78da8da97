"""The joint prior: what it reads of the private rows, how it spends its budget, and that it holds the joint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from traumasynth.encoding.table import TableEncoder
from traumasynth.models.ddpm import DDPMConfig, DDPMSynthesizer
from traumasynth.models.joint_prior import JointPrior, JointPriorConfig
from traumasynth.models.sgd import SGDModelConfig
from traumasynth.models.vae import VAEConfig, VAESynthesizer
from traumasynth.spec.constraints import check_constraints
from traumasynth.training import TrainParams

CONFIG = JointPriorConfig(iters=150)


def _pair_tvd(a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    size = int(max(a.max(), x.max())) + 1, int(max(b.max(), y.max())) + 1
    p = np.bincount(a * size[1] + b, minlength=size[0] * size[1]) / len(a)
    q = np.bincount(x * size[1] + y, minlength=size[0] * size[1]) / len(x)
    return 0.5 * float(np.abs(p - q).sum())


def test_release_noise_spends_exactly_the_priors_budget(sim_spec, sim_rows):
    """sum over the three Gaussian releases of (sensitivity / sd)^2 is the prior's mu^2."""
    prior = JointPrior(sim_spec, CONFIG)
    enc = TableEncoder(sim_spec).encode(sim_rows)
    noise_multiplier = 2.0
    release = prior._release(
        prior.layout.codes_of(enc), noise_multiplier=noise_multiplier, rng=np.random.default_rng(0)
    )
    n_features = len(prior.features)
    n_candidates = n_features * (n_features - 1) // 2
    selection_sd = math.sqrt(n_candidates / (CONFIG.selection_share / noise_multiplier**2))
    mu2 = n_features / release.one_way_sd**2 + n_candidates / selection_sd**2 + len(release.pairs) / release.pair_sd**2
    assert mu2 == pytest.approx(1.0 / noise_multiplier**2)
    assert len(release.pairs) == n_features - 1  # a spanning tree


def test_a_zero_noise_multiplier_releases_exact_counts(sim_spec, sim_rows):
    """The privacy audit's broken mechanism (noise switched off) must run, not divide by zero."""
    prior = JointPrior(sim_spec, CONFIG)
    codes = prior.layout.codes_of(TableEncoder(sim_spec).encode(sim_rows))
    release = prior._release(codes, noise_multiplier=0.0, rng=np.random.default_rng(0))
    column = prior.features[0]
    size = prior.sizes[column]
    exact = np.bincount(codes[prior.target] * size + codes[column], minlength=prior.sizes[prior.target] * size)
    assert np.array_equal(release.one_way[column].ravel(), exact)


@pytest.fixture(scope="module")
def exact_prior(sim_spec, sim_rows) -> JointPrior:
    """A prior fitted on exact counts (no DP): one Private-PGM fit (JAX compiles) for the module."""
    return JointPrior(sim_spec, CONFIG).fit(
        TableEncoder(sim_spec).encode(sim_rows), noise_multiplier=None, rng=np.random.default_rng(0)
    )


def test_exact_release_picks_the_strongest_dependence_and_draws_hold_it(sim_spec, sim_rows, exact_prior):
    prior = exact_prior
    enc = TableEncoder(sim_spec).encode(sim_rows)
    real = prior.layout.codes_of(enc)
    drawn = prior.layout.codes_of(prior.draw(len(enc), seed=1))
    shuffle = np.random.default_rng(3)
    independent = real.apply(lambda col: shuffle.permutation(col.to_numpy()))  # every pair broken
    a, b = prior.pairs[0]
    held = _pair_tvd(real[a].to_numpy(), real[b].to_numpy(), drawn[a].to_numpy(), drawn[b].to_numpy())
    broken = _pair_tvd(real[a].to_numpy(), real[b].to_numpy(), independent[a].to_numpy(), independent[b].to_numpy())
    assert held < 0.5 * broken


def test_draws_are_reproducible_and_leave_numpys_global_state_alone(exact_prior):
    prior = exact_prior
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first, second = prior.draw(200, seed=5), prior.draw(200, seed=5)
    assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(first.x_cat, second.x_cat) and np.array_equal(first.y, second.y)
    assert torch.equal(torch.from_numpy(first.x_num), torch.from_numpy(second.x_num))


def test_rows_drawn_for_the_network_keep_every_clinical_rule(sim_spec, exact_prior):
    """The tree of pairs cannot hold the rules: unchecked draws break some, ``within_rules`` draws none."""
    decoder = TableEncoder(sim_spec)
    prior = exact_prior
    unchecked = JointPrior.__new__(JointPrior)
    unchecked.__dict__.update(prior.__dict__, config=CONFIG.model_copy(update={"within_rules": False}))
    broken = check_constraints(decoder.decode(unchecked.draw(3000, seed=2), seed=2), sim_spec.constraints)
    assert broken.violation_rate > 0.02
    drawn = prior.draw(3000, seed=2)
    assert len(drawn) == 3000
    assert check_constraints(decoder.decode(drawn, seed=2), sim_spec.constraints).violation_rate == 0.0
    assert np.array_equal(drawn.y, prior.draw(3000, seed=2).y)  # reproducible through the redraws


def test_balanced_draws_give_a_rare_class_an_equal_share_within_the_rules(sim_spec, exact_prior):
    prior = exact_prior
    k = prior.sizes[prior.target]
    mixed = np.bincount(prior.draw(2000, seed=4).y, minlength=k)
    drawn = prior.draw(2000, seed=4, balanced=True)
    counts = np.bincount(drawn.y, minlength=k)
    assert mixed.min() < 0.5 * 2000 / k  # the prior's own mix has a rare class ...
    assert counts.max() - counts.min() <= 1 and counts.sum() == 2000  # ... the balanced draw does not
    decoded = TableEncoder(sim_spec).decode(drawn, seed=4)
    assert check_constraints(decoded, sim_spec.constraints).violation_rate == 0.0


def test_shares_that_leave_no_pair_budget_are_refused():
    with pytest.raises(ValueError, match="one_way_share"):
        JointPriorConfig(one_way_share=0.6, selection_share=0.4)
    assert SGDModelConfig().prior == "marginals"


@pytest.mark.parametrize("model", ["vae", "ddpm"])
def test_a_network_on_the_joint_prior_keeps_its_bank_through_save_and_load(sim_spec, sim_rows, tmp_path, model):
    """The rows sampling starts from are drawn from the prior at training and saved with the weights."""
    joint = JointPriorConfig(iters=50, epochs=1, rows=300)
    if model == "vae":
        synth = VAESynthesizer(
            spec=sim_spec,
            config=VAEConfig(hidden=(16,), latent_dim=2, prior="joint", joint_prior=joint, latent_bank=64),
        )
    else:
        config = DDPMConfig(timesteps=10, hidden_dims=(16,), d_embed=8, prior="joint", joint_prior=joint, prior_bank=64)
        synth = DDPMSynthesizer(spec=sim_spec, config=config)
    params = TrainParams(epsilon=4.0, delta=1e-4, epochs=1, batch_size=100, device="cpu")
    synth.fit(sim_rows, params=params, device=torch.device("cpu"), seed=0)
    classes = synth.network.get_buffer("bank_y")
    assert len(classes) == 64 and bool((classes >= 0).all())  # filled from the prior's rows
    synth.save(tmp_path / model)
    loaded = type(synth).load(tmp_path / model, spec=sim_spec)
    assert torch.equal(loaded.network.get_buffer("bank_y"), classes)
    rare = sim_rows[sim_spec.target.name].value_counts().index[-1]
    rows = loaded.sample(0, conditions={rare: 30}, seed=1)
    assert len(rows) == 30 and (rows[sim_spec.target.name] == rare).all()
    assert rows.equals(loaded.sample(0, conditions={rare: 30}, seed=1))
