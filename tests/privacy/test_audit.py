"""The one-run privacy audit: its ε lower bound, its canaries, and that it passes a DP run and fails a broken one."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import traumasynth.models.sgd as sgd
from tests.conftest import REPO
from traumasynth.core.errors import NotFittedError, ParamsError
from traumasynth.encoding.table import TableEncoder
from traumasynth.experiments.privacy_audit import best_guess, draw_inclusion, guess_and_bound, make_canaries, run_audit
from traumasynth.models.vae import VAESynthesizer
from traumasynth.privacy.audit_bound import audit_p_value, epsilon_lower_bound
from traumasynth.training import TrainParams

# -- the bound -------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [10, 100, 500])
def test_all_guesses_right_gives_the_closed_form(r):
    # delta = 0, v = r: P[Binomial(r, q) >= r] = q^r = 0.05  =>  q = 0.05^(1/r), eps = logit(q)
    q = 0.05 ** (1 / r)
    expected = math.log(q / (1 - q))
    assert epsilon_lower_bound(m=1000, guesses=r, correct=r, delta=0.0) == pytest.approx(expected, rel=1e-9)


def _brute_p_value(m, r, v, eps, delta):
    """The paper's p-value written out with exact binomial coefficients (no scipy)."""
    q = math.exp(eps) / (1 + math.exp(eps))
    pmf = [math.comb(r, j) * q**j * (1 - q) ** (r - j) for j in range(r + 1)]
    tail = sum(pmf[v:])
    alpha = max((sum(pmf[v - i : v]) / i for i in range(1, v + 1)), default=0.0)
    return min(1.0, tail + 2 * m * delta * alpha)


