"""DP-DDPM (TabDDPM-style multinomial diffusion over the coded table): schedule, maths, denoiser, loss, synthesizer."""

from traumasynth.models.ddpm.config import DDPMConfig
from traumasynth.models.ddpm.model import DDPMSynthesizer

__all__ = ["DDPMConfig", "DDPMSynthesizer"]
