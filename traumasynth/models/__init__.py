"""Generative models of the modelled columns: one interface, a registry by name."""

from traumasynth.models.base import Synthesizer
from traumasynth.models.registry import available_synthesizers, get_synthesizer

__all__ = ["Synthesizer", "available_synthesizers", "get_synthesizer"]
