"""Every encoded slot as a category on the spec's public grid, and the DP prior over those categories.

The DP-SGD models (VAE, DDPM) see a table in which each numeric slot is replaced by its
cell on the public grid of the ``marginals`` model (one cell per value of a narrow integer,
equal-width bins otherwise; ``traumasynth.encoding.grid.numeric_grids``) and each
categorical slot keeps its levels. On that all-categorical view the DP class-conditional
marginals are exactly a table of log-probabilities ``[K, W]`` that a network can add to its
logits (:meth:`GridCodec.log_prior`): the network then starts at the marginals floor and
learns only the dependence the marginals miss. Decoding draws a value uniformly within the
cell (post-processing with public randomness).
"""

from __future__ import annotations

import numpy as np
import torch

from traumasynth.encoding.grid import Grid, numeric_grids
from traumasynth.encoding.table import EncodedTable, TableEncoder
from traumasynth.models.marginals import MarginalsConfig, MarginalsSynthesizer

#: Share of probability spread evenly over a slot's cells before taking logs: no cell is impossible.
_PRIOR_FLOOR = 1e-3


class GridCodec:
    """Converts encoded tables to and from the all-categorical grid view of one encoder."""

    def __init__(self, encoder: TableEncoder) -> None:
        self.encoder = encoder
        self.grids: list[Grid] = numeric_grids(encoder.spec, encoder.num_names, MarginalsConfig())

    @property
    def sizes(self) -> tuple[int, ...]:
        """Categories per slot of the grid view: numeric slots' cells, then the categorical levels."""
        return tuple([g.size for g in self.grids] + list(self.encoder.cat_sizes))

    @property
    def width(self) -> int:
        return sum(self.sizes)

    def to_codes(self, enc: EncodedTable) -> EncodedTable:
        """The grid view: ``x_num`` empty, ``x_cat`` = numeric cells then categorical codes."""
        cells = [g.index(enc.x_num[:, j]) for j, g in enumerate(self.grids)]
        x_cat = np.column_stack([*cells, enc.x_cat]) if cells else enc.x_cat
        return EncodedTable(x_num=np.zeros((len(enc), 0), dtype=np.float32), x_cat=x_cat.astype(np.int64), y=enc.y)

    def from_codes(self, codes: EncodedTable, *, generator: torch.Generator) -> EncodedTable:
        """Back to the encoder's form: a value uniform within each numeric cell (or the cell's point)."""
        n_num = len(self.grids)
        cells = torch.from_numpy(codes.x_cat[:, :n_num])
        values = [g.value(cells[:, j], generator=generator) for j, g in enumerate(self.grids)]
        x_num = torch.stack(values, dim=1).numpy() if values else np.zeros((len(codes), 0))
        return EncodedTable(x_num=x_num.astype(np.float32), x_cat=codes.x_cat[:, n_num:].astype(np.int64), y=codes.y)

    def log_prior(self, prior: MarginalsSynthesizer) -> torch.Tensor:
        """``[K + 1, W]`` log-probabilities of every grid category given the class, from released counts.

        Row ``K`` (the "no class" index of classifier-free guidance) is the pooled distribution.
        Post-processing of the prior's DP release only.
        """
        tables = prior.tables
        k = self.encoder.n_classes
        blocks: list[torch.Tensor] = []
        for j, g in enumerate(self.grids):
            blocks.append(tables.num_counts[:, j, : g.size])
        for j, size in enumerate(self.encoder.cat_sizes):
            blocks.append(tables.cat_counts[:, j, :size])
        rows = []
        for block in blocks:
            counts = block.double().clamp(min=0.0)  # [K, size]
            pooled = counts.sum(dim=0, keepdim=True)  # [1, size]
            both = torch.cat([counts, pooled], dim=0)  # [K + 1, size]
            total = both.sum(dim=1, keepdim=True)
            size = both.shape[1]
            probs = torch.where(total > 0, both / total.clamp(min=1e-12), torch.full_like(both, 1.0 / size))
            probs = (1 - _PRIOR_FLOOR) * probs + _PRIOR_FLOOR / size
            rows.append(probs.log())
        out = torch.cat(rows, dim=1) if rows else torch.zeros((k + 1, 0), dtype=torch.float64)
        return out.float()
