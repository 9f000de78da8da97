"""A made-up table that fits a dataset specification, to try a new spec before touching real rows.

    python tools/fake_table.py datasets/my_ed.yaml data/raw/my_ed.csv --rows 1000
    python tools/fake_table.py datasets/my_ed.yaml data/raw/my_ed.csv --extra-columns 165   # a wide export

Every value is drawn uniformly from what the spec allows (its categories, its bounds; a tenth of
a nullable column missing), and columns sit where the spec reads them (`source`, dates in their
`format`); columns are independent and no value comes from any data, so the
file holds no patient. It lets `prepare` check the spec and the whole pipeline run end to end
(docs/data.md); its metrics mean nothing. `--extra-columns N` appends N columns the spec does not
list (`extra_1`, ...: made-up codes, numbers and text), as a wide export has them, to try a spec
with `unlisted_columns: exclude`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from traumasynth.cli import setup_logging, stage_errors
from traumasynth.spec import ColumnSpec, load_spec

app = typer.Typer(add_completion=False)

MISSING_SHARE = 0.1


def _column(column: ColumnSpec, *, n_rows: int, rng: np.random.Generator) -> pd.Series:
    if column.kind == "categorical":
        values = pd.Series(rng.choice(np.array(column.categories, dtype=object), size=n_rows), dtype=object)
    elif column.kind == "integer":
        low, high = column.numeric_bounds
        values = pd.Series(rng.integers(int(low), int(high), endpoint=True, size=n_rows), dtype="Int64")
    elif column.kind in ("continuous", "weight"):
        low, high = column.numeric_bounds
        values = pd.Series(rng.uniform(low, high, size=n_rows).round(2))
    elif column.kind == "datetime":
        first, last = column.date_bounds
        span = int((dt.datetime.combine(last, dt.time()) - dt.datetime.combine(first, dt.time())).total_seconds())
        stamps = pd.Series(pd.Timestamp(first) + pd.to_timedelta(rng.integers(0, span, size=n_rows), unit="s"))
        values = stamps.dt.strftime(column.format) if column.format else stamps  # written as the spec reads it
    elif column.kind == "identifier":
        return pd.Series([f"{column.name}-{i:06d}" for i in range(1, n_rows + 1)], dtype=object)
    else:  # text
        values = pd.Series(["made-up note, not a patient"] * n_rows, dtype=object)
    if column.nullable:
        values = values.mask(rng.random(n_rows) < MISSING_SHARE)
    return values


def _extra_column(i: int, *, n_rows: int, rng: np.random.Generator) -> pd.Series:
    """The ``i``-th column the spec does not list: made-up codes, numbers or text, in turn."""
    if i % 3 == 0:
        return pd.Series(rng.choice(np.array(["A", "B", "C", ""], dtype=object), size=n_rows), dtype=object)
    if i % 3 == 1:
        return pd.Series(rng.integers(0, 1000, size=n_rows))
    return pd.Series([f"made-up text {i}"] * n_rows, dtype=object)


def _file_columns(columns: tuple[ColumnSpec, ...]) -> list[tuple[str, ColumnSpec | None]]:
    """(header, column) in file order, as the spec's `source` says: "#N" at position N (blank header),
    a header text as the header; positions no column claims get a blank filler column."""
    by_position = {int(c.source[1:]) - 1: c for c in columns if c.source and c.source.startswith("#")}
    rest = iter(c for c in columns if not (c.source and c.source.startswith("#")))
    width = max(len(columns), *(p + 1 for p in by_position)) if by_position else len(columns)
    out: list[tuple[str, ColumnSpec | None]] = []
    for position in range(width):
        if position in by_position:
            out.append(("", by_position[position]))
        elif (column := next(rest, None)) is not None:
            out.append((column.source or column.name, column))
        else:
            out.append(("", None))
    return out


@app.command()
def main(
    spec_path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="datasets/<name>.yaml")],
    out: Annotated[Path, typer.Argument(dir_okay=False, help="the table to write (.csv or .parquet)")],
    rows: Annotated[int, typer.Option(min=1, help="rows to draw")] = 1000,
    seed: Annotated[int, typer.Option(help="seed of the draw")] = 0,
    extra_columns: Annotated[
        int, typer.Option(min=0, help="columns the spec does not list, appended (extra_1, ...)")
    ] = 0,
) -> None:
    """Write a made-up table with every column of the spec, each value drawn from what the spec allows."""
    setup_logging()
    with stage_errors():
        spec = load_spec(spec_path)
        rng = np.random.default_rng(seed)
        layout = _file_columns(spec.columns)
        blank = pd.Series([""] * rows, dtype=object)
        table = pd.concat([blank if c is None else _column(c, n_rows=rows, rng=rng) for _, c in layout], axis=1)
        table.columns = [header for header, _ in layout]
        if extra_columns:
            extra = pd.concat([_extra_column(i, n_rows=rows, rng=rng) for i in range(extra_columns)], axis=1)
            extra.columns = [f"extra_{i}" for i in range(1, extra_columns + 1)]
            table = pd.concat([table, extra], axis=1)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        if out.suffix == ".parquet":
            table.to_parquet(partial, index=False)
        else:
            table.to_csv(partial, index=False)
        partial.replace(out)
        typer.echo(f"{out}: {rows} made-up rows, {table.shape[1]} columns")


if __name__ == "__main__":
    app()
