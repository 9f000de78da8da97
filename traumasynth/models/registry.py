"""Synthesizers by name (as in ``base.models`` and ``--model``).

Classes are imported on first use, so naming one model does not import the others.
"""

from __future__ import annotations

import importlib

from traumasynth.core.errors import ParamsError
from traumasynth.models.base import Synthesizer

#: name -> "module:Class". A new model adds one line here and a sub-section in params.yaml.
_REGISTRY: dict[str, str] = {
    "vae": "traumasynth.models.vae:VAESynthesizer",
    "ddpm": "traumasynth.models.ddpm:DDPMSynthesizer",
    "marginals": "traumasynth.models.marginals:MarginalsSynthesizer",
}


def available_synthesizers() -> list[str]:
    """Names accepted by :func:`get_synthesizer`, sorted."""
    return sorted(_REGISTRY)


def get_synthesizer(name: str) -> type[Synthesizer]:
    """The synthesizer class registered as ``name``.

    Raises:
        ParamsError: unknown name (the message lists the valid ones).
    """
    if name not in _REGISTRY:
        raise ParamsError(
            f"Unknown model '{name}'. Valid models: {', '.join(available_synthesizers())}. "
            "Fix base.models in params.yaml or the --model option."
        )
    module_name, class_name = _REGISTRY[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Synthesizer)) or cls.name != name:
        raise TypeError(f"{_REGISTRY[name]} is not a Synthesizer named '{name}'")
    return cls
