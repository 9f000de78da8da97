"""Composition of the training (ε, δ) with the sampling stage's DP histogram."""

from __future__ import annotations

import numpy as np
import pytest

from traumasynth.errors import DataError
from traumasynth.privacy.budget import TrainPrivacy, compose_budget, prv_composition, rdp_composition
from traumasynth.privacy.dp import compute_epsilon
from traumasynth.privacy.histogram import HistogramRelease, gaussian_sigma

# A DP-SGD run: noise 1.1, batch 256 of 13,000 rows, 30 epochs.
NM, Q, STEPS, DELTA = 1.1, 256 / 13_000, 30 * 51, 1e-5


def _release(mechanism: str, epsilon: float = 0.1, delta: float = 0.0) -> HistogramRelease:
    scale = 1 / epsilon if mechanism == "geometric" else gaussian_sigma(epsilon=epsilon, delta=delta)
    return HistogramRelease(
        counts=np.array([5, 3]), mechanism=mechanism, epsilon=epsilon, delta=delta, noise_scale=scale, sensitivity=1
    )


def _train(epsilon: float) -> TrainPrivacy:
    return TrainPrivacy(epsilon=epsilon, delta=DELTA, noise_multiplier=NM, sample_rate=Q, steps=STEPS)


def test_basic_composition_without_dp_sgd_parameters() -> None:
    budget = compose_budget(train=TrainPrivacy(epsilon=2.0, delta=1e-5), histogram=_release("gaussian", 0.1, 1e-6))
    assert budget.epsilon == pytest.approx(2.1)
    assert budget.delta == pytest.approx(1.1e-5)
    assert budget.composition.startswith("basic")
    assert budget.epsilon_rdp is None and budget.epsilon_prv is None


def test_rdp_composition_regression() -> None:
    eps = rdp_composition(train=_train(4.38), histogram=_release("geometric"), delta=DELTA)
    assert eps == pytest.approx(4.408607120195949, rel=1e-9)
    # the histogram costs something, but less than its own epsilon
    alone = compute_epsilon(noise_multiplier=NM, sample_rate=Q, steps=STEPS, delta=DELTA, accountant="rdp")
    assert alone < eps < alone + 0.1


def test_rdp_wins_over_basic_when_training_was_accounted_in_rdp() -> None:
    eps_train = compute_epsilon(noise_multiplier=NM, sample_rate=Q, steps=STEPS, delta=DELTA, accountant="rdp")
    budget = compose_budget(train=_train(eps_train), histogram=_release("geometric"))
    assert budget.composition.startswith("rdp")
    assert budget.epsilon == pytest.approx(4.408607120195949, rel=1e-9)
    assert budget.epsilon < budget.epsilon_basic == pytest.approx(eps_train + 0.1)
    assert budget.delta == DELTA


def test_prv_composes_a_gaussian_histogram_almost_for_free() -> None:
    eps_train = compute_epsilon(noise_multiplier=NM, sample_rate=Q, steps=STEPS, delta=DELTA, accountant="prv")
    hist = _release("gaussian", 0.1, 1e-6)
    budget = compose_budget(train=_train(eps_train), histogram=hist)
    assert budget.composition.startswith("prv")
    assert budget.epsilon == pytest.approx(prv_composition(train=_train(eps_train), histogram=hist, delta=DELTA))
    assert eps_train - 0.01 <= budget.epsilon < eps_train + 0.05  # 0.1 spent alone, a few thousandths composed
    assert budget.epsilon < budget.epsilon_basic
    assert budget.delta == DELTA  # the histogram's whole privacy curve is accounted: its own delta is not added


def test_the_reported_bound_is_the_smallest() -> None:
    budget = compose_budget(train=_train(1.0), histogram=_release("geometric"))  # a (fictitious) tight training ε
    assert budget.composition.startswith("basic")
    assert budget.epsilon == pytest.approx(1.1)
    assert budget.epsilon_rdp is not None and budget.epsilon_rdp > 1.1
    assert "rdp" in budget.composition  # the other bound is named


def test_non_dp_training_has_no_total() -> None:
    budget = compose_budget(train=TrainPrivacy(epsilon=None, delta=None), histogram=_release("geometric"))
    assert budget.epsilon is None and budget.delta is None
    assert "not differentially private" in budget.composition


def test_train_privacy_from_metrics() -> None:
    metrics = {"epsilon": 3.0, "delta": 1e-5, "noise_multiplier": 1.2, "sample_rate": 0.04, "steps": 750}
    tp = TrainPrivacy.from_metrics(metrics)
    assert tp == TrainPrivacy(epsilon=3.0, delta=1e-5, noise_multiplier=1.2, sample_rate=0.04, steps=750)
    assert tp.has_rdp_parameters
    assert TrainPrivacy.from_metrics({"epsilon": None, "delta": None}) == TrainPrivacy(epsilon=None, delta=None)
    assert not TrainPrivacy.from_metrics({"epsilon": 1.0, "delta": 1e-5, "noise_multiplier": 0.0}).has_rdp_parameters
    with pytest.raises(DataError, match="no 'epsilon' key"):
        TrainPrivacy.from_metrics({"delta": 1e-5})
    with pytest.raises(DataError, match="no 'delta'"):
        TrainPrivacy.from_metrics({"epsilon": 1.0})
    with pytest.raises(DataError, match="cannot compose in RDP"):
        rdp_composition(train=TrainPrivacy(epsilon=1.0, delta=1e-5), histogram=_release("geometric"), delta=1e-5)
