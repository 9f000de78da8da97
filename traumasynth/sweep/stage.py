"""The sweep report's stage: collect the sweep from a ``dvc exp show --json`` document, write table and plot."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.core.io import atomic_path
from traumasynth.sweep.experiments import parse_exp_show
from traumasynth.sweep.table import sorted_cells, sweep_table
from traumasynth.sweep.views import plot_frame

logger = logging.getLogger(__name__)


def write_csv_atomic(frame: pd.DataFrame, target: Path) -> None:
    """Write ``frame`` as CSV (no index, floats to 6 digits) without ever leaving half a file."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def read_sweep_table(path: Path) -> pd.DataFrame:
    """An earlier ``metrics/sweep_<dataset>.csv``.

    Raises:
        DataError: the file is missing, unreadable or lacks the sweep's columns.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read sweep table {path}: {exc}. Pass a metrics/sweep_<dataset>.csv file.") from exc
    missing = [c for c in ("dataset", "model", "epsilon", "experiment") if c not in frame.columns]
    if missing:
        raise DataError(f"{path} is not a sweep table (no column {', '.join(missing)}).")
    return frame


def run(
    *,
    exp_show: Any,
    dataset: str,
    peers_dp: Mapping[str, bool],
    table_path: Path,
    plot_path: Path,
    names: str | None = None,
    carry: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Collect the sweep of ``dataset`` from a ``dvc exp show --json`` document and write both files.

    ``names`` selects experiments by a glob on their names (see ``table.sweep_table``). ``carry``
    holds rows of an earlier sweep table to keep for models this sweep did not run (a peer whose
    inputs did not change need not be refitted): they keep their own ``experiment`` and ``rev``.

    Returns:
        The sweep table written to ``table_path``.

    Raises:
        DataError: the document is malformed or holds no evaluated model of ``dataset``.
    """
    experiments = parse_exp_show(exp_show=exp_show)
    table = sweep_table(experiments=experiments, dataset=dataset, peers_dp=peers_dp, names=names)
    if carry is not None:
        kept = carry[(carry["dataset"] == dataset) & ~carry["model"].isin(set(table["model"]))]
        if kept.empty:
            raise DataError(f"The carried table holds no row of {dataset} for a model this sweep did not run.")
        logger.info("Carried %d rows (%s) from an earlier sweep", len(kept), ", ".join(sorted(set(kept["model"]))))
        # a table written before a column was added has none: its cells stay empty
        table = sorted_cells(pd.concat([table, kept.reindex(columns=table.columns)], ignore_index=True))
    plot = plot_frame(table=table)
    write_csv_atomic(table, table_path)
    write_csv_atomic(plot, plot_path)
    logger.info(
        "Sweep of %s: %d cells from %d experiments -> %s, %s", dataset, len(table), len(experiments), table_path,
        plot_path,
    )  # fmt: skip
    return table
