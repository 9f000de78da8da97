"""The public grid of a numeric slot: cells given by the spec alone, never by the data.

A numeric slot (scaled to ``[-1, 1]`` with spec bounds by ``traumasynth.encoding.table``) gets
``n_bins`` equal-width bins, or one point per value when it is an untransformed integer (or a
datetime part) with at most ``max_points`` values. The marginals model releases its histograms
on this grid; the codec, the peers' discretiser and the evaluation bin on it too.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import torch

from traumasynth.spec import DATETIME_PART_BOUNDS, DatasetSpec


class GridSettings(Protocol):
    """What sizes a grid (``MarginalsConfig`` and ``BaselinesParams`` both carry it)."""

    @property
    def n_bins(self) -> int:
        """Equal-width bins of a continuous (or wide integer) slot on ``[-1, 1]``."""
        ...

    @property
    def max_points(self) -> int:
        """An integer slot with at most this many values gets one cell per value."""
        ...


class Grid:
    """The public binning of one numeric slot: ``size`` cells, point values or equal-width bins."""

    def __init__(self, size: int, points: bool) -> None:
        self.size = size
        self.points = points

    def index(self, x: np.ndarray) -> np.ndarray:
        """Cell of each scaled value in ``[-1, 1]``."""
        pos = (np.clip(x.astype(np.float64), -1.0, 1.0) + 1.0) / 2.0
        if self.points:
            return np.rint(pos * (self.size - 1)).astype(np.int64)
        return np.minimum(np.floor(pos * self.size), self.size - 1).astype(np.int64)

    def value(self, cell: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
        """A scaled value in each cell: the point itself, or uniform within the bin."""
        if self.points:
            return -1.0 + 2.0 * cell.double() / (self.size - 1)
        u = torch.rand(cell.shape, generator=generator, dtype=torch.float64)
        return -1.0 + 2.0 * (cell.double() + u) / self.size


def numeric_grids(spec: DatasetSpec, num_names: list[str], config: GridSettings) -> list[Grid]:
    """The grid of each numeric slot ``num_names`` (``TableEncoder.num_names``) of ``spec``.

    Args:
        spec: the dataset specification (bounds, kinds, transforms).
        num_names: the numeric slots, ``<column>`` or ``<column>.<datetime part>``.
        config: ``n_bins`` and ``max_points``.
    """
    grids = []
    for slot in num_names:
        col_name, _, part = slot.partition(".")
        col = spec.column(col_name)
        n_values: int | None = None
        if part:
            if part == "year":
                low, high = col.date_bounds
                n_values = high.year - low.year + 1
            else:
                lo, hi = DATETIME_PART_BOUNDS[part]
                n_values = hi - lo + 1
        elif col.kind == "integer" and col.transform == "none":
            lo_f, hi_f = col.numeric_bounds
            n_values = int(math.floor(hi_f) - math.ceil(lo_f)) + 1
        if n_values is not None and n_values <= config.max_points:
            grids.append(Grid(max(n_values, 2), points=True))
        else:
            grids.append(Grid(config.n_bins, points=False))
    return grids
