"""Joint fidelity on the public grid: mean total-variation distance over 2-way and 3-way marginals.

Both tables are put on the grid the marginal-based peers fit (AIM, MST:
``traumasynth.encoding.discrete.DiscreteLayout``, from the spec's categories and bounds with
``baselines.n_bins`` and ``baselines.max_points``; a datetime part is its own column, and missing
is its own code). For every pair of grid columns, and every triple (or a seeded sample of
``max_triples`` of them), the distance is ``0.5 * sum |p - q|`` over the cells of that marginal;
the keys are the means. Range 0..1, lower is better (goal: minimise). Even two samples of one
population are apart (the finer the marginal, the more), so ``evaluate`` reports the real test
split against the real train split beside it as the sampling-noise reference.

Counting is vectorised: each marginal's cells get one combined integer code, marginals are
offset into one shared range, and one ``np.bincount`` per chunk counts them all.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.encoding.discrete import DiscreteLayout
from traumasynth.encoding.grid import GridSettings
from traumasynth.spec import DatasetSpec

#: Rows x marginals combined at once (int64): bounds a chunk's memory to a few tens of MB.
_CELLS_PER_CHUNK = 1 << 22
#: Histogram bins counted at once; a single marginal with more is counted on the cells that occur.
_BINS_PER_CHUNK = 1 << 22


def _unrank(rank: int, *, n: int, k: int) -> list[int]:
    """The ``k``-subset of ``range(n)`` at position ``rank`` of ``itertools.combinations``' order."""
    out: list[int] = []
    x = 0
    for i in range(k):
        while rank >= (below := math.comb(n - x - 1, k - i - 1)):  # subsets whose next column is x
            rank -= below
            x += 1
        out.append(x)
        x += 1
    return out


def marginal_subsets(n_columns: int, *, k: int, max_subsets: int | None = None, seed: int = 0) -> np.ndarray:
    """Every ``k``-column subset of ``n_columns`` columns, or a seeded sample of ``max_subsets`` of them.

    Args:
        n_columns: columns of the grid table.
        k: columns per marginal (2 or 3).
        max_subsets: cap; above it, a uniform sample without replacement (None: no cap). The
            sample is drawn by rank, so a wide table's subsets are never all listed.
        seed: seed of the sample; the same seed gives the same subsets.

    Returns:
        ``[S, k]`` column indices, in ``itertools.combinations`` order (a sample keeps that order).
    """
    total = math.comb(n_columns, k)
    if max_subsets is None or total <= max_subsets:
        return np.array(list(itertools.combinations(range(n_columns), k)), dtype=np.int64).reshape(-1, k)
    ranks = np.sort(np.random.default_rng(seed).choice(total, size=max_subsets, replace=False))
    return np.array([_unrank(int(r), n=n_columns, k=k) for r in ranks], dtype=np.int64).reshape(-1, k)


