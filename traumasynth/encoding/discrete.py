"""Every column as integer codes of the public grid: the discrete view of AIM, MST, the joint prior, k-way metrics.

A numeric slot becomes its cell on the spec's public grid (``traumasynth.encoding.grid``), with
one extra code for "missing" when its column is nullable; a categorical slot keeps its level;
the target is the last column. Built from the spec alone, so it costs no privacy budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from traumasynth.core.errors import DataError
from traumasynth.encoding.grid import Grid, GridSettings, numeric_grids
from traumasynth.encoding.table import EncodedTable, TableEncoder
from traumasynth.spec import DatasetSpec


@dataclass(frozen=True)
class DiscreteLayout:
    """The public grid of a discrete table: one integer column per encoder slot.

    A numeric slot of a nullable column has one extra code (its last, ``grid.size``) for
    "missing", standing in for the encoder's ``<column>.__missing__`` indicator.

    Attributes:
        columns: column names of the peer table (numeric slots, categorical features, target).
        sizes: domain size of each column (codes are ``0..size-1``).
    """

    encoder: TableEncoder
    grids: tuple[Grid, ...]
    num_missing: tuple[int, ...]  # for each numeric slot, its indicator's categorical slot or -1
    cat_slots: tuple[int, ...]  # categorical slots that are real columns (not missing indicators)
    columns: tuple[str, ...]
    sizes: tuple[int, ...]

    @classmethod
    def from_spec(cls, spec: DatasetSpec, *, params: GridSettings) -> DiscreteLayout:
        """The layout given by the spec's categories and bounds alone (no data is read).

        Args:
            spec: the dataset specification.
            params: the grid's ``n_bins`` and ``max_points`` (e.g. ``BaselinesParams``).
        """
        encoder = TableEncoder(spec)
        grids = tuple(numeric_grids(spec, encoder.num_names, params))
        num_missing = tuple(encoder.num_missing_slot)
        indicators = {i for i in num_missing if i >= 0}
        cat_slots = tuple(j for j in range(encoder.n_cat) if j not in indicators)
        columns = (
            *encoder.num_names,
            *(encoder.cat_names[j] for j in cat_slots),
            spec.target.name,
        )
        sizes = (
            *(g.size + int(m >= 0) for g, m in zip(grids, num_missing, strict=True)),
            *(encoder.cat_sizes[j] for j in cat_slots),
            encoder.n_classes,
        )
        return cls(encoder, grids, num_missing, cat_slots, columns, sizes)

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        """Integer codes of ``df`` (a frame in the spec's form) on this grid.

        Raises:
            SchemaError: the frame breaks the spec (see ``TableEncoder.encode``).
        """
        return self.codes_of(self.encoder.encode(df))

    def codes_of(self, enc: EncodedTable) -> pd.DataFrame:
        """Integer codes on this grid of rows already encoded by ``self.encoder``."""
        out: dict[str, np.ndarray] = {}
        for j, (grid, ind) in enumerate(zip(self.grids, self.num_missing, strict=True)):
            codes = grid.index(enc.x_num[:, j])
            if ind >= 0:
                codes = np.where(enc.x_cat[:, ind] == 1, grid.size, codes)
            out[self.encoder.num_names[j]] = codes
        for j in self.cat_slots:
            out[self.encoder.cat_names[j]] = enc.x_cat[:, j]
        out[self.encoder.spec.target.name] = enc.y
        return pd.DataFrame({c: out[c].astype(np.int64) for c in self.columns})

    def check_codes(self, codes: pd.DataFrame, *, what: str) -> None:
        """Raise one DataError listing every column that is missing or holds codes outside its domain."""
        problems = []
        for name, size in zip(self.columns, self.sizes, strict=True):
            if name not in codes.columns:
                problems.append(f"column '{name}' is missing")
                continue
            values = pd.to_numeric(codes[name], errors="coerce")
            bad = values.isna() | (values < 0) | (values >= size) | (values != np.floor(values))
            if bad.any():
                problems.append(f"column '{name}' has {int(bad.sum())} code(s) outside 0..{size - 1}")
        if problems:
            raise DataError(
                f"The {what} does not fit the public grid:\n  - "
                + "\n  - ".join(problems)
                + "\nCheck that .venv-peers has the versions of peers/requirements.txt, then rerun the stage."
            )

    def decode(self, codes: pd.DataFrame, *, seed: int) -> pd.DataFrame:
        """Rows in the spec's form from integer codes (a value uniform within its bin, as the floor does)."""
        self.check_codes(codes, what="peer output")
        return self.encoder.decode(self.encoded(codes, generator=torch.Generator().manual_seed(seed)), seed=seed)

    def encoded(self, codes: pd.DataFrame, *, generator: torch.Generator) -> EncodedTable:
        """The encoder's arrays of integer codes on this grid: a value uniform within each bin."""
        n = len(codes)
        x_num = np.zeros((n, self.encoder.n_num), dtype=np.float32)
        x_cat = np.zeros((n, self.encoder.n_cat), dtype=np.int64)
        for j, (grid, ind) in enumerate(zip(self.grids, self.num_missing, strict=True)):
            cells = codes[self.encoder.num_names[j]].to_numpy(dtype=np.int64)
            missing = cells == grid.size
            values = grid.value(torch.from_numpy(np.minimum(cells, grid.size - 1)), generator=generator).numpy()
            x_num[:, j] = np.where(missing, 0.0, values)
            if ind >= 0:
                x_cat[:, ind] = np.maximum(x_cat[:, ind], missing.astype(np.int64))
        for j in self.cat_slots:
            x_cat[:, j] = codes[self.encoder.cat_names[j]].to_numpy(dtype=np.int64)
        y = codes[self.encoder.spec.target.name].to_numpy(dtype=np.int64, copy=True)  # writable (torch reads it)
        return EncodedTable(x_num=x_num, x_cat=x_cat, y=y)
