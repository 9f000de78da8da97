"""Readers that turn a dataset's raw source into a canonical frame (see ``DatasetSpec.reader``).

- ``ed_trauma_sim``: the built-in seeded simulator (no file).
- ``neiss``: CPSC NEISS files, decoded or coded layout, with a derived mechanism label.
- ``table``: any CSV or Parquet file whose columns the user's spec describes (``table.py``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.spec import DatasetSpec

#: Where the shared NEISS sample lies beside a checkout of this repository.
DEFAULT_NEISS_PATH = Path("../shared/data/neiss/NEISS_17-21_sample.csv")


def load_raw(*, spec: DatasetSpec, path: str | Path | None, n_rows: int, seed: int) -> pd.DataFrame:
    """Read (or simulate) the dataset described by ``spec``, coerced to canonical dtypes.

    Args:
        spec: the dataset specification; ``spec.reader`` picks the reader.
        path: the raw file (``table`` and ``neiss`` readers); ``None`` or empty takes the
            reader's default (the shared NEISS sample for ``neiss``).
        n_rows: cohort size for the simulator.
        seed: simulator seed.

    Returns:
        The raw table, not yet validated: ``traumasynth.spec.schema.conform`` types and checks it.
    """
    file = Path(path) if path else None
    if spec.reader == "ed_trauma_sim":
        from traumasynth.datasets.ed_trauma_sim import simulate

        return simulate(n_rows=n_rows, seed=seed, spec=spec)
    if spec.reader == "neiss":
        from traumasynth.datasets.neiss import read_neiss

        return read_neiss(path=file or DEFAULT_NEISS_PATH, spec=spec)
    if file is None:
        raise DataError(
            f"Dataset '{spec.name}' reads a file, but `base.dataset_path` is empty. "
            "Set it in params.yaml, e.g. `dvc exp run -S base.dataset_path=data/raw/my_ed.csv`."
        )
    from traumasynth.datasets.table import read_table

    return read_table(path=file, spec=spec)
