"""Pandera schemas generated from a dataset specification, and the checks built on them.

Nothing here lists columns by hand: every schema comes from a ``DatasetSpec``.

- ``build_schema`` gives the pandera ``DataFrameSchema`` of a frame whose columns are
  the spec's (all of them, or a subset such as the modelled columns of a synthetic table).
- ``coerce_to_spec`` turns a raw table (CSV strings, Parquet) into the canonical
  dtypes, collecting every value that cannot be converted.
- ``validate`` runs the schema lazily and raises one ``SchemaError`` that lists all
  problems at once, each with its column, count and example rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from traumasynth.core.errors import SchemaError
from traumasynth.spec import ColumnSpec, DatasetSpec
from traumasynth.spec.coded import read_coded

_EXAMPLES = 5
_UNLISTED_SHOWN = 10


def _column_schema(col: ColumnSpec) -> pa.Column:
    checks: list[pa.Check] = []
    if col.kind == "categorical":
        checks.append(pa.Check.isin(list(col.categories or ()), error=f"category in {list(col.categories or ())}"))
        dtype: object = pa.String
    elif col.kind == "integer":
        low, high = col.numeric_bounds
        checks.append(pa.Check.in_range(low, high, error=f"within bounds {low:g}..{high:g}"))
        dtype = "Int64"  # pandas' nullable integer: missing vitals stay missing, not float NaN
    elif col.kind in ("continuous", "weight"):
        low, high = col.numeric_bounds
        checks.append(pa.Check.in_range(low, high, error=f"within bounds {low:g}..{high:g}"))
        dtype = pa.Float64
    elif col.kind == "datetime":
        low_d, high_d = col.date_bounds
        checks.append(
            pa.Check.in_range(
                pd.Timestamp(low_d),
                pd.Timestamp(high_d) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1),
                error=f"within dates {low_d}..{high_d}",
            )
        )
        dtype = pa.DateTime
    else:  # text, identifier
        dtype = pa.String
    return pa.Column(
        dtype,
        checks=checks,
        nullable=col.nullable,
        unique=col.kind == "identifier",
        required=True,
        description=col.description,
        title=col.name,
    )


def build_schema(spec: DatasetSpec, columns: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of a frame holding ``columns`` of ``spec`` (default: all).

    The schema is strict: a column not in the list is an error, so nothing outside
    the specification can slip into a prepared or synthetic table.
    """
    names = list(columns) if columns is not None else spec.column_names
    return pa.DataFrameSchema(
        {name: _column_schema(spec.column(name)) for name in names},
        strict=True,
        ordered=False,
        name=spec.name,
    )


def _examples(index: Iterable[object]) -> str:
    items = list(index)
    shown = ", ".join(str(i) for i in items[:_EXAMPLES])
    return shown + (", ..." if len(items) > _EXAMPLES else "")


def _fix_hint(col: ColumnSpec, check: str) -> str:
    if "category" in check:
        return "Fix the values or add the category to the dataset specification."
    if "bounds" in check or "dates" in check:
        return (
            "Fix the values, or set the bounds in the dataset specification from public knowledge "
            "(never from these rows: the specification is released)."
        )
    if "not_nullable" in check:
        return "Fill the values or set `nullable: true` in the dataset specification."
    if "unique" in check or "duplicate" in check:
        return "Identifiers must be unique: remove the duplicated rows."
    return f"Expected {col.kind} values ({col.pandas_dtype})."


def _missing_column(spec: DatasetSpec, name: str) -> str:
    source = spec.column(name).source if name in spec.column_names else None
    if source is None:
        return f"Column '{name}' is missing. Add it to the file or remove it from the spec."
    where = f"column {source} of the file" if source.startswith("#") else f"header '{source}'"
    return f"Column '{name}' ({where}, its `source`) is missing. Fix the `source` or add the column to the file."


def _unlisted_columns(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:_UNLISTED_SHOWN])
    what = (
        f"Column {shown} is"
        if len(names) == 1
        else f"Columns {shown}{', ...' if len(names) > _UNLISTED_SHOWN else ''} ({len(names)} in all) are"
    )
    positional = any(n.startswith("#") for n in names)
    return (
        f"{what} not in the dataset specification. List {'it' if len(names) == 1 else 'them'} (`role: excluded` "
        "drops one), or set "
        "`unlisted_columns: exclude` at the top of the spec to drop every column it does not list."
        + (" (#N is the N-th column of the file, whose header is blank or repeated.)" if positional else "")
    )


