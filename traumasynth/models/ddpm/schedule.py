"""Noise schedules and the forward/reverse maths of mixed-type diffusion, as pure functions.

Numeric slots follow Gaussian diffusion (Ho et al., 2020) with an epsilon-predicting
network; categorical slots follow multinomial diffusion (Hoogeboom et al., 2021) in
log space, as in TabDDPM (Kotelnikov et al., 2023). Both share one schedule of
``alpha_t``.

Timesteps are 0-indexed: ``t = 0`` is the first noising step (x_0 -> x_1 in the
papers' 1-indexed notation) and ``t = T - 1`` the last. Every function takes the
schedule and tensors and returns tensors; nothing here holds state or draws
randomness except through an explicit ``torch.Generator``.

Shapes: ``t`` is an integer tensor whose shape is a prefix of the data's shape
(``[B]`` or ``[B, K]`` for ``x`` of shape ``[B, d]`` or ``[B, K, d]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import torch

from traumasynth.errors import ParamsError

ScheduleKind = Literal["cosine", "linear"]

#: log(0) stand-in for one-hot vectors in log space (TabDDPM uses the same floor).
LOG_ZERO_FLOOR = 1e-30
_EPS_LOG = 1e-40
#: Below this a float32 sum of exponentials is too close to underflow to take its log.
_UNDERFLOW_GUARD = 1e-30


# --- schedules ---------------------------------------------------------------------------


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
    alphas_cumprod_prev: torch.Tensor
    sqrt_alphas_cumprod: torch.Tensor
    sqrt_one_minus_alphas_cumprod: torch.Tensor
    posterior_variance: torch.Tensor
    posterior_log_variance: torch.Tensor
    posterior_mean_coef1: torch.Tensor
    posterior_mean_coef2: torch.Tensor
    log_alpha: torch.Tensor
    log_1_min_alpha: torch.Tensor
    log_cumprod_alpha: torch.Tensor
    log_1_min_cumprod_alpha: torch.Tensor

    @property
    def timesteps(self) -> int:
        return int(self.betas.shape[0])


def log_1_min_a(log_a: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(log_a))``, safe where ``exp(log_a)`` is 1."""
    return torch.log(1 - log_a.exp() + _EPS_LOG)


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
    alphas_cumprod = torch.cumprod(alphas, dim=0)
    alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
    posterior_variance = betas * (1 - alphas_cumprod_prev) / (1 - alphas_cumprod)
    # The variance at t = 0 is 0; its log is clipped to the next value, as in DDPM.
    posterior_log_variance = torch.log(torch.cat([posterior_variance[1:2], posterior_variance[1:]]))
    log_alpha = torch.log(alphas)
    log_cumprod_alpha = torch.cumsum(log_alpha, dim=0)
    fields = {
        "betas": betas,
        "alphas_cumprod": alphas_cumprod,
        "alphas_cumprod_prev": alphas_cumprod_prev,
        "sqrt_alphas_cumprod": alphas_cumprod.sqrt(),
        "sqrt_one_minus_alphas_cumprod": (1 - alphas_cumprod).sqrt(),
        "posterior_variance": posterior_variance,
        "posterior_log_variance": posterior_log_variance,
        "posterior_mean_coef1": betas * alphas_cumprod_prev.sqrt() / (1 - alphas_cumprod),
        "posterior_mean_coef2": (1 - alphas_cumprod_prev) * alphas.sqrt() / (1 - alphas_cumprod),
        "log_alpha": log_alpha,
        "log_1_min_alpha": log_1_min_a(log_alpha),
        "log_cumprod_alpha": log_cumprod_alpha,
        "log_1_min_cumprod_alpha": log_1_min_a(log_cumprod_alpha),
    }
    return DiffusionSchedule(**{k: v.to(torch.float32) for k, v in fields.items()})


