"""The joint prior: what it reads of the private rows, how it spends its budget, and that it holds the joint."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from traumasynth.encoding.table import TableEncoder
from traumasynth.models.ddpm import DDPMConfig, DDPMSynthesizer
from traumasynth.models.joint_prior import JointPrior, JointPriorConfig, _mass_coarsening
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


@pytest.mark.parametrize("numeric_cells", ["width", "mass"])
@pytest.mark.parametrize("extra_pairs", [0, 12, 10_000])
def test_release_noise_spends_exactly_the_priors_budget(sim_spec, sim_rows, extra_pairs, numeric_cells):
    """sum over the five Gaussian releases of (sensitivity / sd)^2 is the prior's mu^2.

    10,000 further pairs are more than the table has outside the tree: the budget goes to those it has.
    """
    config = CONFIG.model_copy(update={"extra_pairs": extra_pairs, "iters": 20, "numeric_cells": numeric_cells})
    prior = JointPrior(sim_spec, config)
    codes = prior.layout.codes_of(TableEncoder(sim_spec).encode(sim_rows))
    noise_multiplier = 2.0
    rng = np.random.default_rng(0)
    release = prior._release(codes, noise_multiplier=noise_multiplier, rng=rng)
    n_features = len(prior.features)
    n_candidates = n_features * (n_features - 1) // 2
    assert len(release.pairs) == release.n_tree == n_features - 1  # a spanning tree
    selection_sd = math.sqrt(n_candidates / (config.selection_share / noise_multiplier**2))
    mu2 = n_features / release.one_way_sd**2 + n_candidates / selection_sd**2
    if extra_pairs:
        prior._model = prior._estimate(release)
        release = prior._second_round(codes, release, noise_multiplier=noise_multiplier, rng=rng)
        outside = n_candidates - (n_features - 1)
        mu2 += outside / (outside / (config.extra_selection_share / noise_multiplier**2))  # second selection
        budgeted = min(extra_pairs, outside)
        assert 0 < len(release.pairs) - release.n_tree <= budgeted
        assert len(set(release.pairs)) == len(release.pairs)  # no pair measured twice
        mu2 += (release.n_tree + budgeted) / release.pair_sd**2
    else:
        mu2 += len(release.pairs) / release.pair_sd**2
    assert mu2 == pytest.approx(1.0 / noise_multiplier**2)


def test_a_zero_noise_multiplier_releases_exact_counts(sim_spec, sim_rows):
    """The privacy audit's broken mechanism (noise switched off) must run, not divide by zero."""
    prior = JointPrior(sim_spec, CONFIG)
    codes = prior.layout.codes_of(TableEncoder(sim_spec).encode(sim_rows))
    release = prior._release(codes, noise_multiplier=0.0, rng=np.random.default_rng(0))
    column = prior.features[0]
    size = prior.sizes[column]
    exact = np.bincount(codes[prior.target] * size + codes[column], minlength=prior.sizes[prior.target] * size)
    assert np.array_equal(release.one_way[column].ravel(), exact)


def test_mass_runs_keep_a_heavy_cell_apart_pool_sparse_tails_and_stay_contiguous():
    mass = np.array([0, 1, 5, 40, 30, 10, 5, 2, 1, 0, 0, 0, 0, 0, 0, 0, 50.0])  # last code: missing
    groups = _mass_coarsening(mass, 8, missing=True)
    assert groups[-1] == 7 and np.count_nonzero(groups == 7) == 1  # missing keeps a group of its own
    body = groups[:-1]
    assert np.all(np.diff(body) >= 0) and set(body) == set(range(7))  # contiguous runs, every group used
    assert np.count_nonzero(body == body[3]) == 1 and np.count_nonzero(body == body[4]) == 1  # the two heavy cells
    assert np.count_nonzero(body == body[-1]) >= 8  # the empty upper tail is one run
    assert np.array_equal(_mass_coarsening(np.ones(16), 8), np.repeat(np.arange(8), 2))  # even mass: even runs
    assert np.array_equal(_mass_coarsening(np.ones(5), 8), np.arange(5))  # narrow enough already