def _problems_from_pandera(exc: SchemaErrors, spec: DatasetSpec) -> list[str]:
    cases = exc.failure_cases
    problems: list[str] = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=True):
        col_name = str(column)
        if check == "column_in_dataframe":
            for value in group["failure_case"]:
                problems.append(_missing_column(spec, str(value)))
            continue
        if col_name not in spec.column_names:
            if check == "column_in_schema":
                problems.append(_unlisted_columns([str(v) for v in group["failure_case"]]))
            else:
                problems.append(f"{check}: {', '.join(str(v) for v in group['failure_case'])}")
            continue
        col = spec.column(col_name)
        rows = [i for i in group["index"].tolist() if i is not None and not (isinstance(i, float) and np.isnan(i))]
        values = sorted({str(v) for v in group["failure_case"]})
        count = len(rows) or len(group)
        problems.append(
            f"Column '{col_name}' has {count} value(s) failing '{check}'"
            + (f" (rows {_examples(rows)})" if rows else "")
            + (f", e.g. {_examples(values)}" if values and check != "not_nullable" else "")
            + f". {_fix_hint(col, str(check))}"
        )
    return problems


def validate(
    df: pd.DataFrame, spec: DatasetSpec, columns: Iterable[str] | None = None, what: str = "table"
) -> pd.DataFrame:
    """Validate ``df`` against the spec's schema, reporting every problem at once.

    Raises:
        SchemaError: with one line per (column, check) giving the count and example rows.
    """
    schema = build_schema(spec, columns)
    try:
        return schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        problems = _problems_from_pandera(exc, spec)
        raise SchemaError(f"The {what} does not match dataset specification '{spec.name}':", problems) from None


