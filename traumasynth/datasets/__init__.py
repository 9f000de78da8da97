"""Readers that turn a dataset's raw source into a canonical frame (see ``DatasetSpec.reader``).

- ``ed_trauma_sim``: the built-in seeded simulator (no file).
- ``neiss``: CPSC NEISS files, decoded or coded layout, with a derived mechanism label.
- ``table``: any CSV or Parquet file whose columns the user's spec describes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from traumasynth.errors import DataError
from traumasynth.spec import DatasetSpec

#: Where the shared NEISS sample lies beside a checkout of this repository.
DEFAULT_NEISS_PATH = Path("../shared/data/neiss/NEISS_17-21_sample.csv")


def read_table_file(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file with every value kept as text (typing is the spec's job).

    Raises:
        DataError: the file does not exist, has an unknown suffix, or holds no rows.
    """
    if not path.is_file():
        raise DataError(
            f"Data file {path} not found. Set `base.dataset_path` in params.yaml to your CSV or Parquet file."
        )
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    elif suffix in (".csv", ".txt", ".gz"):
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            raise DataError(f"Data file {path} is empty. Export the table again with a header row.") from None
    else:
        raise DataError(f"Data file {path} has suffix '{suffix}'; use a .csv or .parquet file.")
    if df.empty:
        raise DataError(f"Data file {path} has a header but no rows. Export the table again.")
    return df


def load_raw(*, spec: DatasetSpec, path: str | Path | None, n_rows: int, seed: int) -> pd.DataFrame:
    """Read (or simulate) the dataset described by ``spec``, coerced to canonical dtypes.

    Args:
        spec: the dataset specification; ``spec.reader`` picks the reader.
        path: the raw file (``table`` and ``neiss`` readers); ``None`` or empty takes the
            reader's default (the shared NEISS sample for ``neiss``).
        n_rows: cohort size for the simulator.
        seed: simulator seed.

    Returns:
        The raw table, not yet validated: ``traumasynth.schema.conform`` types and checks it.
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
    return read_table_file(file)