def make_schedule(*, kind: ScheduleKind, timesteps: int) -> DiffusionSchedule:
    """Build the schedule shared by the Gaussian and the multinomial diffusion.

    Args:
        kind: ``cosine`` (default of TabDDPM, gentler at small ``T``) or ``linear``.
        timesteps: number of diffusion steps ``T`` (>= 2).

    Raises:
        ParamsError: ``timesteps`` < 2 or an unknown ``kind``.
    """
    return schedule_from_betas(_betas(kind, timesteps))


def respaced_schedule(*, kind: ScheduleKind, timesteps: int, steps: int) -> tuple[DiffusionSchedule, torch.Tensor]:
    """A schedule over ``steps`` evenly spaced timesteps of the ``T``-step one (Nichol & Dhariwal, 2021).

    Sampling then takes ``steps`` reverse steps instead of ``T``. Both diffusions
    stay exact between the kept timesteps: Gaussian noising and uniform-mixing
    transitions compose, with ``1 - beta'_i = abar_{s_i} / abar_{s_{i-1}}``.

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


# --- Gaussian diffusion (numeric slots) ----------------------------------------------------


def gaussian_q_sample(
    *, schedule: DiffusionSchedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Draw ``x_t ~ q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)`` with the given noise."""
    return (
        extract(schedule.sqrt_alphas_cumprod, t, x0) * x0
        + extract(schedule.sqrt_one_minus_alphas_cumprod, t, x0) * noise
    )


