"""Section ``train_dp_tabular`` of ``params.yaml``: the privacy budget and the DP-SGD settings.

It lives with the privacy code that reads it (``traumasynth.privacy.dp``, ``plan``) and imports
nothing of the models, so the models can depend on it without an import cycle. Each model's own
sub-section (``vae:``, ``ddpm:``, ``marginals:``) is validated by that model's config class
(``traumasynth.training.model_config``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from traumasynth.params import FrozenParams

__all__ = ["TrainParams"]


class TrainParams(FrozenParams):
    """Section ``train_dp_tabular`` of ``params.yaml``.

    Attributes:
        epsilon: total privacy budget ε of the release: every mechanism that reads the training
            rows (class histogram, marginal prior, DP-SGD) composed (null: no DP, a reference only).
        delta: total δ of the (ε, δ) guarantee; must be well below 1/n_train_rows.
        accountant: Opacus accountant used to calibrate the noise and report ε (``prv`` is tighter).
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
        vae: size of the DP-VAE (``traumasynth.models.vae.VAEConfig``).
        ddpm: size of the DP-DDPM (``traumasynth.models.ddpm``).
        marginals: bins and noise of the DP marginals floor (``traumasynth.models.marginals.MarginalsConfig``).
    """

    epsilon: float | None = 3.0
    delta: float = 1e-5
    accountant: Literal["prv", "rdp"] = "prv"
    max_grad_norm: float = Field(default=1.0, gt=0)
    epochs: int = Field(default=30, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    lr: float = Field(default=1e-3, gt=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    grad_sample_mode: Literal["ghost", "hooks", "functorch"] = "ghost"
    secure_mode: bool = False
    histogram_share: float = Field(default=0.02, gt=0, lt=1)
    vae: dict[str, Any] = Field(default_factory=dict)
    ddpm: dict[str, Any] = Field(default_factory=dict)
    marginals: dict[str, Any] = Field(default_factory=dict)
