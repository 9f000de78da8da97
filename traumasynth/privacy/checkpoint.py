"""Resumable DP-SGD: the whole state of a training loop at an epoch's end, saved and restored.

A long run (a registry of a million rows trains for an hour or more on a CPU) saves, at the end
of an epoch and at most every ``LoopControl.checkpoint_every_s`` seconds, everything the next
epoch depends on: the network's weights, Adam's moments, the state of every generator the loop
draws from (Poisson batches, DP noise, the model's own per-batch noise, torch's global one), the
accountant's history, the steps taken and the loss curve. A rerun of the same training (the same
key: :func:`checkpoint_key`) continues after the last saved epoch and ends with the same bytes as
an uninterrupted run; any other training ignores and replaces the file. The file is removed when
training finishes.

The file holds the noise generators' states: it is as sensitive as the custodian's noise key and
stays beside it, under ``data/interim/`` (never released, never in git).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopControl:
    """How a training loop may stop early or be resumed (none of it changes what is learned).

    Attributes:
        max_steps: stop after this many DP-SGD steps (benchmarks only: the model is then not the
            planned release); no checkpoint is kept for such a run.
        checkpoint: file of the resumable state (None: no checkpoint).
        checkpoint_every_s: save at an epoch's end when this many seconds passed since the last save.
    """

    max_steps: int | None = None
    checkpoint: Path | None = None
    checkpoint_every_s: float = 60.0

    @property
    def resumable(self) -> bool:
        return self.checkpoint is not None and self.max_steps is None


def checkpoint_key(*, module: nn.Module, dataset: TensorDataset, settings: str, seed: int, desc: str) -> str:
    """What a checkpoint is valid for: the starting weights, the rows, the settings and the seed."""
    digest = hashlib.sha256(f"{settings}|{seed}|{desc}".encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for tensor in dataset.tensors:
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass
class LoopState:
    """Where a loop stands after ``epoch`` complete epochs."""

    epoch: int
    steps: int
    curve: list[tuple[int, float]]


def save_checkpoint(
    path: Path,
    *,
    key: str,
    state: LoopState,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
    accountant_history: list[Any] | None,
) -> None:
    """Write the loop's state atomically (a crash while writing keeps the previous checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "key": key,
        "epoch": state.epoch,
        "steps": state.steps,
        "curve": [list(point) for point in state.curve],
        "module": module.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generators": {name: gen.get_state() for name, gen in generators.items()},
        "torch_rng": torch.get_rng_state(),
        "accountant": [list(entry) for entry in accountant_history] if accountant_history is not None else None,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(
    path: Path,
    *,
    key: str,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
) -> tuple[LoopState, list[tuple[Any, ...]] | None] | None:
    """Restore the state saved for ``key`` into the loop; None when there is none for this training."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:  # a truncated or foreign file: start over
        log.warning("Ignoring unreadable training checkpoint %s (%s): training from the start", path, exc)
        return None
    if payload.get("key") != key:
        log.info("Training checkpoint %s belongs to another training run: training from the start", path)
        return None
    module.load_state_dict(payload["module"])
    optimizer.load_state_dict(payload["optimizer"])
    for name, gen in generators.items():
        gen.set_state(payload["generators"][name])
    torch.set_rng_state(payload["torch_rng"])
    history = payload["accountant"]
    state = LoopState(payload["epoch"], payload["steps"], [(int(e), float(v)) for e, v in payload["curve"]])
    log.info("Resuming training after epoch %d (%d steps) from %s", state.epoch, state.steps, path)
    return state, None if history is None else [tuple(entry) for entry in history]


def remove_checkpoint(path: Path | None) -> None:
    """Drop the checkpoint of a finished run (it holds the noise generators' states)."""
    if path is not None:
        path.unlink(missing_ok=True)
