"""What a model hands the DP-SGD loop: its network, per-example criterion and batch builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

#: Builds (inputs of the network, target of the criterion) from a batch of encoded rows.
BatchBuilder = Callable[[tuple[torch.Tensor, ...], torch.Generator], tuple[tuple[torch.Tensor, ...], torch.Tensor]]


class Criterion(nn.Module):
    """A loss module whose ``reduction`` Opacus switches: ``"none"`` gives ``[B]``, ``"mean"`` the mean."""

    reduction: str


@dataclass(frozen=True)
class DPTask:
    """What a model gives the DP training loop.

    Attributes:
        module: the network; ``module(*inputs)`` returns one packed tensor ``[B, D]``.
        criterion: ``criterion(output, target)``; must have a ``reduction`` attribute and
            return a ``[B]`` per-example loss when it is ``"none"``, the mean when ``"mean"``.
        make_batch: ``make_batch(batch, generator) -> (inputs, target)`` where ``batch`` is
            a tuple of tensors of the training dataset (already on the device) and
            ``generator`` a CPU ``torch.Generator`` for any per-batch noise.
    """

    module: nn.Module
    criterion: Criterion
    make_batch: BatchBuilder
