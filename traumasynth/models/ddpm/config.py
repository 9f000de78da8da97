"""Settings of the DP-DDPM, sub-section ``train_dp_tabular.ddpm`` of ``params.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from traumasynth.models.sgd import SGDModelConfig


class DDPMConfig(SGDModelConfig):
    """Architecture and diffusion settings of the DDPM synthesizer (plus the prior and schedule of ``SGDModelConfig``).

    Attributes:
        timesteps: diffusion steps T of training (TabDDPM's 1000 are not needed for
            ~25 columns; the training cost does not depend on T).
        sample_steps: reverse steps taken when sampling, evenly spaced over the T
            (null, or a value >= T: all T); sampling time is proportional to it.
        schedule: noise schedule of the multinomial diffusion.
        hidden_dims: widths of the denoiser's hidden layers.
        d_embed: width of the timestep/class embeddings and of the input projection.
        dropout: dropout after each hidden layer (0 disables it).
        noise_multiplicity: timestep/noise draws per example averaged inside one
            per-example gradient; lowers the gradient's variance at no privacy cost.
        cond_drop_prob: share of training examples shown without their class, which
            trains the unconditional model classifier-free guidance needs.
        guidance_scale: classifier-free guidance weight w at sampling
            (``(1 + w) * conditional - w * unconditional``); 0 samples the conditional model only.
        sample_batch_size: rows denoised together when sampling.
        prior_bank: with ``prior: joint``, rows drawn from the prior and kept for sampling.
        prior_start: with ``prior: joint``, sampling starts from a bank row of the class noised
            to this share of the reverse steps (SDEdit, Meng et al. 2022) instead of pure noise;
            null: pure noise.
    """

    timesteps: int = Field(default=100, ge=2, le=4000)
    sample_steps: int | None = Field(default=50, ge=2)
    schedule: Literal["cosine", "linear"] = "cosine"
    hidden_dims: tuple[PositiveInt, ...] = Field(default=(256, 256), min_length=1)
    d_embed: PositiveInt = 128
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    noise_multiplicity: int = Field(default=4, ge=1, le=64)
    cond_drop_prob: float = Field(default=0.0, ge=0.0, lt=1.0)
    guidance_scale: float = Field(default=0.0, ge=0.0)
    sample_batch_size: int = Field(default=2048, ge=1)
    prior_bank: int = Field(default=8192, ge=1)
    prior_start: float | None = Field(default=0.3, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _guidance_needs_unconditional_training(self) -> DDPMConfig:
        if self.guidance_scale > 0 and self.cond_drop_prob == 0:
            raise ValueError(
                "guidance_scale > 0 needs an unconditional model: set cond_drop_prob > 0 (e.g. 0.1) "
                "or guidance_scale to 0"
            )
        return self
