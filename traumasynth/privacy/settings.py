"""The DP-SGD and budget knobs of ``train_dp_tabular``: what the privacy code reads, nothing of the models.

``traumasynth.training.TrainParams`` (the whole section, owned by the training stage) extends
:class:`DPSettings` with each model's own sub-section; the privacy code and the models type their
parameters as :class:`DPSettings`, so neither needs the training stage (no import cycle, no
import up the layering).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from traumasynth.core.params import FrozenParams

__all__ = ["DPSettings"]


class DPSettings(FrozenParams):
    """The privacy budget and DP-SGD settings shared by every model.

    Attributes:
        epsilon: ε of each model's release: every mechanism that reads the training rows for that
            model (class histogram, marginal prior, DP-SGD) composed. A release folder of several
            models composes to more, as ``release/PRIVACY.md`` states (null: no DP, a reference only).
            Validated here, once: a positive, finite number.
        delta: δ of each model's (ε, δ) guarantee; must be well below 1/n_train_rows. The default
            1e-8 holds for any table up to 100 million training rows, so it never depends on (or
            reveals) the table's size (docs/privacy.md, "Why δ = 1e-8").
        accountant: how the plan composes every mechanism, calibrates the DP-SGD noise and reads ε
            back: ``prv`` (PRV accountant, tighter) or ``rdp`` (Rényi DP, looser and faster).
        max_grad_norm: per-example gradient clipping norm C.
        epochs: passes over the training rows (the noise is calibrated for exactly this many).
        batch_size: expected batch size (Poisson sampling rate = batch_size / n_rows); null:
            ``auto_batch_size`` of the training rows (a sixteenth of them, 1 to 1024), so that a
            650-row table trains with the defaults.
        lr: Adam learning rate.
        device: ``auto`` (GPU if visible), ``cpu`` or ``cuda``.
        grad_sample_mode: how Opacus gets per-example gradients: ``ghost`` (ghost clipping,
            no per-example gradients stored), ``hooks`` or ``functorch``.
        secure_mode: cryptographically secure noise and sampling (needs ``torchcsprng``;
            runs are then not reproducible). See ``traumasynth.privacy.dp``.
        histogram_share: share of the budget (Gaussian-DP ``mu^2``) for the sampling stage's
            class histogram (see ``traumasynth.privacy.plan``).
    """

    epsilon: float | None = 3.0
    delta: float = Field(default=1e-8, gt=0, lt=1)
    accountant: Literal["prv", "rdp"] = "prv"
    max_grad_norm: float = Field(default=1.0, gt=0)
    epochs: int = Field(default=30, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    grad_sample_mode: Literal["ghost", "hooks", "functorch"] = "ghost"
    secure_mode: bool = False
    histogram_share: float = Field(default=0.02, gt=0, lt=1)

    @field_validator("epsilon")
    @classmethod
    def _positive_epsilon(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"must be a positive number, got {value}. Typical values are 1 to 10; "
                "set it to null to train without differential privacy"
            )
        return value
