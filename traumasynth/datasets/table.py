"""The ``table`` reader: a user's CSV or Parquet file, its columns named as the spec says.

A column of the spec is found in the file by its header (``source`` if given, else ``name``;
surrounding spaces ignored), or by position (``source: "#3"``, the third column), which is how a
blank or repeated header is named: the reader keeps the file's own header texts, never the names
pandas would invent for them (``Unnamed: 2``, ``age.1``). A column the spec does not list is
kept for the schema to report (``unlisted_columns: error``, the default) or dropped here, before
anything else sees it (``unlisted_columns: exclude``). Every value is read as text: typing it is
the spec's job (``traumasynth.spec.schema.conform``).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from traumasynth.core.errors import DataError, SchemaError
from traumasynth.datasets.files import read_errors
from traumasynth.spec import DatasetSpec

log = logging.getLogger(__name__)

CSV_SUFFIXES: tuple[str, ...] = (".csv", ".txt", ".gz")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")


def _csv_headers(path: Path) -> list[str]:
    """The header texts of a CSV file, surrounding spaces stripped, blank headers as '': its first row only."""
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, na_values=[])
    return ["" if pd.isna(h) else str(h).strip() for h in header.iloc[0]]


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows (columns labelled 0..n-1) and the header texts of a CSV file, blank headers as ''."""
    options = {"dtype": str, "keep_default_na": False}
    headers = _csv_headers(path)
    with warnings.catch_warnings():
        # More fields in a row than in the header: pandas would drop them with a warning (or, without
        # index_col=False, silently shift every column): refuse the file instead.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            rows = pd.read_csv(
                path, header=0, names=list(range(len(headers))), index_col=False, na_values=[""], **options
            )
        except pd.errors.ParserWarning:
            raise DataError(
                f"Data file {path} has rows with more fields than its header has columns. "
                "Give every column a header (a blank one will do) or remove the extra delimiters."
            ) from None
    return rows, headers


def _check_path(path: Path) -> str:
    """The file's lower-case suffix; raises DataError when the file is missing or not CSV or Parquet."""
    if not path.is_file():
        raise DataError(
            f"Data file {path} not found. Put your table in data/raw/ and set `base.dataset_path` in params.yaml "
            "to it (CSV or Parquet)."
        )
    suffix = path.suffix.lower()
    if suffix not in PARQUET_SUFFIXES and suffix not in CSV_SUFFIXES:
        raise DataError(f"Data file {path} has suffix '{suffix}'; use a .csv or .parquet file.")
    return suffix


def read_headers(path: Path) -> list[str]:
    """The header texts of a CSV or Parquet file, exactly as ``read_file`` names them, reading no value.

    A CSV file's first row is parsed and nothing after it; a Parquet file's schema only. This is what
    ``traumasynth.spec.draft`` drafts a specification from, so no private value reaches the draft.

    Raises:
        DataError: the file is missing, has an unknown suffix, is empty or unreadable, or has no
            header (every column blank). One line naming the file and the fix.
    """
    suffix = _check_path(path)
    fix = "Export the table again with a header row."
    with read_errors(path, what="Data file", if_empty=fix, export_as="a UTF-8 CSV or Parquet"):
        if suffix in PARQUET_SUFFIXES:
            schema = pq.read_schema(path)
            index = {c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)}
            headers = [str(h).strip() for h in schema.names if h not in index]
        else:
            headers = _csv_headers(path)
    if not any(headers):
        raise DataError(f"Data file {path} has no header: its first row is blank. {fix}")
    return headers


def read_file(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read a CSV or Parquet file: its rows (columns labelled by position 0..n-1) and its header texts.

    Raises:
        DataError: the file does not exist, has an unknown suffix, is not a readable CSV or
            Parquet file, or holds no rows. The message is one line naming the file and the fix.
    """
    suffix = _check_path(path)
    fix = "Export the table again with a header row."
    with read_errors(path, what="Data file", if_empty=fix, export_as="a UTF-8 CSV or Parquet"):
        if suffix in PARQUET_SUFFIXES:
            rows = pd.read_parquet(path)
            headers = [str(h).strip() for h in rows.columns]
            rows.columns = range(len(headers))
        else:
            rows, headers = _read_csv(path)
    if rows.empty:
        raise DataError(f"Data file {path} has a header but no rows. Export the table again.")
    return rows, headers


def name_columns(rows: pd.DataFrame, headers: list[str], *, spec: DatasetSpec, path: Path) -> pd.DataFrame:
    """Give the spec's names to the columns it describes; drop or label the others.

    A column of the file the spec does not list keeps its header as its label when that header is
    unique and not blank, else ``#N`` (its position), so the schema can name it in its report.

    Raises:
        SchemaError: a header the spec asks for appears more than once, or a ``source`` position lies
            beyond the file's last column (all such problems at once).
    """
    positions: dict[int, str] = {}
    problems: list[str] = []
    for col in spec.columns:
        position = col.source_position
        if position is not None:
            if position >= len(headers):
                problems.append(
                    f"Column '{col.name}' reads column {col.source} (`source`), but the file has {len(headers)} "
                    "columns. Fix the `source` in the dataset specification."
                )
            else:
                positions[position] = col.name
            continue
        hits = [i for i, header in enumerate(headers) if header == col.source_header]
        if len(hits) > 1:
            where = ", ".join(f"#{i + 1}" for i in hits)
            problems.append(
                f"Column '{col.name}': header '{col.source_header}' appears {len(hits)} times (columns {where}). "
                f'Name the one to read by its position in the spec, e.g. `source: "#{hits[0] + 1}"`.'
            )
        elif hits:
            positions[hits[0]] = col.name
    if problems:
        raise SchemaError(f"The data file {path} does not match dataset specification '{spec.name}':", problems)

    unlisted = [i for i in range(len(headers)) if i not in positions]
    if spec.unlisted_columns == "exclude":
        if unlisted:
            log.info("Dropped %d column(s) the specification does not list (unlisted_columns: exclude)", len(unlisted))
        kept = sorted(positions)
        return rows[kept].set_axis([positions[i] for i in kept], axis=1)
    taken = set(positions.values())
    labels = dict(positions)
    for i in unlisted:
        header = headers[i]
        unique = header and headers.count(header) == 1 and header not in taken
        labels[i] = header if unique else f"#{i + 1}"
    return rows.set_axis([labels[i] for i in range(len(headers))], axis=1)


def read_table(*, path: Path, spec: DatasetSpec) -> pd.DataFrame:
    """Read the user's CSV or Parquet file with the spec's column names, every value as text.

    Args:
        path: the raw file (``base.dataset_path``).
        spec: the dataset specification: its ``source``s name the columns, its ``unlisted_columns``
            says what becomes of the others.

    Returns:
        The raw table, not yet typed nor validated (``traumasynth.spec.schema.conform`` does both).

    Raises:
        DataError: the file is missing, empty or unreadable.
        SchemaError: a header the spec needs is ambiguous, or a ``source`` position is out of range.
    """
    rows, headers = read_file(path)
    return name_columns(rows, headers, spec=spec, path=path)