def gaussian_predict_x0(
    *, schedule: DiffusionSchedule, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Invert ``gaussian_q_sample``: the ``x_0`` implied by ``x_t`` and a noise (prediction)."""
    return (x_t - extract(schedule.sqrt_one_minus_alphas_cumprod, t, x_t) * eps) / extract(
        schedule.sqrt_alphas_cumprod, t, x_t
    )


def gaussian_posterior(
    *, schedule: DiffusionSchedule, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, variance and (clipped) log-variance of ``q(x_{t-1} | x_t, x_0)``."""
    mean = extract(schedule.posterior_mean_coef1, t, x_t) * x0 + extract(schedule.posterior_mean_coef2, t, x_t) * x_t
    return mean, extract(schedule.posterior_variance, t, x_t), extract(schedule.posterior_log_variance, t, x_t)


def gaussian_p_step(
    *,
    schedule: DiffusionSchedule,
    x_t: torch.Tensor,
    t: torch.Tensor,
    eps: torch.Tensor,
    noise: torch.Tensor,
    clip: bool = True,
) -> torch.Tensor:
    """One reverse step ``x_{t-1} ~ p(x_{t-1} | x_t)`` from a noise prediction.

    Args:
        eps: the network's noise prediction for ``x_t``.
        noise: standard normal draws; unused where ``t == 0`` (the last step is its mean).
        clip: clamp the implied ``x_0`` to [-1, 1], the encoder's range.
    """
    x0 = gaussian_predict_x0(schedule=schedule, x_t=x_t, t=t, eps=eps)
    if clip:
        x0 = x0.clamp(-1.0, 1.0)
    mean, _, log_var = gaussian_posterior(schedule=schedule, x0=x0, x_t=x_t, t=t)
    nonzero = extract((torch.arange(schedule.timesteps) > 0).to(x_t.dtype), t, x_t)
    return mean + nonzero * (0.5 * log_var).exp() * noise


# --- multinomial diffusion (categorical slots, log space) ---------------------------------


@dataclass(frozen=True)
class CategoricalLayout:
    """Where each categorical slot's one-hot block sits in a ``[..., width]`` vector.

    The per-slot operations gather the blocks into a padded ``[..., n_slots, max_k]``
    view (padding = -inf), so each is a handful of tensor ops whatever the number of
    slots, instead of one op per slot.
    """

    sizes: tuple[int, ...]

    @property
    def width(self) -> int:
        return sum(self.sizes)

    @property
    def offsets(self) -> tuple[int, ...]:
        out, acc = [], 0
        for size in self.sizes:
            out.append(acc)
            acc += size
        return tuple(out)

    @cached_property
    def _log_k(self) -> torch.Tensor:
        return torch.tensor([math.log(k) for k in self.sizes for _ in range(k)], dtype=torch.float32)

    @cached_property
    def _slot_of_column(self) -> torch.Tensor:
        return torch.tensor([i for i, k in enumerate(self.sizes) for _ in range(k)], dtype=torch.long)

    @cached_property
    def _membership(self) -> torch.Tensor:
        # [width, n_slots]: 1 where a column belongs to a slot (sums columns per slot with one matmul).
        return torch.nn.functional.one_hot(self._slot_of_column, len(self.sizes)).to(torch.float32)

    @cached_property
    def _padded_index(self) -> torch.Tensor:
        # [n_slots, max_k]: column of each (slot, level); ``width`` points at a -inf pad column.
        max_k = max(self.sizes)
        rows = [
            [off + j if j < k else self.width for j in range(max_k)]
            for off, k in zip(self.offsets, self.sizes, strict=True)
        ]
        return torch.tensor(rows, dtype=torch.long)

    def log_k(self, device: torch.device | None = None) -> torch.Tensor:
        """``log(K)`` of each column's slot, ``[width]``."""
        return self._log_k.to(device)

    def padded(self, log_x: torch.Tensor) -> torch.Tensor:
        """``[..., width]`` -> ``[..., n_slots, max_k]``, levels beyond a slot's size set to -inf."""
        pad = torch.full((*log_x.shape[:-1], 1), -math.inf, dtype=log_x.dtype, device=log_x.device)
        return torch.cat([log_x, pad], dim=-1)[..., self._padded_index.to(log_x.device)]

    def slot_sums(self, values: torch.Tensor) -> torch.Tensor:
        """``[..., width]`` -> ``[..., n_slots]``: the sum of each slot's columns."""
        return values @ self._membership.to(device=values.device, dtype=values.dtype)

    def spread(self, per_slot: torch.Tensor) -> torch.Tensor:
        """``[..., n_slots]`` -> ``[..., width]``: each slot's value repeated over its columns."""
        return per_slot[..., self._slot_of_column.to(per_slot.device)]

    def offsets_tensor(self, device: torch.device | None = None) -> torch.Tensor:
        return torch.tensor(self.offsets, dtype=torch.long, device=device)


def index_to_log_onehot(*, x: torch.Tensor, layout: CategoricalLayout) -> torch.Tensor:
    """Level indices ``[..., n_cat]`` -> concatenated log one-hots ``[..., width]``."""
    out = torch.full((*x.shape[:-1], layout.width), math.log(LOG_ZERO_FLOOR), device=x.device)
    if not layout.sizes:
        return out
    return out.scatter_(-1, x + layout.offsets_tensor(x.device), 0.0)


def log_onehot_to_index(*, log_x: torch.Tensor, layout: CategoricalLayout) -> torch.Tensor:
    """Concatenated log one-hots (or log-probabilities) ``[..., width]`` -> argmax levels ``[..., n_cat]``."""
    if not layout.sizes:
        return torch.zeros((*log_x.shape[:-1], 0), dtype=torch.long, device=log_x.device)
    return layout.padded(log_x).argmax(dim=-1)


def sliced_logsumexp(*, log_x: torch.Tensor, layout: CategoricalLayout) -> torch.Tensor:
    """Each slot's logsumexp, repeated over the slot's columns: ``[..., width]``.

    Fast path: shift by the row's maximum and sum each slot with one matmul. If a
    slot lies so far below that maximum that its sum nears float underflow, the
    exact per-slot computation is used instead, so the result is always exact.
    """
    if not layout.sizes:
        return log_x
    shift = log_x.amax(dim=-1, keepdim=True).detach()  # [..., 1]
    sums = layout.slot_sums((log_x - shift).exp())  # [..., n_slots]
    if bool((sums < _UNDERFLOW_GUARD).any()):
        lse = torch.logsumexp(layout.padded(log_x), dim=-1)
    else:
        lse = sums.log() + shift
    return layout.spread(lse)


def log_softmax_slots(*, logits: torch.Tensor, layout: CategoricalLayout) -> torch.Tensor:
    """Per-slot log-softmax of ``[..., width]`` logits."""
    return logits - sliced_logsumexp(log_x=logits, layout=layout)


def multinomial_q_pred(
    *, schedule: DiffusionSchedule, layout: CategoricalLayout, log_x0: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """``log q(x_t | x_0) = log(abar_t x_0 + (1 - abar_t) / K)``."""
    return torch.logaddexp(
        log_x0 + extract(schedule.log_cumprod_alpha, t, log_x0),
        extract(schedule.log_1_min_cumprod_alpha, t, log_x0) - layout.log_k(log_x0.device),
    )


def multinomial_q_pred_one_step(
    *, schedule: DiffusionSchedule, layout: CategoricalLayout, log_x_t: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """``log q(x_t | x_{t-1})`` as a function of ``x_{t-1}``: ``log(alpha_t x_t + (1 - alpha_t) / K)``."""
    return torch.logaddexp(
        log_x_t + extract(schedule.log_alpha, t, log_x_t),
        extract(schedule.log_1_min_alpha, t, log_x_t) - layout.log_k(log_x_t.device),
    )


def multinomial_q_posterior(
    *,
    schedule: DiffusionSchedule,
    layout: CategoricalLayout,
    log_x0: torch.Tensor,
    log_x_t: torch.Tensor,
    t: torch.Tensor,
) -> torch.Tensor:
    """``log q(x_{t-1} | x_t, x_0)``, normalised within each slot.

    ``log_x0`` may be a log one-hot or a predicted log-distribution over levels (the
    model's ``p(x_{t-1} | x_t)`` plugs its prediction in here). At ``t == 0`` the
    posterior is proportional to ``x_0 * q(x_1 | x_0)``.
    """
    t_prev = (t - 1).clamp(min=0)
    log_ev_x_prev = multinomial_q_pred(schedule=schedule, layout=layout, log_x0=log_x0, t=t_prev)
    first = extract(torch.arange(schedule.timesteps) == 0, t, log_x0)
    log_ev_x_prev = torch.where(first, log_x0, log_ev_x_prev)
    unnormed = log_ev_x_prev + multinomial_q_pred_one_step(schedule=schedule, layout=layout, log_x_t=log_x_t, t=t)
    return unnormed - sliced_logsumexp(log_x=unnormed, layout=layout)


def sample_log_categorical(
    *,
    log_probs: torch.Tensor,
    layout: CategoricalLayout,
    generator: torch.Generator | None = None,
    uniform: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw one level per slot from ``[..., width]`` log-probabilities (Gumbel-max); returns log one-hots.

    Args:
        generator: source of the uniform draws when ``uniform`` is not given.
        uniform: ``U(0, 1)`` draws of ``log_probs``' shape (lets a caller draw them on the CPU).
    """
    if uniform is None:
        uniform = torch.rand(log_probs.shape, generator=generator, device=log_probs.device)
    gumbel = -torch.log(-torch.log(uniform + _EPS_LOG) + _EPS_LOG)
    index = log_onehot_to_index(log_x=log_probs + gumbel, layout=layout)
    return index_to_log_onehot(x=index, layout=layout)


def multinomial_q_sample(
    *,
    schedule: DiffusionSchedule,
    layout: CategoricalLayout,
    log_x0: torch.Tensor,
    t: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw ``x_t ~ q(x_t | x_0)``; returns log one-hots ``[..., width]``."""
    log_probs = multinomial_q_pred(schedule=schedule, layout=layout, log_x0=log_x0, t=t)
    return sample_log_categorical(log_probs=log_probs, layout=layout, generator=generator)


def multinomial_kl(*, log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """``KL(p || q)`` summed over all slots: ``[..., width]`` -> ``[...]``."""
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def log_categorical(*, log_x: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
    """``log p(x)`` of one-hots ``log_x`` under ``log_probs``, summed over slots: ``[...]``."""
    return (log_x.exp() * log_probs).sum(dim=-1)
