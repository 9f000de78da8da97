"""The denoising network: an MLP over noisy rows, conditioned on the timestep and the class.

Like TabDDPM's ``MLPDiffusion``: project the noisy row, add a sinusoidal timestep
embedding and a class embedding, run an MLP and read out, for each row, the
logits of ``x_0`` for every categorical slot (the grid view codes every slot, numeric
ones included, as a category: ``traumasynth.models.codec``).

Only ``nn.Linear`` and activations are used (no BatchNorm, no Embedding): Opacus'
ghost clipping has an exact per-example norm for each, and a row's output never
depends on another row of the batch.

Inputs carry an extra "draw" axis ``K`` (noise multiplicity): ``x_t`` is
``[B, K, d]``. Every layer acts on the last dim, so the K draws of one example feed
the same per-example gradient, which Opacus clips as one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, *, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al.): ``t.shape`` -> ``t.shape + [dim]``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.to(torch.float32).unsqueeze(-1) * freqs  # [..., half]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # [..., 2 * half]
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[..., :1])], dim=-1)
    return emb


class MLPDenoiser(nn.Module):
    """Predicts the ``x_0`` logits from ``(x_t, t, y)``.

    Args:
        d_in: width of a noisy row, ``sum(cat_sizes)`` (the concatenated one-hots).
        n_classes: number of target classes; index ``n_classes`` means "no class"
            (used to train an unconditional model for classifier-free guidance).
        hidden_dims: widths of the hidden layers.
        d_embed: width of the timestep/class embeddings and the input projection.
        dropout: dropout after each hidden activation (0 disables it).
    """

    log_prior: torch.Tensor

    def __init__(
        self,
        *,
        d_in: int,
        n_classes: int,
        hidden_dims: Sequence[int] = (256, 256, 256),
        d_embed: int = 128,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.d_in = d_in
        self.n_classes = n_classes
        self.d_embed = d_embed
        self.time_mlp = nn.Sequential(nn.Linear(d_embed, d_embed), nn.SiLU(), nn.Linear(d_embed, d_embed))
        # A bias-free Linear on a one-hot is an embedding table with an exact ghost-clipping norm.
        self.class_embed = nn.Linear(n_classes + 1, d_embed, bias=False)
        self.proj = nn.Linear(d_in, d_embed)
        layers: list[nn.Module] = []
        width = d_embed
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, d_in)
        nn.init.zeros_(self.head.weight)  # starts at its prior (traumasynth.models.sgd): the offset below
        nn.init.zeros_(self.head.bias)
        # DP class-conditional log-marginals added to the x_0 logits; row n_classes (no class) pooled.
        self.register_buffer("log_prior", torch.zeros(n_classes + 1, d_in))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Run the network.

        Args:
            x_t: noisy rows ``[B, K, d_in]`` (concatenated categorical one-hots).
            t: timesteps ``[B, K]`` (int64), or ``[1, K]`` when all rows share them
                (sampling: the timestep embedding is then computed once and broadcast).
            y: class indices ``[B]`` (int64), ``n_classes`` for "no class".

        Returns:
            ``[B, K, d_in]``: the ``x_0`` logits, offset by the DP class-conditional prior.
        """
        y_onehot = nn.functional.one_hot(y, self.n_classes + 1).to(x_t.dtype)  # [B, C + 1]
        cond = self.class_embed(y_onehot).unsqueeze(1)  # [B, 1, E]
        emb = self.time_mlp(timestep_embedding(t, self.d_embed)) + cond  # [B, K, E]
        h = self.proj(x_t) + emb  # [B, K, E]
        h = self.body(h)  # [B, K, H_last]
        return self.head(h) + self.log_prior[y].unsqueeze(1)  # [B, K, d_in]: logits offset by the DP prior
