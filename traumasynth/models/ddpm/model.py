"""The DP-DDPM synthesizer (TabDDPM-style), registered as ``ddpm``.

It works on the all-categorical grid view of ``traumasynth.models.codec`` (numeric slots as
cells of the public grid), so every slot follows multinomial diffusion; one MLP denoiser,
conditioned on the target class, predicts the ``x_0`` logits, offset by the DP
class-conditional marginals (``traumasynth.models.sgd``). Training
goes through ``traumasynth.privacy.dp.train_dp`` (DP-SGD with ghost clipping) with
``noise_multiplicity`` timestep/noise draws per example inside one per-example
gradient. Sampling runs the reverse process from pure noise for the requested
classes, in batches, with an optional classifier-free guidance; with the joint prior
(``prior: joint``) it starts instead from a row drawn from the prior, noised part of the way
(``prior_start``), so the network corrects a row that already holds the prior's joint.
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
    index_to_log_onehot,
    log_onehot_to_index,
    log_softmax_slots,
    multinomial_q_posterior,
    multinomial_q_sample,
    sample_log_categorical,
)
from traumasynth.models.ddpm.schedule import DiffusionSchedule, make_schedule, respaced_schedule
from traumasynth.models.joint_prior import JointPrior
from traumasynth.models.sgd import DPSGDSynthesizer, bank_picks
from traumasynth.privacy.task import DPTask
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)


class DDPMSynthesizer(DPSGDSynthesizer):
    """Multinomial denoising diffusion over the grid codes of the table, conditioned on the target class.

    Args:
        spec: the dataset specification.
        config: ``DDPMConfig`` (section ``train_dp_tabular.ddpm``); defaults if omitted.
    """

    name = "ddpm"
    pretrain_epochs = 30  # an epoch costs it 5x the VAE's; 100: the same 2-way TVD on the simulator, 2.6x the time
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
        network = MLPDenoiser(
            d_in=d_in,
            n_classes=self.encoder.n_classes,
            hidden_dims=self.config.hidden_dims,
            d_embed=self.config.d_embed,
            dropout=self.config.dropout,
        )
        if self.config.prior == "joint" and self.config.prior_share and self.config.prior_start is not None:
            bank = self.config.prior_bank  # rows drawn from the prior (class -1: empty)
            network.register_buffer("bank_codes", torch.zeros(bank, len(self.codec.sizes), dtype=torch.long))
            network.register_buffer("bank_y", torch.full((bank,), -1, dtype=torch.long))
        return network

    def _keep_from_prior(self, joint: JointPrior, *, seed: int) -> None:
        """Keep ``prior_bank`` rows drawn from the joint prior, as many of every class, for sampling to start from."""
        bank = self._buffers("bank_codes", "bank_y")
        if bank is None:
            return
        codes, classes = bank
        rows = self.codec.to_codes(joint.draw(len(classes), seed=seed, balanced=True))
        codes.copy_(torch.from_numpy(rows.x_cat))
        classes.copy_(torch.from_numpy(rows.y))

    def _start(self, y: torch.Tensor, *, generator: torch.Generator) -> tuple[torch.Tensor, int]:
        """``(log x_s, s)``: pure noise at the last step, or bank rows of classes ``y`` noised to step s."""
        b, width = int(y.shape[0]), self.layout.width
        steps = self.sample_schedule.timesteps
        noise = sample_log_categorical(
            log_probs=log_softmax_slots(logits=torch.zeros((b, 1, width)), layout=self.layout),
            layout=self.layout,
            generator=generator,
        )  # [b, 1, W]: x_T drawn from the uniform prior
        bank = self._buffers("bank_codes", "bank_y")
        if bank is None or self.config.prior_start is None:
            return noise, steps - 1
        codes, classes = bank
        start = max(1, round(self.config.prior_start * steps)) - 1
        pick = bank_picks(classes, y, generator=generator)
        has_row = pick >= 0
        if not has_row.any():
            return noise, steps - 1
        x0 = torch.zeros((b, len(self.codec.sizes)), dtype=torch.long)
        x0[has_row] = codes[pick[has_row]]
        log_x0 = index_to_log_onehot(x=x0.unsqueeze(1), layout=self.layout)  # [b, 1, W]
        t = torch.full((1, 1), start, dtype=torch.long)
        noised = multinomial_q_sample(
            schedule=self.sample_schedule, layout=self.layout, log_x0=log_x0, t=t, generator=generator
        )
        if has_row.all():
            return noised, start
        # a class the prior drew no row of starts from pure noise with the rest at step `start`
        return torch.where(has_row[:, None, None], noised, noise), start

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
        log_x, start = self._start(y, generator=generator)
        schedule = self.sample_schedule
        bar.update(schedule.timesteps - 1 - start)
        for step in reversed(range(start + 1)):
            t = torch.full((1, 1), step, dtype=torch.long)  # [1, 1]: one step for all rows, broadcast
            t_net = torch.full((1, 1), int(self.sample_t[step]), dtype=torch.long)  # its training timestep
            log_x0 = self._predict(log_x.exp(), t_net, y)
            log_p = multinomial_q_posterior(schedule=schedule, layout=self.layout, log_x0=log_x0, log_x_t=log_x, t=t)
            log_x = sample_log_categorical(log_probs=log_p, layout=self.layout, generator=generator)
            bar.update(1)
        return log_onehot_to_index(log_x=log_x, layout=self.layout)[:, 0]
