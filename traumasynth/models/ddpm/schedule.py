"""Noise schedules of the multinomial diffusion, as pure functions.

One schedule of ``alpha_t`` drives the multinomial diffusion (Hoogeboom et al., 2021)
of ``traumasynth.models.ddpm.multinomial``, as in TabDDPM (Kotelnikov et al., 2023).
Timesteps are 0-indexed: ``t = 0`` is the first noising step (x_0 -> x_1 in the
papers' 1-indexed notation) and ``t = T - 1`` the last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from traumasynth.core.errors import ParamsError

ScheduleKind = Literal["cosine", "linear"]

#: Added inside logarithms that may see an exact 0.
EPS_LOG = 1e-40


def cosine_betas(timesteps: int, *, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Cosine schedule of Nichol & Dhariwal (2021): ``alpha_bar(t) = cos^2((t/T + s)/(1 + s) * pi/2)``.

    Returns:
        float64 tensor ``[T]`` of betas in ``(0, max_beta]``.
    """
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    alpha_bar = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(max=max_beta)


def linear_betas(timesteps: int) -> torch.Tensor:
    """Linear schedule of Ho et al. (2020), rescaled so any ``T`` spans the same noise range.

    Returns:
        float64 tensor ``[T]`` of betas.
    """
    scale = 1000 / timesteps
    return torch.linspace(scale * 1e-4, min(scale * 0.02, 0.999), timesteps, dtype=torch.float64)


@dataclass(frozen=True)
class DiffusionSchedule:
    """Precomputed per-timestep quantities (all float32 tensors of shape ``[T]``).

    Build one with ``make_schedule``; the fields follow the DDPM paper's names.
    """

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    log_alpha: torch.Tensor
    log_1_min_alpha: torch.Tensor
    log_cumprod_alpha: torch.Tensor
    log_1_min_cumprod_alpha: torch.Tensor

    @property
    def timesteps(self) -> int:
        return int(self.betas.shape[0])


def log_1_min_a(log_a: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(log_a))``, safe where ``exp(log_a)`` is 1."""
    return torch.log(1 - log_a.exp() + EPS_LOG)


def _betas(kind: ScheduleKind, timesteps: int) -> torch.Tensor:
    if timesteps < 2:
        raise ParamsError(
            f"Diffusion needs at least 2 timesteps, got {timesteps}. Set train_dp_tabular.ddpm.timesteps."
        )
    if kind == "cosine":
        return cosine_betas(timesteps)
    if kind == "linear":
        return linear_betas(timesteps)
    raise ParamsError(f"Unknown noise schedule '{kind}'. Use 'cosine' or 'linear'.")


def schedule_from_betas(betas: torch.Tensor) -> DiffusionSchedule:
    """All per-step quantities of a float64 ``[T]`` beta sequence (computed in float64, stored float32)."""
    alphas = 1 - betas
    log_alpha = torch.log(alphas)
    log_cumprod_alpha = torch.cumsum(log_alpha, dim=0)
    fields = {
        "betas": betas,
        "alphas_cumprod": torch.cumprod(alphas, dim=0),
        "log_alpha": log_alpha,
        "log_1_min_alpha": log_1_min_a(log_alpha),
        "log_cumprod_alpha": log_cumprod_alpha,
        "log_1_min_cumprod_alpha": log_1_min_a(log_cumprod_alpha),
    }
    return DiffusionSchedule(**{k: v.to(torch.float32) for k, v in fields.items()})


def make_schedule(*, kind: ScheduleKind, timesteps: int) -> DiffusionSchedule:
    """Build the noise schedule of the multinomial diffusion.

    Args:
        kind: ``cosine`` (default of TabDDPM, gentler at small ``T``) or ``linear``.
        timesteps: number of diffusion steps ``T`` (>= 2).

    Raises:
        ParamsError: ``timesteps`` < 2 or an unknown ``kind``.
    """
    return schedule_from_betas(_betas(kind, timesteps))


def respaced_schedule(*, kind: ScheduleKind, timesteps: int, steps: int) -> tuple[DiffusionSchedule, torch.Tensor]:
    """A schedule over ``steps`` evenly spaced timesteps of the ``T``-step one (Nichol & Dhariwal, 2021).

    Sampling then takes ``steps`` reverse steps instead of ``T``. The diffusion stays
    exact between the kept timesteps: uniform-mixing transitions compose, with
    ``1 - beta'_i = abar_{s_i} / abar_{s_{i-1}}``.

    Returns:
        The respaced schedule and ``timesteps`` int64 ``[steps']``: the original
        timestep of each respaced index (what the network, trained on ``T`` steps, is
        given). The first and last timesteps are always kept.

    Raises:
        ParamsError: ``steps`` outside ``2..timesteps``.
    """
    if not 2 <= steps <= timesteps:
        raise ParamsError(
            f"Cannot sample with {steps} steps from a {timesteps}-step diffusion. "
            "Set train_dp_tabular.ddpm.sample_steps between 2 and timesteps."
        )
    abar = torch.cumprod(1 - _betas(kind, timesteps), dim=0)
    kept = torch.linspace(0, timesteps - 1, steps, dtype=torch.float64).round().long().unique()
    abar_kept = abar[kept]
    abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar_kept[:-1]])
    return schedule_from_betas(1 - abar_kept / abar_prev), kept


def extract(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[t]`` reshaped to broadcast against ``like`` (``t`` indexes its leading dims)."""
    out = values.to(like.device)[t]  # t.shape
    return out.reshape(t.shape + (1,) * (like.dim() - t.dim()))
