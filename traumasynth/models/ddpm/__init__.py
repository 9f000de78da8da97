"""DP-DDPM (TabDDPM-style mixed-type diffusion): schedule maths, denoiser, loss, synthesizer."""

from traumasynth.models.ddpm.config import DDPMConfig
from traumasynth.models.ddpm.model import DDPMSynthesizer

__all__ = ["DDPMConfig", "DDPMSynthesizer"]
