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

`--layout icu_registry` writes instead a trauma-registry export in a layout the narrative
checkers were not built on, and its spec (to SPEC_PATH, overwritten): ICU and ventilation hours
(ventilation mostly absent, never longer than the ICU stay), injury date and admission time in
their own text formats, one flag column per cervical level (`spine_c1` ... `spine_c7`, Y/N, at
most two adjacent levels injured), GCS, weight, ISS and hospital days, drawn with the structure a
registry has (still made up: no patient, no data read).

    python tools/fake_table.py data/raw/icu_registry.yaml data/raw/icu_registry.csv --layout icu_registry
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import typer

from traumasynth.cli import setup_logging, stage_errors
from traumasynth.spec import ColumnSpec, load_spec

app = typer.Typer(add_completion=False)

MISSING_SHARE = 0.1

#: The spec of ``--layout icu_registry`` (a made-up registry export; written as it is).
ICU_REGISTRY_SPEC = """\
# A made-up trauma-registry export (tools/fake_table.py --layout icu_registry): ICU and
# ventilation hours, dates as text, one Y/N column per cervical level. No patient, no data.
name: icu_registry
version: 1
description: Made-up trauma-registry admissions with ICU stay, ventilation and cervical-spine levels.
reader: table
columns:
  - {name: record_id, kind: identifier, role: excluded, description: Registry record number.}
  - {name: age, kind: integer, description: Age at injury in completed years., unit: years, bounds: [16, 100]}
  - {name: sex, kind: categorical, description: Sex., categories: [M, F]}
  - name: injury_date
    kind: datetime
    description: Date of the injury.
    format: "%d/%m/%Y"
    bounds: [2015-01-01, 2022-12-31]
    parts: [year, month, weekday]
  - name: admission_time
    kind: datetime
    description: Date and time of hospital admission.
    format: "%Y-%m-%d %H:%M"
    bounds: [2015-01-01, 2023-01-31]
    parts: [year, month, weekday, hour]
  - name: mechanism
    kind: categorical
    role: target
    description: Injury mechanism.
    categories: [low_fall, high_fall, motor_vehicle, motorcycle, pedestrian, assault, other]
  - {name: gcs_ed, kind: integer, description: Glasgow Coma Scale in the ED., aliases: [GCS], unit: points,
     bounds: [3, 15], nullable: true}
  - {name: sbp_ed, kind: integer, description: Systolic blood pressure in the ED., aliases: [SBP], unit: mmHg,
     bounds: [0, 250], nullable: true}
  - {name: weight_kg, kind: continuous, description: Body weight., unit: kg, decimals: 1, bounds: [30, 200],
     nullable: true}
  - {name: iss, kind: integer, description: Injury Severity Score., aliases: [ISS], unit: points, bounds: [1, 75]}
  - {name: icu_hours, kind: continuous, description: Hours in the intensive care unit (missing when not admitted).,
     unit: hours, decimals: 1, bounds: [0, 2000], transform: log1p, nullable: true}
  - {name: ventilation_hours, kind: continuous, description: Hours of mechanical ventilation (missing when none).,
     unit: hours, decimals: 1, bounds: [0, 2000], transform: log1p, nullable: true}
  - {name: hospital_days, kind: continuous, description: Length of hospital stay., unit: days, decimals: 1,
     bounds: [0, 365], transform: log1p}
{levels}\
  - {name: outcome, kind: categorical, description: Status at hospital discharge., categories: [alive, dead]}
""".replace(
    "{levels}",
    "".join(
        f"  - {{name: spine_c{i}, kind: categorical, description: Injury of the C{i} vertebra., categories: [Y, N]}}\n"
        for i in range(1, 8)
    ),
)
_MECHANISMS = ("low_fall", "high_fall", "motor_vehicle", "motorcycle", "pedestrian", "assault", "other")


