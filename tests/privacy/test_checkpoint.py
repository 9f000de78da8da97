"""An interrupted DP-SGD run resumes from its last epoch and ends exactly as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.privacy.test_dp import params, regression_task
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.privacy.dp import train_dp
from traumasynth.privacy.task import DPTask

CPU = torch.device("cpu")


class Interrupted(Exception):
    """Stands for Ctrl-C or a killed job in the middle of an epoch."""


def interrupted_after(steps: int) -> tuple[DPTask, object]:
    task, data = regression_task()
    calls = 0

    def make_batch(batch, generator):
        nonlocal calls
        calls += 1
        if calls > steps:
            raise Interrupted
        return task.make_batch(batch, generator)

    return DPTask(module=task.module, criterion=task.criterion, make_batch=make_batch), data


def train(task: DPTask, data, *, seed: int = 1, control: LoopControl | None = None):
    return train_dp(
        task=task, dataset=data, params=params(accountant="prv"), device=CPU, seed=seed, noise_multiplier=1.0,
        control=control,
    )  # fmt: skip


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_resumed_run_ends_with_the_same_model_steps_and_epsilon(tmp_path: Path) -> None:
    checkpoint = tmp_path / "vae.pt"
    control = LoopControl(checkpoint=checkpoint, checkpoint_every_s=0.0)
    whole_task, data = regression_task()
    whole = train(whole_task, data)

    task, data = interrupted_after(20)  # 8 steps per epoch: stopped inside the third epoch
    with pytest.raises(Interrupted):
        train(task, data, control=control)
    assert checkpoint.is_file()  # epochs 1 and 2 are kept

    resumed_task, data = regression_task()  # a rerun builds the same starting network
    resumed = train(resumed_task, data, control=control)
    assert same_weights(resumed_task.module, whole_task.module)
    assert resumed.steps == whole.steps and resumed.loss_curve == whole.loss_curve
    assert resumed.epsilon == pytest.approx(whole.epsilon, rel=1e-12)  # the accountant saw every step once
    assert not checkpoint.exists()  # removed when training ends: it holds the noise generators' states


def test_a_checkpoint_of_another_training_is_ignored(tmp_path: Path) -> None:
    checkpoint = tmp_path / "vae.pt"
    control = LoopControl(checkpoint=checkpoint, checkpoint_every_s=0.0)
    task, data = interrupted_after(20)
    with pytest.raises(Interrupted):
        train(task, data, seed=1, control=control)

    other_task, data = regression_task()
    train(other_task, data, seed=2, control=control)  # another seed: another release, starts over
    reference_task, data = regression_task()
    train(reference_task, data, seed=2)
    assert same_weights(other_task.module, reference_task.module)


def test_a_truncated_checkpoint_starts_over(tmp_path: Path) -> None:
    checkpoint = tmp_path / "vae.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    task, data = regression_task()
    result = train(task, data, control=LoopControl(checkpoint=checkpoint, checkpoint_every_s=0.0))
    assert result.steps == 4 * 8 and not checkpoint.exists()


def test_a_benchmark_run_keeps_no_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "vae.pt"
    task, data = regression_task()
    train(task, data, control=LoopControl(max_steps=12, checkpoint=checkpoint, checkpoint_every_s=0.0))
    assert not checkpoint.exists()