def _chunks(domains: np.ndarray, *, rows: int) -> Iterator[slice]:
    """Consecutive runs of marginals whose combined codes and bins fit the chunk budgets."""
    per_chunk = max(1, _CELLS_PER_CHUNK // max(rows, 1))
    start = 0
    while start < len(domains):
        stop, bins = start + 1, int(domains[start])
        while stop < len(domains) and stop - start < per_chunk and bins + int(domains[stop]) <= _BINS_PER_CHUNK:
            bins += int(domains[stop])
            stop += 1
        yield slice(start, stop)
        start = stop


def _combined(columns: np.ndarray, *, sizes: np.ndarray, subsets: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """One integer per marginal and row: the row's cell, offset into the marginal's own range.

    ``columns`` is ``[C, N]`` (one contiguous row per grid column), so gathering a column is a copy
    of a row, not a strided read.
    """
    dtype = np.int32 if int(offsets[-1] + np.prod(sizes[subsets[-1]])) < np.iinfo(np.int32).max else np.int64
    out = np.zeros((len(subsets), columns.shape[1]), dtype=dtype)  # [S, N]
    for j in range(subsets.shape[1]):
        out *= sizes[subsets[:, j], None].astype(dtype)
        out += columns[subsets[:, j]]
    out += offsets[:, None].astype(dtype)
    return out


def _chunk_tvds(real: np.ndarray, synthetic: np.ndarray, *, sizes: np.ndarray, subsets: np.ndarray) -> np.ndarray:
    """TVD of each marginal of one chunk (``real``, ``synthetic``: ``[C, N]`` and ``[C, M]`` codes)."""
    domains = np.prod(sizes[subsets], axis=1)  # [S]
    offsets = np.concatenate([[0], np.cumsum(domains)[:-1]])  # [S]
    total = int(domains.sum())
    a = _combined(real, sizes=sizes, subsets=subsets, offsets=offsets).ravel()
    b = _combined(synthetic, sizes=sizes, subsets=subsets, offsets=offsets).ravel()
    n_real, n_synthetic = real.shape[1], synthetic.shape[1]
    if total > _BINS_PER_CHUNK:  # one marginal (a chunk of one) too wide to histogram: count the cells seen
        cells, index = np.unique(np.concatenate([a, b]), return_inverse=True)
        p = np.bincount(index[: len(a)], minlength=len(cells)) / n_real
        q = np.bincount(index[len(a) :], minlength=len(cells)) / n_synthetic
        return np.array([0.5 * np.abs(p - q).sum()])
    p = np.bincount(a, minlength=total) / n_real  # each marginal's shares sum to 1 within its range
    q = np.bincount(b, minlength=total) / n_synthetic
    return 0.5 * np.add.reduceat(np.abs(p - q), offsets)


def marginal_tvds(
    real: np.ndarray, synthetic: np.ndarray, *, sizes: tuple[int, ...], subsets: np.ndarray
) -> np.ndarray:
    """Total-variation distance of each marginal ``subsets[i]`` between two tables of grid codes.

    Args:
        real: ``[N, C]`` codes, column ``c`` in ``0..sizes[c]-1``.
        synthetic: ``[M, C]`` codes of the other table.
        sizes: domain size of each column.
        subsets: ``[S, k]`` column indices (``marginal_subsets``).

    Returns:
        ``[S]`` distances in 0..1.

    Raises:
        DataError: a table has no row, or a table's columns do not match ``sizes``.
    """
    size_arr = np.asarray(sizes, dtype=np.int64)
    for name, codes in (("real", real), ("synthetic", synthetic)):
        if codes.ndim != 2 or codes.shape[1] != len(size_arr):
            raise DataError(
                f"The {name} grid table has shape {codes.shape}, not (rows, {len(size_arr)}). "
                "Encode both tables with the same DiscreteLayout."
            )
        if len(codes) == 0:
            raise DataError(f"The {name} table has no rows. Give both tables at least one row.")
    out = np.empty(len(subsets), dtype=np.float64)
    domains = np.prod(size_arr[subsets], axis=1) if len(subsets) else np.zeros(0, dtype=np.int64)
    # [C, N], [C, M]; codes are below the domain sizes, far below 2**31
    real_t, synthetic_t = (np.ascontiguousarray(x.T, dtype=np.int32) for x in (real, synthetic))
    for part in _chunks(domains, rows=max(len(real), len(synthetic))):
        out[part] = _chunk_tvds(real_t, synthetic_t, sizes=size_arr, subsets=subsets[part])
    return out


@dataclass(frozen=True)
class JointWorkload:
    """The marginals measured: the public grid, every pair of its columns and the triples kept.

    Attributes:
        layout: the grid (``DiscreteLayout``) both tables are encoded on.
        pairs: ``[P, 2]`` column indices of ``layout.columns``.
        triples: ``[T, 3]`` column indices (all of them, or a seeded sample of ``max_triples``).
    """

    layout: DiscreteLayout
    pairs: np.ndarray
    triples: np.ndarray

    @classmethod
    def from_spec(cls, spec: DatasetSpec, *, grid: GridSettings, max_triples: int, seed: int) -> JointWorkload:
        """The workload of ``spec`` on the grid ``grid`` (``BaselinesParams``: ``n_bins``, ``max_points``).

        Args:
            max_triples: above this many triples, a uniform sample of this many, drawn with ``seed``.
        """
        layout = DiscreteLayout.from_spec(spec, params=grid)
        n = len(layout.columns)
        return cls(
            layout=layout,
            pairs=marginal_subsets(n, k=2),
            triples=marginal_subsets(n, k=3, max_subsets=max_triples, seed=seed),
        )

    def codes(self, df: pd.DataFrame) -> np.ndarray:
        """``[N, C]`` grid codes of a frame in the spec's form.

        Raises:
            SchemaError: the frame breaks the spec.
        """
        return self.layout.encode(df).to_numpy(dtype=np.int64)

    def tvd(self, real: np.ndarray, synthetic: np.ndarray) -> dict[str, float | None]:
        """``tvd_2way`` and ``tvd_3way``: mean TVD over the pairs and the triples (None when there are none).

        Args:
            real: ``codes`` of the reference table (the real train split).
            synthetic: ``codes`` of the table compared with it.
        """
        sizes = self.layout.sizes
        out: dict[str, float | None] = {}
        for key, subsets in (("tvd_2way", self.pairs), ("tvd_3way", self.triples)):
            tvds = marginal_tvds(real, synthetic, sizes=sizes, subsets=subsets)
            out[key] = float(tvds.mean()) if len(tvds) else None
        return out


def _rounded(values: dict[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 6) for k, v in values.items()}


def joint_fidelity(
    train: pd.DataFrame, synthetic: pd.DataFrame, *, test: pd.DataFrame, workload: JointWorkload
) -> dict[str, Any]:
    """The joint keys of ``evaluate``: ``tvd_2way``, ``tvd_3way`` and their ``reference``.

    Args:
        train: the real train split (spec form), what every table is compared with.
        synthetic: the model's rows.
        test: the real test split: its distance to ``train`` is the sampling-noise reference.
        workload: the grid and the marginals.

    Returns:
        ``{"tvd_2way", "tvd_3way", "reference": {"tvd_2way", "tvd_3way", "rows"}}``, rounded to 6
        decimals; ``rows`` is the test split's size (a smaller table sits farther from ``train``).
    """
    train_codes = workload.codes(train)
    model = workload.tvd(train_codes, workload.codes(synthetic))
    reference = workload.tvd(train_codes, workload.codes(test))
    return {**_rounded(model), "reference": {**_rounded(reference), "rows": len(test)}}