def icu_registry_rows(*, n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Made-up rows of the ``icu_registry`` spec, as a prepared frame holds them (dates as timestamps)."""
    age = rng.integers(16, 96, size=n_rows)
    injured = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 8 * 365, size=n_rows), unit="D")
    delay_h = rng.choice([0, 0, 0, 1, 2, 24], size=n_rows) + rng.uniform(0.5, 10, size=n_rows)
    admitted = (injured + pd.to_timedelta(rng.integers(6 * 60, 22 * 60, size=n_rows), unit="min")
                + pd.to_timedelta(delay_h, unit="h")).floor("min")  # fmt: skip
    in_icu = rng.random(n_rows) < 0.6
    icu = np.where(in_icu, np.exp(rng.normal(3.5, 1.0, size=n_rows)).clip(1, 2000).round(1), np.nan)
    ventilated = in_icu & (rng.random(n_rows) < 0.35)
    ventilation = np.where(ventilated, (icu * rng.uniform(0.1, 0.95, size=n_rows)).round(1), np.nan)
    days = (np.nan_to_num(icu) / 24 + np.exp(rng.normal(1.8, 0.8, size=n_rows))).clip(0, 365).round(1)
    frame = pd.DataFrame(
        {
            "age": pd.array(age, dtype="Int64"),
            "sex": rng.choice(np.array(["M", "F"], dtype=object), size=n_rows, p=[0.7, 0.3]),
            "injury_date": injured,
            "admission_time": admitted,
            "mechanism": rng.choice(np.array(_MECHANISMS, dtype=object), size=n_rows),
            "gcs_ed": pd.array(np.where(rng.random(n_rows) < 0.7, 15, rng.integers(3, 15, size=n_rows)), dtype="Int64"),
            "sbp_ed": pd.array(rng.normal(130, 22, size=n_rows).clip(60, 220).round(), dtype="Int64"),
            "weight_kg": np.where(
                rng.random(n_rows) < 0.2, np.nan, rng.normal(78, 15, size=n_rows).clip(40, 160).round(1)
            ),
            "iss": pd.array(rng.integers(1, 44, size=n_rows), dtype="Int64"),
            "icu_hours": icu,
            "ventilation_hours": ventilation,
            "hospital_days": days,
        }
    )
    levels = np.full((n_rows, 7), "N", dtype=object)
    hurt = rng.random(n_rows)
    first = rng.integers(0, 7, size=n_rows)
    for i in range(n_rows):  # a quarter have one injured level, a tenth two adjacent ones
        if hurt[i] < 0.35:
            levels[i, first[i]] = "Y"
        if hurt[i] < 0.10:
            levels[i, first[i] + 1 if first[i] < 6 else 5] = "Y"
    for level in range(7):
        frame[f"spine_c{level + 1}"] = levels[:, level]
    frame["outcome"] = np.where(rng.random(n_rows) < 0.08, "dead", "alive").astype(object)
    return frame


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


def _registry_file(spec_path: Path, *, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Write the ``icu_registry`` spec to ``spec_path``; its rows as the export writes them (dates as text)."""
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(ICU_REGISTRY_SPEC, encoding="utf-8")
    spec = load_spec(spec_path)
    table = icu_registry_rows(n_rows=rows, rng=rng)
    for column in spec.columns:
        if column.kind == "datetime" and column.format:
            table[column.name] = table[column.name].dt.strftime(column.format)
    table.insert(0, "record_id", [f"R{i:06d}" for i in range(1, rows + 1)])
    return table


@app.command()
def main(
    spec_path: Annotated[Path, typer.Argument(dir_okay=False, help="datasets/<name>.yaml (written by --layout)")],
    out: Annotated[Path, typer.Argument(dir_okay=False, help="the table to write (.csv or .parquet)")],
    rows: Annotated[int, typer.Option(min=1, help="rows to draw")] = 1000,
    seed: Annotated[int, typer.Option(help="seed of the draw")] = 0,
    extra_columns: Annotated[
        int, typer.Option(min=0, help="columns the spec does not list, appended (extra_1, ...)")
    ] = 0,
    layout: Annotated[
        Literal["spec", "icu_registry"],
        typer.Option(help="spec: drawn from SPEC_PATH; icu_registry: a registry export, its spec written to SPEC_PATH"),
    ] = "spec",
) -> None:
    """Write a made-up table with every column of the spec, each value drawn from what the spec allows."""
    setup_logging()
    with stage_errors():
        rng = np.random.default_rng(seed)
        if layout == "icu_registry":
            table = _registry_file(spec_path, rows=rows, rng=rng)
        else:
            if not spec_path.is_file():
                raise typer.BadParameter(f"spec {spec_path} does not exist", param_hint="SPEC_PATH")
            spec = load_spec(spec_path)
            columns = _file_columns(spec.columns)
            blank = pd.Series([""] * rows, dtype=object)
            table = pd.concat([blank if c is None else _column(c, n_rows=rows, rng=rng) for _, c in columns], axis=1)
            table.columns = [header for header, _ in columns]
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