@pytest.mark.parametrize(
    ("m", "r", "v", "eps", "delta"),
    [(50, 20, 17, 1.0, 0.01), (1000, 40, 35, 2.0, 1e-5), (200, 30, 15, 0.5, 1e-3), (10, 10, 10, 0.0, 0.0)],
)
def test_p_value_matches_brute_force(m, r, v, eps, delta):
    got = audit_p_value(m=m, guesses=r, correct=v, epsilon=eps, delta=delta)
    assert got == pytest.approx(_brute_p_value(m, r, v, eps, delta), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("delta", [0.0, 1e-5])
def test_bound_sits_on_the_rejection_boundary(delta):
    m, r, v = 1000, 200, 170
    eps = epsilon_lower_bound(m=m, guesses=r, correct=v, delta=delta)
    assert 0 < eps
    assert _brute_p_value(m, r, v, eps - 1e-6, delta) < 0.05 <= _brute_p_value(m, r, v, eps + 1e-6, delta)


@pytest.mark.parametrize("r", [2, 10, 100, 1000])
def test_guesses_at_chance_give_zero(r):
    assert epsilon_lower_bound(m=1000, guesses=r, correct=r // 2, delta=1e-5) == 0.0
    assert epsilon_lower_bound(m=1000, guesses=r, correct=0, delta=0.0) == 0.0
    assert epsilon_lower_bound(m=1000, guesses=0, correct=0, delta=0.0) == 0.0


def test_bound_is_monotone():
    by_correct = [epsilon_lower_bound(m=1000, guesses=100, correct=v, delta=1e-5) for v in range(0, 101, 5)]
    assert by_correct == sorted(by_correct) and by_correct[-1] > 3
    by_guesses = [epsilon_lower_bound(m=1000, guesses=r, correct=r, delta=0.0) for r in (5, 10, 50, 100, 500)]
    assert by_guesses == sorted(by_guesses)
    by_delta = [epsilon_lower_bound(m=1000, guesses=100, correct=90, delta=d) for d in (0.0, 1e-5, 1e-3, 1e-2)]
    assert by_delta == sorted(by_delta, reverse=True)
    by_confidence = [epsilon_lower_bound(m=1000, guesses=100, correct=90, delta=0.0, confidence=c) for c in (0.9, 0.99)]
    assert by_confidence[0] > by_confidence[1]


def test_bound_holds_for_randomized_response():
    # An exactly eps0-DP guesser: each guess right with probability e^eps0 / (1 + e^eps0).
    eps0, r, trials = 1.0, 200, 300
    rng = np.random.default_rng(0)
    wins = rng.binomial(r, math.exp(eps0) / (1 + math.exp(eps0)), size=trials)
    above = sum(epsilon_lower_bound(m=r, guesses=r, correct=int(v), delta=0.0) > eps0 for v in wins)
    assert above / trials <= 0.08  # at most 5 % in expectation


def test_bound_rejects_impossible_counts():
    with pytest.raises(ParamsError, match="correct <= guesses <= m"):
        epsilon_lower_bound(m=10, guesses=20, correct=5, delta=0.0)
    with pytest.raises(ParamsError, match="confidence"):
        epsilon_lower_bound(m=10, guesses=5, correct=5, delta=0.0, confidence=1.0)


def test_guessing_perfect_and_reversed_scores():
    rng = np.random.default_rng(1)
    included = draw_inclusion(m=200, rng=rng)
    scores = np.where(included, 0.0, 1.0) + rng.uniform(0, 0.1, size=200)  # included rows fit better
    guesses = guess_and_bound(scores=scores, included=included, delta=1e-5)
    assert [g.k for g in guesses] == [2, 10, 20, 50, 100]  # shares of m = 200, one side each
    best = best_guess(guesses)
    assert best.correct == 2 * best.k
    # five choices of k: each bound at 99 %, so the best holds at 95 %
    assert best.epsilon_lower == pytest.approx(
        epsilon_lower_bound(m=200, guesses=2 * best.k, correct=2 * best.k, delta=1e-5, confidence=0.99)
    )
    reversed_ = best_guess(guess_and_bound(scores=-scores, included=included, delta=1e-5))
    assert reversed_.epsilon_lower == 0.0


# -- canaries --------------------------------------------------------------------------------


def test_canaries_are_valid_reproducible_rows_of_the_spec(sim_spec):
    first = make_canaries(spec=sim_spec, m=50, rng=np.random.default_rng(3))
    again = make_canaries(spec=sim_spec, m=50, rng=np.random.default_rng(3))
    assert first.equals(again)
    enc = TableEncoder(sim_spec).encode(first)  # raises on anything outside the spec
    assert len(enc) == 50
    numeric = [c.name for c in sim_spec.modelled_columns if c.kind in ("integer", "continuous")]
    assert not first[numeric].isna().any().any()  # every value present: a distinctive row
    assert first[sim_spec.target.name].nunique() > 3
    with pytest.raises(ParamsError, match="at least 2 canaries"):
        make_canaries(spec=sim_spec, m=1, rng=np.random.default_rng(0))


def test_audit_needs_a_per_example_loss(sim_spec, sim_rows):
    with pytest.raises(ParamsError, match="vae or ddpm"):
        run_audit(model="marginals", data=sim_rows, spec=sim_spec, params=TrainParams(epsilon=1.0), m=10, seed=1)
    with pytest.raises(NotFittedError):
        VAESynthesizer(spec=sim_spec).per_example_loss(sim_rows.head(3))


# -- audits of real training runs ---------------------------------------------------------------


def _params(*, epochs: int, accountant: str = "prv") -> TrainParams:
    return TrainParams(epsilon=1.0, epochs=epochs, device="cpu", accountant=accountant)


@pytest.fixture()
def broken_noise(monkeypatch):
    """A broken mechanism: the budget plan claims ε as usual, but the noise it sets is switched off.

    ``which`` is ``"all"`` (prior released exactly and DP-SGD without noise) or ``"sgd"`` (DP-SGD
    only). The test-only seam is ``traumasynth.models.sgd.plan_budget``: the real plan, then zeros.
    """

    def apply(which: str) -> None:
        real = sgd.plan_budget
        zeros = {"sgd_noise": 0.0} if which == "sgd" else {"sgd_noise": 0.0, "prior_noise": 0.0}
        # The plan is composed with PRV (RDP cannot fit ε = 1 here); training reads ε back with the
        # run's accountant, RDP, which reports inf for zero-noise steps where PRV cannot answer.
        monkeypatch.setattr(
            sgd, "plan_budget", lambda **kw: dataclasses.replace(real(**{**kw, "accountant": "prv"}), **zeros)
        )

    return apply


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vae", "ddpm"])
def test_audit_of_a_dp_run_stays_below_its_epsilon(sim_spec, sim_rows, model):
    result = run_audit(model=model, data=sim_rows, spec=sim_spec, params=_params(epochs=5), m=200, seed=1)
    assert result.epsilon_reported is not None and result.epsilon_reported <= 1.0
    assert result.epsilon_lower <= result.epsilon_reported
    assert result.passed
    assert result.m == 200 and 0 < result.included < 200 and result.correct <= result.k_plus + result.k_minus
    assert max(g.epsilon_lower for g in result.by_k) == result.epsilon_lower


# RDP warns that its smallest order is optimal for zero-noise steps: expected of the broken mechanism.
@pytest.mark.filterwarnings("ignore:Optimal order is the smallest alpha")
@pytest.mark.slow
@pytest.mark.parametrize("model", ["vae", "ddpm"])
def test_audit_catches_a_mechanism_without_noise(sim_spec, sim_rows, model, broken_noise):
    broken_noise("all")
    # PRV cannot read back the ε of zero-noise DP-SGD steps; RDP reports inf (the claim is the plan's).
    result = run_audit(
        model=model, data=sim_rows, spec=sim_spec, params=_params(epochs=5, accountant="rdp"), m=200, seed=1
    )
    assert result.epsilon_reported is not None and result.epsilon_reported <= 1.0  # what the run claims
    assert result.epsilon_lower > 1.5 * result.epsilon_reported
    assert result.passed is False


@pytest.mark.filterwarnings("ignore:Optimal order is the smallest alpha")
@pytest.mark.slow
def test_audit_catches_dp_sgd_without_noise_alone(sim_spec, sim_rows, broken_noise):
    broken_noise("sgd")  # the prior keeps its noise: only DP-SGD's memorisation is left to find
    result = run_audit(
        model="vae", data=sim_rows, spec=sim_spec, params=_params(epochs=30, accountant="rdp"), m=200, seed=1
    )
    assert result.epsilon_lower > 1.5 * result.epsilon_reported


# -- the command --------------------------------------------------------------------------------


def _audit_command():
    import importlib.util

    path = REPO / "benchmarks" / "privacy_audit.py"
    module_spec = importlib.util.spec_from_file_location("privacy_audit_cli", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.app


@pytest.mark.parametrize(("model", "message"), [("gan", "Unknown model 'gan'"), ("marginals", "vae or ddpm")])
def test_command_refuses_a_model_it_cannot_audit(tmp_path, model, message):
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(_audit_command(), ["ed_trauma_sim", model, "--out", str(out)])
    assert result.exit_code == 1
    assert message in result.stderr
    assert not out.exists()
