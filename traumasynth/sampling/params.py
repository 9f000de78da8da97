"""Section ``sample`` of ``params.yaml``: the strategy and sizes of the synthetic tables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from traumasynth.core.params import FrozenParams

Strategy = Literal["match", "balanced", "counts", "augment"]


class SampleParams(FrozenParams):
    """Section ``sample`` of ``params.yaml``.

    Attributes:
        strategy: ``match``, ``balanced``, ``counts`` or ``augment`` (see ``traumasynth.sampling``).
        n_rows: rows of the main file for ``match`` and ``balanced``; ``None`` = the DP
            estimate of the training size (the sum of the noisy class histogram).
        counts: rows per class for ``counts``, e.g. ``{"self_harm": 1000}``.
        augment_target: a class whose DP count is below this is topped up to it in the
            augment file (and, for ``augment``, in the main file); ``None``: half an equal share
            of the DP total, at least 1000 (``class_plan.augment_target``), so that a rare class
            of a registry is still topped up.
        secure_noise: draw the histogram noise from the operating system's CSPRNG instead
            of the generator keyed by the custodian's noise key (``traumasynth.privacy.keys``);
            runs are then no longer byte-for-byte reproducible.
        batch_size: rows asked of the model per call (the progress bar's step).
        enforce_constraints: drop the rows that break a clinical rule of the dataset
            specification and draw more of the same class until the counts are met
            (``traumasynth.sampling.enforce``); ``false`` releases the rows as drawn and only reports
            how many break a rule.
    """

    strategy: Strategy = "match"
    n_rows: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    augment_target: int | None = Field(default=None, ge=1)
    secure_noise: bool = False
    batch_size: int = Field(default=5000, ge=1)
    enforce_constraints: bool = True
