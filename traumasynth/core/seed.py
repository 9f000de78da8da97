"""One place that seeds every random generator the package uses."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and (when installed) torch; return a NumPy generator for the caller.

    Samplers still take an explicit ``seed`` argument: global seeding only makes
    library code that draws from global state reproducible too.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # torch is a core dependency; this keeps the helper usable in light tools
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)
