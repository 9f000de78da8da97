"""The budget plan: every mechanism composed stays within the total ε the user asked for."""

from __future__ import annotations

import math

import pytest
import torch
from opacus.accountants import create_accountant
from opacus.data_loader import DPDataLoader
from torch.utils.data import DataLoader, TensorDataset

from traumasynth.core.errors import PrivacyBudgetError
from traumasynth.privacy.histogram import gaussian_epsilon
from traumasynth.privacy.plan import BudgetPlan, SGDShape, compose_releases, gaussian_mu, plan_budget


def _prv_epsilon(plan: BudgetPlan) -> float:
    """The plan's ε recomputed from its noise alone with a fresh Opacus PRV accountant.

    At the plan's numerical precision (error at most 0.5 % of ε): a looser PRV bound is also valid
    but can read above a target that a tighter valid bound meets.
    """
    accountant = create_accountant(mechanism="prv")
    accountant.history = [(plan.sgd_noise, plan.sgd.sample_rate, plan.sgd.steps)] + [
        (s, 1.0, 1) for s in (plan.histogram_noise, plan.prior_noise) if s is not None
    ]
    import numpy as np

    with np.errstate(divide="ignore"):
        return float(accountant.get_epsilon(delta=plan.delta, eps_error=min(0.01, 0.005 * plan.epsilon_target)))


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0, 8.0])
@pytest.mark.parametrize(
    ("n_rows", "batch_size", "epochs", "prior_share"),
    [(650, 64, 20, 0.5), (6500, 512, 30, None), (13000, 1024, 60, 0.3)],
)
def test_composed_epsilon_never_exceeds_the_target(epsilon, n_rows, batch_size, epochs, prior_share):
    shape = SGDShape.for_loader(n_rows=n_rows, batch_size=batch_size, epochs=epochs)
    plan = plan_budget(epsilon=epsilon, delta=1e-5, histogram_share=0.02, prior_share=prior_share, sgd=shape)
    assert plan.epsilon <= epsilon
    assert _prv_epsilon(plan) <= epsilon + 1e-9  # recomputed independently of the plan's own number
    # and the plan does not waste the budget: at least 95 % of it is spent
    assert plan.epsilon >= 0.95 * epsilon
    # the noise the DP-SGD gets is what remains: less would overspend
    lower = plan_budget(epsilon=epsilon * 1.1, delta=1e-5, histogram_share=0.02, prior_share=prior_share, sgd=shape)
    assert lower.sgd_noise < plan.sgd_noise


def test_a_small_dp_sgd_share_still_fits_at_small_epsilon():
    # 3 % of mu^2 for DP-SGD at ε = 0.5: PRV's numerical error must be small beside it
    shape = SGDShape.for_loader(n_rows=6500, batch_size=406, epochs=30)
    plan = plan_budget(epsilon=0.5, delta=1e-5, histogram_share=0.02, prior_share=0.95, sgd=shape)
    assert plan.epsilon <= 0.5 and _prv_epsilon(plan) <= 0.5 + 1e-9
    with pytest.raises(PrivacyBudgetError, match="leave DP-SGD too little"):
        plan_budget(epsilon=0.5, delta=1e-5, histogram_share=0.02, prior_share=0.979, sgd=shape)


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 4.0])
def test_gaussian_only_plan_spends_exactly_the_target(epsilon):
    plan = plan_budget(epsilon=epsilon, delta=1e-5, histogram_share=0.05, prior_share=0.9, sgd=None)
    # two Gaussians compose to one with mu^2 added: check from the noise alone
    mu = gaussian_mu([plan.histogram_noise, plan.prior_noise])
    assert gaussian_epsilon(sigma=1 / mu, delta=1e-5) == pytest.approx(epsilon, rel=1e-6)
    assert plan.epsilon <= epsilon
    # the histogram's share of mu^2 is what was asked
    assert (1 / plan.histogram_noise**2) / mu**2 == pytest.approx(0.05, rel=1e-9)


def test_shape_matches_opacus_poisson_loader():
    for n, b in [(650, 64), (6500, 512), (13000, 1024), (100, 100)]:
        loader = DataLoader(TensorDataset(torch.zeros(n, 1)), batch_size=b)
        dp_loader = DPDataLoader.from_data_loader(loader)
        shape = SGDShape.for_loader(n_rows=n, batch_size=b, epochs=3)
        assert len(dp_loader) * 3 == shape.steps
        assert math.isclose(dp_loader.sample_rate, shape.sample_rate)


def test_plan_round_trips_through_metrics():
    shape = SGDShape.for_loader(n_rows=1000, batch_size=100, epochs=5)
    plan = plan_budget(epsilon=2.0, delta=1e-6, histogram_share=0.02, prior_share=0.4, sgd=shape)
    assert BudgetPlan.from_metrics(plan.to_metrics()).sgd == plan.sgd
    assert [m["name"] for m in plan.mechanisms()] == ["class histogram", "marginal prior", "DP-SGD"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"epsilon": 0.0}, "positive"),
        ({"delta": 1.5}, "delta"),
        ({"histogram_share": 0.0}, "histogram_share"),
        ({"prior_share": 0.99}, "leaves no budget"),
    ],
)
def test_bad_settings_are_refused(kwargs, words):
    args = {"epsilon": 1.0, "delta": 1e-5, "histogram_share": 0.02, "prior_share": 0.5}
    args |= kwargs
    shape = SGDShape.for_loader(n_rows=1000, batch_size=100, epochs=2)
    with pytest.raises(PrivacyBudgetError, match=words):
        plan_budget(**args, sgd=shape)


def test_the_accountant_setting_chooses_how_the_plan_composes():
    """``train_dp_tabular.accountant`` is not a label: RDP's looser bound needs more DP-SGD noise for the same ε."""
    shape = SGDShape.for_loader(n_rows=13_000, batch_size=812, epochs=30)
    prv = plan_budget(epsilon=3.0, delta=1e-5, histogram_share=0.02, prior_share=0.5, sgd=shape, accountant="prv")
    rdp = plan_budget(epsilon=3.0, delta=1e-5, histogram_share=0.02, prior_share=0.5, sgd=shape, accountant="rdp")
    assert rdp.composition.startswith("rdp") and prv.composition.startswith("prv")
    assert rdp.sgd_noise > 1.02 * prv.sgd_noise
    assert rdp.epsilon <= 3.0 and prv.epsilon <= 3.0


def test_a_folder_of_models_composes_to_less_than_their_sum():
    shape = SGDShape.for_loader(n_rows=13_000, batch_size=812, epochs=30)
    vae = plan_budget(epsilon=3.0, delta=1e-5, histogram_share=0.02, prior_share=0.95, sgd=shape)
    floor = plan_budget(epsilon=3.0, delta=1e-5, histogram_share=0.02, prior_share=0.98, sgd=None)
    eps, delta, rule = compose_releases([vae, vae])
    assert delta == 2e-5 and 3.0 < eps < 6.0 and "every model" in rule
    eps_floor, _, rule_floor = compose_releases([floor, floor])
    # two Gaussian releases: exact, mu^2 adds (one release at ε = 3 with sqrt(2) x mu)
    assert 3.0 < eps_floor < 6.0 and "exact" in rule_floor
    assert compose_releases([floor]) == (floor.epsilon, floor.delta, floor.composition)