def _coerce_column(raw: pd.Series, col: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    """Convert one raw column to its canonical dtype. Returns (values, bad_mask)."""
    missing = raw.isna() | raw.astype("string").str.strip().isin(["", "NA", "NaN", "nan", "None"]).fillna(False)
    if col.kind in ("categorical", "text", "identifier"):
        values = raw.astype("string").str.strip() if col.kind != "text" else raw.astype("string")
        if col.kind == "identifier":
            # 123.0 read by a CSV reader from an integer id column: keep the integer text.
            values = values.str.replace(r"\.0$", "", regex=True)
        values = values.where(~missing, None).astype("str")
        return values, pd.Series(False, index=raw.index)
    if col.kind in ("integer", "continuous", "weight"):
        numbers = pd.to_numeric(raw.where(~missing), errors="coerce")
        bad = numbers.isna() & ~missing
        if col.kind == "integer":
            not_integral = numbers.notna() & (np.floor(numbers) != numbers)
            bad = bad | not_integral
            numbers = numbers.where(~not_integral).round().astype("Int64")
        else:
            numbers = numbers.astype("float64")
        return numbers, bad
    # datetime
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw.astype("datetime64[ns]"), pd.Series(False, index=raw.index)
    # Without a `format`, ISO 8601 accepts dates with or without a time, in one column.
    stamps = pd.to_datetime(raw.where(~missing), errors="coerce", format=col.format or "ISO8601")
    bad = stamps.isna() & ~missing
    return stamps.astype("datetime64[ns]"), bad


def _type_fix(col: ColumnSpec) -> str:
    if col.kind != "datetime":
        return f"Expected {col.kind} values; fix them or change the column's kind in the spec."
    if col.format is not None:
        return f"Expected dates in format '{col.format}'; fix them or change the column's `format` in the spec."
    return (
        "Expected ISO dates (2004-01-31 or 2004-01-31 13:05); for another layout give the column a "
        '`format` in the spec (e.g. format: "%m/%d/%y" reads 1/31/04).'
    )


def _coerce(df: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, list[str], dict[str, pd.Series]]:
    """The coerced frame, a problem per column with values of the wrong type, and those values' mask."""
    out = df.copy()
    problems: list[str] = []
    wrong: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name not in df.columns:
            continue  # reported by the schema as a missing column, with the rest
        values, bad = _coerce_column(read_coded(df[col.name], col), col)  # a top-code's label is no type error
        if bad.any():
            wrong[col.name] = bad
            bad_rows = df.index[bad].tolist()
            examples = sorted({str(v) for v in df.loc[bad, col.name]})
            problems.append(
                f"Column '{col.name}' has {int(bad.sum())} value(s) of the wrong type (rows {_examples(bad_rows)}), "
                f"e.g. {_examples(examples)}. {_type_fix(col)}"
            )
        out[col.name] = values
    return out, problems, wrong


def coerce_to_spec(df: pd.DataFrame, spec: DatasetSpec, what: str = "table") -> pd.DataFrame:
    """Give each spec column of ``df`` its canonical dtype; unknown columns are left as they are.

    Values that cannot be converted (text in a numeric column, a malformed date) are
    collected across all columns and reported together.

    Raises:
        SchemaError: listing each column with unconvertible values, their count and example rows.
    """
    out, problems, _ = _coerce(df, spec)
    if problems:
        raise SchemaError(f"The {what} does not match dataset specification '{spec.name}':", problems)
    return out


def conform(df: pd.DataFrame, spec: DatasetSpec, what: str = "table") -> pd.DataFrame:
    """Coerce a raw table to the spec's dtypes and validate it, reporting every problem at once.

    Wrong types, missing or unknown columns, unknown categories, values out of bounds,
    forbidden nulls and duplicate identifiers all end up in one ``SchemaError``.
    """
    return _conform(df, spec, what=what, clipped=None)


def conform_clipped(df: pd.DataFrame, spec: DatasetSpec, what: str = "table") -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`conform`, with numeric values outside their column's bounds set to the nearest bound.

    The spec's bounds are public knowledge, chosen before the data is seen; a value outside them is
    clipped rather than used to widen them (which would move private extremes into the public spec).

    Returns:
        The conformed table, and the number of clipped values per numeric column (custodian's side).
    """
    clipped: dict[str, int] = {}
    return _conform(df, spec, what=what, clipped=clipped), clipped


def _clip_numeric(df: pd.DataFrame, spec: DatasetSpec, clipped: dict[str, int]) -> pd.DataFrame:
    for col in spec.columns:
        if col.name not in df.columns or col.kind not in ("integer", "continuous", "weight") or col.bounds is None:
            continue
        low, high = col.numeric_bounds
        values = df[col.name]
        outside = ((values < low) | (values > high)).fillna(False).astype(bool)
        clipped[col.name] = int(outside.sum())
        if clipped[col.name]:
            if col.kind == "integer":  # keep the nullable integer dtype: integral bounds inside [low, high]
                df[col.name] = values.clip(math.ceil(low), math.floor(high)).astype("Int64")
            else:
                df[col.name] = values.clip(low, high)
    return df


def _conform(df: pd.DataFrame, spec: DatasetSpec, *, what: str, clipped: dict[str, int] | None) -> pd.DataFrame:
    out, problems, wrong = _coerce(df, spec)
    if clipped is not None:
        out = _clip_numeric(out, spec, clipped)
    try:
        validated = validate(_stand_in_for_wrong_types(out, spec, wrong), spec, what=what)
    except SchemaError as exc:
        problems.extend(exc.problems)
    else:
        if not problems:
            return validated
    raise SchemaError(f"The {what} does not match dataset specification '{spec.name}':", problems)


def _stand_in_for_wrong_types(df: pd.DataFrame, spec: DatasetSpec, wrong: dict[str, pd.Series]) -> pd.DataFrame:
    """``df`` with each value of the wrong type set to a valid stand-in (its column's low bound), to validate.

    Coercion turns a value of the wrong type into a missing one, which the type problem already
    names; checked as missing, it would be reported again as a null (or, dropped as such an echo,
    hide the column's genuine nulls, the values missing in the raw table, until the next run). With
    the stand-in, every other check runs in the same pass on the values that were read. The stand-in
    never leaves this module: a table with a type problem is refused.
    """
    if not wrong:
        return df
    checked = df.copy()
    for name, bad in wrong.items():
        col = spec.column(name)
        if col.kind == "datetime":
            stand_in: object = pd.Timestamp(col.date_bounds[0])
        else:
            low = col.numeric_bounds[0]
            stand_in = math.ceil(low) if col.kind == "integer" else float(low)
        checked.loc[bad, name] = stand_in
    return checked


def empty_frame(spec: DatasetSpec, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A zero-row frame with the canonical dtypes of ``columns``."""
    names = list(columns) if columns is not None else spec.column_names
    return pd.DataFrame({n: pd.Series(dtype=spec.column(n).pandas_dtype) for n in names})
