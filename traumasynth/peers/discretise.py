"""The table a peer fits, built from the spec alone, and the peer's output back in the spec's form.

SDV peers get the modelled columns as plain floats, strings and dates (``to_sdv_frame``); the
marginal-based DP peers (AIM, MST) get every column as integer codes of the public grid
(``traumasynth.encoding.discrete.DiscreteLayout``: spec categories, and the same spec-bounded bins as our ``marginals``
floor, ``traumasynth.encoding.grid``). Nothing is fitted on the private rows, so no privacy is
spent outside the peer's reported ε.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.spec import DatasetSpec
from traumasynth.spec.schema import validate


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
