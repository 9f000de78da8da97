"""Training batches and the per-example loss of the multinomial diffusion.

``DiffusionBatchBuilder`` turns encoded rows into the network's inputs and the
criterion's targets, drawing ``K`` (noise multiplicity) timestep/noise pairs per
example. ``DiffusionLoss`` is the criterion handed to Opacus: with
``reduction="none"`` it returns one loss per example, ``[B]``, the mean of the K
draws, so the K draws of an example share one clipped gradient and cost no
extra privacy.

Loss of one draw (TabDDPM's multinomial term), averaged over the categorical slots:
``T * KL(q(x_{t-1}|x_t, x_0) || p(x_{t-1}|x_t))`` for ``t > 0`` and the decoder
negative log-likelihood ``-log p(x_0|x_1)`` at ``t = 0`` (the factor ``T`` makes the
uniform draw of ``t`` an unbiased estimate of the variational bound's sum over t).
"""

from __future__ import annotations

from typing import Literal

import torch

from traumasynth.models.ddpm.multinomial import (
    CategoricalLayout,
    index_to_log_onehot,
    log_categorical,
    log_softmax_slots,
    multinomial_kl,
    multinomial_q_posterior,
    multinomial_q_pred,
    sample_log_categorical,
)
from traumasynth.models.ddpm.schedule import DiffusionSchedule
from traumasynth.privacy.task import Criterion

Reduction = Literal["mean", "sum", "none"]


def pack_targets(*, log_x0: torch.Tensor, log_x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """One target tensor ``[B, K, 2 W + 1]`` (the DP loop passes a single target to the criterion)."""
    return torch.cat([log_x0, log_x_t, t.to(log_x0.dtype).unsqueeze(-1)], dim=-1)


def unpack_targets(target: torch.Tensor, *, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse of ``pack_targets``: ``log_x0``, ``log_x_t`` and ``t`` (int64 ``[B, K]``)."""
    log_x0, log_x_t, t = torch.split(target, [width, width, 1], dim=-1)
    return log_x0, log_x_t, t.squeeze(-1).round().long()


class DiffusionBatchBuilder:
    """Draw noisy inputs and targets for a batch of encoded rows.

    Args:
        schedule: the noise schedule.
        layout: the categorical slots' sizes.
        n_classes: number of target classes (index ``n_classes`` is "no class").
        multiplicity: K, timestep/noise draws per example.
        cond_drop_prob: probability of replacing an example's class by "no class"
            (trains the unconditional model classifier-free guidance needs; 0 disables).
    """

    def __init__(
        self,
        *,
        schedule: DiffusionSchedule,
        layout: CategoricalLayout,
        n_classes: int,
        multiplicity: int,
        cond_drop_prob: float = 0.0,
    ) -> None:
        self.schedule = schedule
        self.layout = layout
        self.n_classes = n_classes
        self.multiplicity = multiplicity
        self.cond_drop_prob = cond_drop_prob

    def __call__(
        self, batch: tuple[torch.Tensor, ...], generator: torch.Generator | None = None
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        """Build one batch (the ``make_batch`` of ``traumasynth.privacy.dp.DPTask``).

        Args:
            batch: ``(x_num [B, 0], x_cat [B, n_cat] int64, y [B] int64)``: the encoded
                table's tensors; its numeric part is empty (the grid view codes every slot).
            generator: CPU generator of the timestep, noise and class-drop draws.

        Returns:
            ``((x_t [B, K, W], t [B, K], y [B]), target [B, K, 2 W + 1])``.
        """
        _, x_cat, y = batch
        b, k = x_cat.shape[0], self.multiplicity
        device = x_cat.device
        # Draw on the CPU generator, then move: the same seed gives the same batch on any device.
        t = torch.randint(0, self.schedule.timesteps, (b, k), generator=generator).to(device)  # [B, K]
        log_x0 = index_to_log_onehot(x=x_cat, layout=self.layout).unsqueeze(1).expand(b, k, self.layout.width)
        log_probs = multinomial_q_pred(schedule=self.schedule, layout=self.layout, log_x0=log_x0, t=t)
        uniform = torch.rand(log_probs.shape, generator=generator).to(device)
        log_x_t = sample_log_categorical(log_probs=log_probs, layout=self.layout, uniform=uniform)  # [B, K, W]
        x_in = log_x_t.exp()  # [B, K, W]
        y_in = y
        if self.cond_drop_prob > 0:
            drop = (torch.rand((b,), generator=generator) < self.cond_drop_prob).to(device)
            y_in = torch.where(drop, torch.full_like(y, self.n_classes), y)
        return (x_in, t, y_in), pack_targets(log_x0=log_x0, log_x_t=log_x_t, t=t)


class DiffusionLoss(Criterion):
    """Per-example diffusion loss; ``reduction="none"`` gives shape ``[B]``.

    Call as ``criterion(output, target)`` with ``output`` the denoiser's
    ``[B, K, W]`` and ``target`` the packed tensor of ``DiffusionBatchBuilder``.

    Args:
        schedule: the noise schedule.
        layout: the categorical slots' sizes.
        reduction: ``mean`` or ``sum`` over examples, or ``none`` (Opacus sets it
            to ``none`` itself when it needs per-example losses).
    """

    def __init__(
        self, *, schedule: DiffusionSchedule, layout: CategoricalLayout, reduction: Reduction = "mean"
    ) -> None:
        super().__init__()
        self.schedule = schedule
        self.layout = layout
        self.reduction = reduction

    def per_draw(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Multinomial loss of each draw, ``[B, K]``."""
        log_x0, log_x_t, t = unpack_targets(target, width=self.layout.width)
        if not self.layout.sizes:
            return torch.zeros(t.shape, dtype=output.dtype, device=output.device)
        log_pred_x0 = log_softmax_slots(logits=output, layout=self.layout)  # [B, K, W]
        log_model = multinomial_q_posterior(
            schedule=self.schedule, layout=self.layout, log_x0=log_pred_x0, log_x_t=log_x_t, t=t
        )
        log_true = multinomial_q_posterior(
            schedule=self.schedule, layout=self.layout, log_x0=log_x0, log_x_t=log_x_t, t=t
        )
        kl = multinomial_kl(log_p=log_true, log_q=log_model)  # [B, K]
        nll = -log_categorical(log_x=log_x0, log_probs=log_model)  # [B, K]
        return torch.where(t == 0, nll, kl * self.schedule.timesteps) / len(self.layout.sizes)

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of a batch: ``[B]`` with ``reduction="none"``, else a scalar.

        Args:
            output: the denoiser's ``[B, K, W]``.
            target: from ``DiffusionBatchBuilder``, ``[B, K, 2 W + 1]``.
        """
        # [B]: the K draws of an example average into one loss.
        per_example = self.per_draw(output, target).mean(dim=1)
        if self.reduction == "none":
            return per_example
        if self.reduction == "sum":
            return per_example.sum()
        return per_example.mean()
