"""The DP-SGD loop itself: epochs of (Poisson) batches, one clipped and noised step each.

``traumasynth.privacy.dp`` wires the network, optimizer and loader through Opacus into a
:class:`SGDLoop`; :func:`run_epochs` steps through it, with a progress bar in steps (rate and time
left), an optional early stop for benchmarks and a checkpoint at epoch ends so that an
interrupted long run resumes where it stopped (``traumasynth.privacy.checkpoint``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from opacus import PrivacyEngine
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from traumasynth.core.errors import TrainingError
from traumasynth.privacy.checkpoint import LoopControl, LoopState, load_checkpoint, save_checkpoint
from traumasynth.privacy.keys import keyed_seed
from traumasynth.privacy.settings import DPSettings
from traumasynth.privacy.task import DPTask


@dataclass
class SGDLoop:
    """What one training run steps through: the (possibly private) module, optimizer, loss and batches.

    ``generators`` are the loop's named random sources (Poisson batches, DP noise) that a
    checkpoint saves; ``engine`` is None without DP.
    """

    module: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: nn.Module
    loader: DataLoader
    engine: PrivacyEngine | None
    generators: dict[str, torch.Generator] = field(default_factory=dict)


def _batch_size_of(batch: tuple[torch.Tensor, ...]) -> int:
    return int(batch[0].shape[0])


def run_epochs(
    *,
    loop: SGDLoop,
    task: DPTask,
    params: DPSettings,
    device: torch.device,
    seed: int,
    desc: str,
    control: LoopControl | None = None,
    key: str = "",
) -> tuple[int, list[tuple[int, float]]]:
    """Step through ``params.epochs`` epochs of ``loop``; returns the steps taken and the loss curve.

    ``control`` may stop early (``max_steps``: benchmarks time a fixed number of steps, the result
    is then not the planned release) or keep a checkpoint under ``key`` (see
    ``traumasynth.privacy.checkpoint``): a rerun of the same training resumes after the last
    saved epoch and ends exactly as an uninterrupted run.

    Raises:
        TrainingError: the loss became NaN or infinite.
    """
    control = control or LoopControl()
    dp = loop.engine is not None
    batch_gen = torch.Generator().manual_seed(keyed_seed("dp-sgd model noise", seed) if dp else seed + 1)
    generators = {**loop.generators, "model noise": batch_gen}
    optimizer = getattr(loop.optimizer, "original_optimizer", loop.optimizer)  # Adam's own state
    state = LoopState(epoch=0, steps=0, curve=[])
    if control.resumable and control.checkpoint is not None:
        restored = load_checkpoint(
            control.checkpoint, key=key, module=task.module, optimizer=optimizer, generators=generators
        )
        if restored is not None:
            state, history = restored
            if loop.engine is not None and history is not None:
                loop.engine.accountant.history = history
    planned = params.epochs * len(loop.loader)  # expected steps: Poisson batches, len(loader) per epoch
    total_steps = planned if control.max_steps is None else min(planned, control.max_steps)
    bar = tqdm(total=total_steps, initial=state.steps, desc=desc, unit="step", leave=False, mininterval=2.0)
    last_save = time.monotonic()
    try:
        for epoch in range(state.epoch + 1, params.epochs + 1):
            total, seen = 0.0, 0
            for raw in loop.loader:
                if control.max_steps is not None and state.steps >= control.max_steps:
                    break
                batch = tuple(t.to(device) for t in raw)
                size = _batch_size_of(batch)
                loop.optimizer.zero_grad(set_to_none=True)
                state.steps += 1
                bar.update(1)
                if size == 0:
                    # A Poisson draw can be empty: the DP optimizer still takes (and accounts) a noisy step.
                    _empty_step(loop.optimizer, dp, ghost=params.grad_sample_mode == "ghost")
                    continue
                inputs, target = task.make_batch(batch, batch_gen)
                loss = loop.loss_fn(loop.module(*inputs), target)  # module output: packed [B, D]
                value = float(loss.item())
                if not math.isfinite(value):
                    raise TrainingError(
                        f"The training loss became {value} at epoch {epoch}, step {state.steps}. Nothing was saved. "
                        f"Lower train_dp_tabular.lr (now {params.lr:g}) or check the data for extreme values."
                    )
                loss.backward()
                loop.optimizer.step()
                total += value * size
                seen += size
            state.curve.append((epoch, total / max(seen, 1)))
            state.epoch = epoch
            bar.set_postfix(epoch=epoch, loss=f"{state.curve[-1][1]:.4f}")
            if control.max_steps is not None and state.steps >= control.max_steps:
                break
            if control.resumable and control.checkpoint is not None and epoch < params.epochs:
                if time.monotonic() - last_save >= control.checkpoint_every_s:
                    save_checkpoint(
                        control.checkpoint,
                        key=key,
                        state=state,
                        module=task.module,
                        optimizer=optimizer,
                        generators=generators,
                        accountant_history=loop.engine.accountant.history if loop.engine is not None else None,
                    )
                    last_save = time.monotonic()
    finally:
        bar.close()
    return state.steps, state.curve


def _empty_step(optimizer: torch.optim.Optimizer, dp: bool, ghost: bool) -> None:
    """Account for an empty Poisson batch: noise-only update under DP, nothing otherwise."""
    if not dp:
        return
    # No example, no gradient: Opacus adds pure noise, which is what the accountant assumes.
    # The ghost-clipping optimizer reads `grad`, the hooks/functorch one `grad_sample`.
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.requires_grad:
                p.grad = torch.zeros_like(p)
                if not ghost:
                    p.grad_sample = torch.zeros((0, *p.shape), device=p.device, dtype=p.dtype)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
