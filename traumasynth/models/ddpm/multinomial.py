"""Multinomial diffusion of the categorical slots in log space, as pure functions.

Every slot of the encoded row is categorical and follows multinomial diffusion
(Hoogeboom et al., 2021) in log space, as in TabDDPM (Kotelnikov et al., 2023), with
the schedule of ``traumasynth.models.ddpm.schedule``. ``CategoricalLayout`` says
where each slot's one-hot block sits in the concatenated ``[..., width]`` vector.

Every function takes the schedule and tensors and returns tensors; nothing here
holds state or draws randomness except through an explicit ``torch.Generator``.

Shapes: ``t`` is an integer tensor whose shape is a prefix of the data's shape
(``[B]`` or ``[B, K]`` for ``x`` of shape ``[B, d]`` or ``[B, K, d]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch

from traumasynth.models.ddpm.schedule import EPS_LOG, DiffusionSchedule, extract

#: log(0) stand-in for one-hot vectors in log space (TabDDPM uses the same floor).
LOG_ZERO_FLOOR = 1e-30
#: Below this a float32 sum of exponentials is too close to underflow to take its log.
_UNDERFLOW_GUARD = 1e-30


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
    gumbel = -torch.log(-torch.log(uniform + EPS_LOG) + EPS_LOG)
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