@pytest.mark.parametrize("column", ["heart_rate", "sbp"])
def test_mass_cells_split_a_vital_sign_where_the_patients_are(sim_spec, sim_rows, column):
    """Equal-width runs put most recorded heart rates in one or two pair cells; equal-mass runs spread them."""
    encoded = TableEncoder(sim_spec).encode(sim_rows)
    largest = {}
    for cells in ("width", "mass"):
        prior = JointPrior(sim_spec, CONFIG.model_copy(update={"numeric_cells": cells}))
        codes = prior.layout.codes_of(encoded)
        prior._release(codes, noise_multiplier=None, rng=np.random.default_rng(0))  # exact counts
        recorded = codes[column].to_numpy() < prior.sizes[column] - 1  # the last code is "missing"
        groups = prior.coarse[column][codes[column].to_numpy()[recorded]]
        largest[cells] = np.bincount(groups).max() / recorded.sum()
    assert largest["mass"] < 0.7 * largest["width"]


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


def test_the_second_round_measures_pairs_the_tree_explains_badly_and_the_draws_hold_them(
    sim_spec, sim_rows, exact_prior
):
    """With exact counts, the further pairs' 2-way marginals come out closer to the rows' than the tree alone gives."""
    tree_only = JointPrior(sim_spec, CONFIG.model_copy(update={"extra_pairs": 0})).fit(
        TableEncoder(sim_spec).encode(sim_rows), noise_multiplier=None, rng=np.random.default_rng(0)
    )
    extra = exact_prior.pairs[len(tree_only.pairs) :]
    assert len(tree_only.pairs) == len(exact_prior.features) - 1 and len(extra) == CONFIG.extra_pairs
    assert not set(extra) & set(exact_prior.pairs[: len(tree_only.pairs)])
    real = exact_prior.layout.codes_of(TableEncoder(sim_spec).encode(sim_rows))
    with_extra = exact_prior.layout.codes_of(exact_prior.draw(20_000, seed=1))
    without = tree_only.layout.codes_of(tree_only.draw(20_000, seed=1))

    def tvd(drawn, a, b):
        ca, cb = exact_prior.coarse[a], exact_prior.coarse[b]
        return _pair_tvd(ca[real[a]], cb[real[b]], ca[drawn[a].to_numpy()], cb[drawn[b].to_numpy()])

    assert np.mean([tvd(with_extra, a, b) for a, b in extra]) < 0.8 * np.mean([tvd(without, a, b) for a, b in extra])


def test_a_second_round_score_moves_by_at_most_one_when_a_row_is_removed(sim_spec, sim_rows, exact_prior):
    """The sensitivity its Gaussian noise is set for: the fit's counts are scaled by its own total, not the rows'."""
    codes = exact_prior.layout.codes_of(TableEncoder(sim_spec).encode(sim_rows))
    candidates = list(itertools.combinations(exact_prior.features, 2))
    full = exact_prior._fit_scores(codes, candidates, seed=3)
    for row in (0, 17, 599):
        fewer = exact_prior._fit_scores(codes.drop(index=row).reset_index(drop=True), candidates, seed=3)
        assert np.abs(full - fewer).max() <= 1.0 + 1e-9


def test_a_model_size_cap_keeps_the_second_round_to_pairs_that_fit_it(sim_spec, sim_rows):
    config = CONFIG.model_copy(update={"iters": 20, "max_model_mb": 1e-6})  # smaller than any model
    prior = JointPrior(sim_spec, config)
    codes = prior.layout.codes_of(TableEncoder(sim_spec).encode(sim_rows))
    release = prior._release(codes, noise_multiplier=None, rng=np.random.default_rng(0))
    prior._model = prior._estimate(release)
    assert (
        prior._second_round(codes, release, noise_multiplier=None, rng=np.random.default_rng(0)).pairs == release.pairs
    )


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
    with pytest.raises(ValueError, match="extra_selection_share"):
        JointPriorConfig(one_way_share=0.7, selection_share=0.05, extra_selection_share=0.2)
    assert JointPriorConfig(one_way_share=0.7, selection_share=0.05, extra_selection_share=0.2, extra_pairs=0)
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
