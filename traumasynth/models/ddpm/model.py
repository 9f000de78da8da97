"""The DP-DDPM synthesizer (TabDDPM-style), registered as ``ddpm``.

It works on the all-categorical grid view of ``traumasynth.models.codec`` (numeric slots as
cells of the public grid), so every slot follows multinomial diffusion; one MLP denoiser,
conditioned on the target class, predicts the ``x_0`` logits, offset by the DP
class-conditional marginals (``traumasynth.models.sgd``). Training
goes through ``traumasynth.privacy.dp.train_dp`` (DP-SGD with ghost clipping) with
``noise_multiplicity`` timestep/noise draws per example inside one per-example
gradient. Sampling runs the reverse process from pure noise for the requested
classes, in batches, with an optional classifier-free guidance.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from traumasynth.encoding.table import EncodedTable
from traumasynth.models.ddpm.config import DDPMConfig
from traumasynth.models.ddpm.denoiser import MLPDenoiser
from traumasynth.models.ddpm.loss import DiffusionBatchBuilder, DiffusionLoss
from traumasynth.models.ddpm.multinomial import (
    CategoricalLayout,
    log_onehot_to_index,
    log_softmax_slots,
    multinomial_q_posterior,
    sample_log_categorical,
)
from traumasynth.models.ddpm.schedule import DiffusionSchedule, make_schedule, respaced_schedule
from traumasynth.models.sgd import DPSGDSynthesizer
from traumasynth.privacy.dp import DPTask
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)


class DDPMSynthesizer(DPSGDSynthesizer):
    """Multinomial denoising diffusion over the grid codes of the table, conditioned on the target class.

    Args:
        spec: the dataset specification.
        config: ``DDPMConfig`` (section ``train_dp_tabular.ddpm``); defaults if omitted.
    """

    name = "ddpm"
    config_class = DDPMConfig
    config: DDPMConfig

    def __init__(self, *, spec: DatasetSpec, config: DDPMConfig | None = None) -> None:
        super().__init__(spec=spec, config=config)
        # Both depend only on the config and the spec (public knowledge), never on data.
        self.schedule: DiffusionSchedule = make_schedule(kind=self.config.schedule, timesteps=self.config.timesteps)
        self.layout = CategoricalLayout(sizes=self.codec.sizes)  # the grid view: every slot categorical
        steps = min(self.config.sample_steps or self.config.timesteps, self.config.timesteps)
        # The reverse process may skip timesteps; ``sample_t[i]`` is the training timestep of step i.
        self.sample_schedule, self.sample_t = respaced_schedule(
            kind=self.config.schedule, timesteps=self.config.timesteps, steps=steps
        )

    # -- hooks ---------------------------------------------------------------
    def _build_network(self) -> nn.Module:
        d_in = self.codec.width
        return MLPDenoiser(
            d_in=d_in,
            n_classes=self.encoder.n_classes,
            hidden_dims=self.config.hidden_dims,
            d_embed=self.config.d_embed,
            dropout=self.config.dropout,
        )

    def _task(self) -> DPTask:
        layout = self.layout
        return DPTask(
            module=self.network,
            criterion=DiffusionLoss(schedule=self.schedule, layout=layout),
            make_batch=DiffusionBatchBuilder(
                schedule=self.schedule,
                layout=layout,
                n_classes=self.encoder.n_classes,
                multiplicity=self.config.noise_multiplicity,
                cond_drop_prob=self.config.cond_drop_prob,
            ),
        )

    def _sample_codes(self, y: torch.Tensor, *, generator: torch.Generator) -> EncodedTable:
        n = int(y.shape[0])
        size = self.config.sample_batch_size
        n_chunks = -(-n // size)
        cats: list[torch.Tensor] = []
        bar = tqdm(total=n_chunks * self.sample_schedule.timesteps, desc="ddpm sampling", unit="step", leave=False)
        try:
            for start in range(0, n, size):
                cats.append(self._reverse(y[start : start + size], generator=generator, bar=bar))
        finally:
            bar.close()
        x_cat = torch.cat(cats) if cats else torch.zeros((0, len(self.layout.sizes)), dtype=torch.long)
        return EncodedTable(
            x_num=np.zeros((n, 0), dtype=np.float32),
            x_cat=x_cat.numpy().astype(np.int64),
            y=y.numpy().astype(np.int64),
        )

    # -- reverse process -----------------------------------------------------
    def _predict(self, x_in: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Guided log ``x_0`` probabilities ``[b, 1, W]``."""
        log_x0 = log_softmax_slots(logits=self.network(x_in, t, y), layout=self.layout)
        w = self.config.guidance_scale
        if w > 0:
            out_u = self.network(x_in, t, torch.full_like(y, self.encoder.n_classes))  # unconditional
            log_x0_u = log_softmax_slots(logits=out_u, layout=self.layout)
            log_x0 = log_softmax_slots(logits=(1 + w) * log_x0 - w * log_x0_u, layout=self.layout)
        return log_x0

    def _reverse(self, y: torch.Tensor, *, generator: torch.Generator, bar: tqdm) -> torch.Tensor:
        """Denoise one batch from pure noise: ``y [b]`` -> grid codes ``[b, n_slots]``."""
        b, width = int(y.shape[0]), self.layout.width
        log_x = sample_log_categorical(
            log_probs=log_softmax_slots(logits=torch.zeros((b, 1, width)), layout=self.layout),
            layout=self.layout,
            generator=generator,
        )  # [b, 1, W]: x_T drawn from the uniform prior
        schedule = self.sample_schedule
        for step in reversed(range(schedule.timesteps)):
            t = torch.full((1, 1), step, dtype=torch.long)  # [1, 1]: one step for all rows, broadcast
            t_net = torch.full((1, 1), int(self.sample_t[step]), dtype=torch.long)  # its training timestep
            log_x0 = self._predict(log_x.exp(), t_net, y)
            log_p = multinomial_q_posterior(schedule=schedule, layout=self.layout, log_x0=log_x0, log_x_t=log_x, t=t)
            log_x = sample_log_categorical(log_probs=log_p, layout=self.layout, generator=generator)
            bar.update(1)
        return log_onehot_to_index(log_x=log_x, layout=self.layout)[:, 0]
