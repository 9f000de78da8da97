"""The table a peer fits, built from the spec alone, and the peer's output back in the spec's form.

SDV peers get the modelled columns as plain floats, strings and dates (``to_sdv_frame``); the
marginal-based DP peers (AIM, MST) get every column as integer codes of the public grid
(``DiscreteLayout``: spec categories, and the same spec-bounded bins as our ``marginals``
floor, ``traumasynth.encoding.grid``). Nothing is fitted on the private rows, so no privacy is
spent outside the peer's reported ε.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from traumasynth.core.errors import DataError
from traumasynth.encoding.grid import Grid, GridSettings, numeric_grids
from traumasynth.encoding.table import EncodedTable, TableEncoder
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate


@dataclass(frozen=True)
class DiscreteLayout:
    """The public grid of a discrete peer table: one integer column per encoder slot.

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
            params: the grid's ``n_bins`` and ``max_points`` (``BaselinesParams``).
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
        enc = self.encoder.encode(df)
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
        n = len(codes)
        generator = torch.Generator().manual_seed(seed)
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
        y = codes[self.encoder.spec.target.name].to_numpy(dtype=np.int64)
        return self.encoder.decode(EncodedTable(x_num=x_num, x_cat=x_cat, y=y), seed=seed)


def to_sdv_frame(df: pd.DataFrame, *, spec: DatasetSpec) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The modelled columns as plain dtypes SDV reads (floats with NaN, strings, dates), and their types."""
    out: dict[str, pd.Series] = {}
    columns: list[dict[str, Any]] = []
    for col in spec.modelled_columns:
        series = df[col.name]
        if col.kind == "categorical":
            out[col.name] = series.astype(object).where(series.notna(), None)
            columns.append({"name": col.name, "type": "categorical"})
        elif col.kind == "datetime":
            out[col.name] = pd.to_datetime(series).astype("datetime64[ns]")
            columns.append({"name": col.name, "type": "datetime"})
        else:
            out[col.name] = pd.to_numeric(series).astype("float64")
            columns.append({"name": col.name, "type": "numerical", "integer": col.kind == "integer"})
    return pd.DataFrame(out), columns


def from_sdv_frame(df: pd.DataFrame, *, spec: DatasetSpec) -> pd.DataFrame:
    """Rows in the spec's form from an SDV sample: numbers clipped to the spec bounds, integers rounded.

    Raises:
        DataError: a modelled column is missing.
        SchemaError: values break the spec (an unknown category, a forbidden null), all listed at once.
    """
    missing = [c.name for c in spec.modelled_columns if c.name not in df.columns]
    if missing:
        raise DataError(f"The peer output lacks column(s) {', '.join(missing)}. Rerun the baselines stage.")
    out: dict[str, pd.Series] = {}
    for col in spec.modelled_columns:
        series = df[col.name].reset_index(drop=True)
        if col.kind == "categorical":
            out[col.name] = series.astype(object).where(series.notna(), None).astype("str")
        elif col.kind == "datetime":
            low, high = col.date_bounds
            stamps = pd.to_datetime(series, errors="coerce")
            out[col.name] = stamps.clip(pd.Timestamp(low), pd.Timestamp(high)).astype("datetime64[ns]")
        else:
            lo, hi = col.numeric_bounds
            values = pd.to_numeric(series, errors="coerce").astype("float64").clip(lo, hi)
            out[col.name] = values.round().astype("Int64") if col.kind == "integer" else values
    frame = pd.DataFrame(out)
    return validate(frame, spec, columns=list(frame.columns), what="peer synthetic table")
