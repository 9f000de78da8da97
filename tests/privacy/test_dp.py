"""DP-SGD wiring: pinned ε, bad privacy settings, and the one loop in DP and non-DP modes."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from traumasynth.core.errors import ParamsError, PrivacyBudgetError, TrainingError
from traumasynth.core.params import load_section
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.privacy.dp import train_dp
from traumasynth.privacy.inputs import check_privacy_inputs, resolve_device
from traumasynth.privacy.plan import SGDShape, plan_budget
from traumasynth.privacy.task import DPTask
from traumasynth.training import TrainParams


class PerExampleMSE(nn.Module):
    """Squared error summed over features; ``reduction="none"`` gives ``[B]``."""

    def __init__(self) -> None:
        super().__init__()
        self.reduction = "mean"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = ((output - target) ** 2).sum(dim=1)
        return loss if self.reduction == "none" else loss.mean()


def regression_task(module: nn.Module | None = None) -> tuple[DPTask, TensorDataset]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 4, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]]) + 0.1
    torch.manual_seed(0)
    net = module or nn.Sequential(nn.Linear(4, 16), nn.LayerNorm(16), nn.SiLU(), nn.Linear(16, 1))

    def make_batch(batch, generator):
        xb, yb = batch
        return (xb,), yb

    return DPTask(module=net, criterion=PerExampleMSE(), make_batch=make_batch), TensorDataset(x, y)


def params(**kw) -> TrainParams:
    # rdp: its noise calibration is ~5x faster than prv's, which one test covers
    base = {
        "epsilon": 5.0,
        "delta": 1e-4,
        "epochs": 4,
        "batch_size": 50,
        "lr": 0.02,
        "device": "cpu",
        "accountant": "rdp",
    }
    return TrainParams(**{**base, **kw})


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan"), float("inf")])
def test_epsilon_must_be_positive(epsilon, tmp_path):
    """ε is validated once, where params.yaml is read; the message names the key."""
    path = tmp_path / "params.yaml"
    path.write_text(f"train_dp_tabular:\n  epsilon: {epsilon}\n")
    with pytest.raises(ParamsError, match=r"train_dp_tabular\.epsilon: .*must be a positive number"):
        load_section(path, "train_dp_tabular", TrainParams)


def test_delta_must_be_well_below_one_over_n():
    with pytest.raises(PrivacyBudgetError, match=r"not below 1/n = 0.001.*whole record"):
        check_privacy_inputs(epsilon=1.0, delta=1e-3, n_rows=1000, batch_size=10)
    check_privacy_inputs(epsilon=1.0, delta=1e-4, n_rows=1000, batch_size=10)  # fine


def test_default_delta_holds_for_a_registry_of_ten_million_rows():
    """Issue 28: the old default 1e-5 refused any table above 100,000 training rows."""
    default = TrainParams().delta
    for n_rows in (600, 13_000, 130_000, 650_000, 10_000_000):
        check_privacy_inputs(epsilon=3.0, delta=default, n_rows=n_rows, batch_size=1)
    assert default * 1_000_000 <= 0.01  # δ ≪ 1/n, not only below it, up to a million rows


def test_delta_is_not_checked_without_dp():
    check_privacy_inputs(epsilon=None, delta=0.5, n_rows=100, batch_size=10)


def test_batch_larger_than_dataset():
    with pytest.raises(ParamsError, match="batch_size = 500 is larger than the 100 training rows"):
        check_privacy_inputs(epsilon=1.0, delta=1e-5, n_rows=100, batch_size=500)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ParamsError, match="no GPU"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")


def test_dp_training_takes_the_planned_steps_at_the_planned_noise_and_learns():
    task, data = regression_task()
    shape = SGDShape.for_loader(n_rows=400, batch_size=50, epochs=4)
    plan = plan_budget(epsilon=5.0, delta=1e-4, histogram_share=0.02, prior_share=None, sgd=shape)
    result = train_dp(
        task=task, dataset=data, params=params(accountant="prv"), device=torch.device("cpu"), seed=1,
        noise_multiplier=plan.sgd_noise,
    )  # fmt: skip
    assert result.dp and result.grad_sample_mode == "ghost" and result.accountant == "prv"
    assert result.noise_multiplier == pytest.approx(plan.sgd_noise)
    assert result.sample_rate == pytest.approx(shape.sample_rate) == pytest.approx(50 / 400)
    assert result.steps == shape.steps == 4 * 8
    assert result.epsilon < plan.epsilon <= 5.0  # the DP-SGD part alone spends less than the whole plan
    assert result.loss_curve[-1][1] < result.loss_curve[0][1]
    assert not any(hasattr(p, "grad_sample") for p in task.module.parameters())  # Opacus hooks removed


def test_max_steps_stops_early_and_says_so():
    """The scaling benchmark times a fixed number of steps; the result is marked as not the release."""
    task, data = regression_task()
    result = train_dp(
        task=task, dataset=data, params=params(), device=torch.device("cpu"), seed=1, noise_multiplier=1.0,
        control=LoopControl(max_steps=5),
    )  # fmt: skip
    assert result.steps == 5 and result.step_limit == 5
    assert result.sgd_seconds > 0 and result.to_metrics()["step_limit"] == 5
    assert "step_limit" not in result.to_model_meta() and "sgd_seconds" not in result.to_model_meta()
    full = train_dp(
        task=regression_task()[0], dataset=data, params=params(), device=torch.device("cpu"), seed=1,
        noise_multiplier=1.0,
    )  # fmt: skip
    assert full.steps == 4 * 8 and full.step_limit is None and "step_limit" not in full.to_metrics()


def test_ghost_hooks_and_functorch_compute_the_same_update():
    curves = {}
    for mode in ("ghost", "hooks", "functorch"):
        task, data = regression_task()
        res = train_dp(
            task=task,
            dataset=data,
            params=params(grad_sample_mode=mode, epochs=2),
            device=torch.device("cpu"),
            seed=3,
            noise_multiplier=1.0,
        )
        curves[mode] = [loss for _, loss in res.loss_curve]
    assert curves["ghost"] == pytest.approx(curves["hooks"], rel=1e-4)
    assert curves["functorch"] == pytest.approx(curves["hooks"], rel=1e-4)


def test_non_dp_reference_uses_the_same_loop():
    task, data = regression_task()
    result = train_dp(
        task=task, dataset=data, params=params(epsilon=None), device=torch.device("cpu"), seed=1, noise_multiplier=None
    )
    assert not result.dp and result.epsilon is None and result.noise_multiplier == 0.0
    assert result.loss_curve[-1][1] < 0.5 * result.loss_curve[0][1]


def test_same_seed_same_model():
    weights = []
    for _ in range(2):
        task, data = regression_task()
        train_dp(
            task=task, dataset=data, params=params(epochs=1), device=torch.device("cpu"), seed=9, noise_multiplier=1.0
        )
        weights.append(torch.cat([p.detach().flatten() for p in task.module.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_nan_loss_stops_with_training_error():
    task, data = regression_task()
    with pytest.raises(TrainingError, match="loss became (nan|inf).*Lower train_dp_tabular.lr"):
        train_dp(
            task=task,
            dataset=data,
            params=params(epsilon=None, lr=1e30, epochs=20),
            device=torch.device("cpu"),
            seed=1,
            noise_multiplier=None,
        )


def test_batchnorm_is_refused():
    task, data = regression_task(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1)))
    with pytest.raises(TrainingError, match="BatchNorm"):
        train_dp(task=task, dataset=data, params=params(), device=torch.device("cpu"), seed=1, noise_multiplier=1.0)


def test_secure_mode_needs_torchcsprng():
    pytest.importorskip("torch")  # always there; the check below is what matters
    try:
        import torchcsprng  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("torchcsprng is installed")
    task, data = regression_task()
    with pytest.raises(PrivacyBudgetError, match="torchcsprng"):
        train_dp(
            task=task,
            dataset=data,
            params=params(secure_mode=True),
            device=torch.device("cpu"),
            seed=1,
            noise_multiplier=1.0,
        )


def test_empty_poisson_batches_are_accounted():
    task, data = regression_task()
    small = TensorDataset(*(t[:30] for t in data.tensors))
    result = train_dp(
        task=task,
        dataset=small,
        params=params(batch_size=1, epochs=2, delta=1e-3),
        device=torch.device("cpu"),
        seed=2,
        noise_multiplier=1.0,
    )
    assert result.steps == 60  # every step counts, empty or not


def test_batch_size_null_takes_a_sixteenth_of_the_rows():
    from traumasynth.privacy.inputs import auto_batch_size

    assert [auto_batch_size(n) for n in (10, 650, 6500, 13000, 100_000)] == [1, 40, 406, 812, 1024]
    task, data = regression_task()  # 400 rows: batches of 25, 16 steps an epoch
    result = train_dp(
        task=task, dataset=data, params=params(batch_size=None, epochs=1), device=torch.device("cpu"), seed=1,
        noise_multiplier=1.0,
    )  # fmt: skip
    assert result.batch_size == 25 and result.steps == 16
