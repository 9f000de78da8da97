"""One column's values <-> model inputs, on the spec's bounds and categories alone.

Numeric values are scaled to ``[-1, 1]`` with the spec bounds (after the column's fixed
``transform``), categoricals become indices over the spec's category list (a last index for a
missing value), datetimes are split into the parts the spec declares. ``TableEncoder``
(``traumasynth.encoding.table``) lays these out as slots; the encoders append every problem
they find to ``problems`` so that the table's are reported at once.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pandas as pd

from traumasynth.spec import DATETIME_PART_BOUNDS, ColumnSpec


def _scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:  # a single-valued part (one calendar year): a constant slot
        return np.zeros_like(values, dtype=np.float64)
    return (values - low) / (high - low) * 2.0 - 1.0


def _unscale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.full_like(values, low, dtype=np.float64)
    return (np.clip(values, -1.0, 1.0) + 1.0) / 2.0 * (high - low) + low


def _numeric_range(col: ColumnSpec) -> tuple[float, float]:
    """Bounds of a numeric column in the transformed space the model sees."""
    low, high = col.numeric_bounds
    if col.transform == "log1p":
        return float(np.log1p(low)), float(np.log1p(high))
    return low, high


def _part_range(col: ColumnSpec, part: str) -> tuple[float, float]:
    if part == "year":
        low, high = col.date_bounds
        return float(low.year), float(high.year)
    low_p, high_p = DATETIME_PART_BOUNDS[part]
    return float(low_p), float(high_p)


_PART_ACCESSOR = {
    "year": "year",
    "month": "month",
    "weekday": "day_of_week",
    "hour": "hour",
    "dayofyear": "day_of_year",
}


def _extract_part(stamps: pd.Series, part: str) -> np.ndarray:
    values = getattr(stamps.dt, _PART_ACCESSOR[part])
    return values.to_numpy(dtype="float64", na_value=np.nan)


# -- encode -------------------------------------------------------------------------------
def encode_categorical(series: pd.Series, *, col: ColumnSpec, missing: np.ndarray, problems: list[str]) -> np.ndarray:
    """Index of each value in ``col.categories``; a missing value gets the last index (``__missing__``)."""
    categories = list(col.categories or ())
    lookup = {c: i for i, c in enumerate(categories)}
    values = series.astype(object).to_numpy()
    codes = np.full(len(values), len(categories), dtype=np.int64)  # the __missing__ level
    unknown: set[str] = set()
    for i, value in enumerate(values):
        if missing[i]:
            continue
        code = lookup.get(str(value))
        if code is None:
            unknown.add(str(value))
            codes[i] = 0
        else:
            codes[i] = code
    if unknown:
        shown = ", ".join(sorted(unknown)[:5])
        problems.append(
            f"Column '{col.name}' has values not in its categories: {shown}. "
            "Fix the values or add the categories to the dataset specification."
        )
    if missing.any() and col.role == "target":
        codes[missing] = 0  # reported above as not nullable; keep indices valid
    return codes


def encode_numeric(series: pd.Series, *, col: ColumnSpec, missing: np.ndarray, problems: list[str]) -> np.ndarray:
    """Values clipped to the spec bounds, transformed, scaled to ``[-1, 1]``; a missing value is 0."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    low, high = col.numeric_bounds
    outside = ~missing & ((values < low) | (values > high))
    if outside.any():
        problems.append(
            f"Column '{col.name}' has {int(outside.sum())} value(s) outside {low:g}..{high:g}. "
            "Fix the values or widen the bounds in the dataset specification."
        )
    values = np.where(missing, np.nan, np.clip(values, low, high))
    if col.transform == "log1p":
        values = np.log1p(values)
    scaled = _scale(values, *_numeric_range(col))
    return np.where(missing, 0.0, scaled)


def encode_datetime(
    series: pd.Series, *, col: ColumnSpec, missing: np.ndarray, problems: list[str]
) -> list[np.ndarray]:
    """One scaled array per declared part of ``col`` (in ``col.parts`` order); a missing date is 0."""
    stamps = pd.to_datetime(series, errors="coerce")
    low, high = col.date_bounds
    start, end = pd.Timestamp(low), pd.Timestamp(high) + pd.Timedelta(days=1)
    outside = (~missing) & ((stamps < start) | (stamps >= end)).to_numpy()
    if outside.any():
        problems.append(
            f"Column '{col.name}' has {int(outside.sum())} date(s) outside {low}..{high}. "
            "Fix the values or widen the bounds in the dataset specification."
        )
    out = []
    for part in col.parts or ():
        values = _extract_part(stamps, part)
        out.append(np.where(missing, 0.0, _scale(values, *_part_range(col, part))))
    return out


# -- decode -------------------------------------------------------------------------------
def decode_categorical(codes: np.ndarray, *, col: ColumnSpec) -> pd.Series:
    """The category of each index (the last index: missing)."""
    levels = np.asarray([*(col.categories or ()), None], dtype=object)
    return pd.Series(levels[codes], dtype="str")


def decode_numeric(scaled: np.ndarray, *, col: ColumnSpec, missing: np.ndarray) -> pd.Series:
    """Values back on the spec's scale, clipped to its bounds (integers rounded), missing restored."""
    values = _unscale(scaled.astype(np.float64), *_numeric_range(col))
    if col.transform == "log1p":
        values = np.expm1(values)
    low, high = col.numeric_bounds
    values = np.clip(values, low, high)
    if col.kind == "integer":
        values = np.clip(np.rint(values), np.ceil(low), np.floor(high))
        series = pd.Series(values, dtype="Int64")
    else:
        series = pd.Series(values, dtype="float64")
    series[missing] = pd.NA if col.kind == "integer" else np.nan
    return series


def decode_datetime(
    parts: dict[str, np.ndarray], *, col: ColumnSpec, missing: np.ndarray, rng: np.random.Generator
) -> pd.Series:
    """Rebuild dates from the declared parts; undeclared parts are drawn from ``rng``.

    Priority: year, then month and day (from ``dayofyear`` when the month is not
    modelled; a day matching ``weekday`` when it is), then hour; minutes are 0.
    The result is clipped to the spec's date bounds.
    """
    n = len(missing)
    low, high = col.date_bounds
    ints = {p: np.rint(_unscale(v.astype(np.float64), *_part_range(col, p))).astype(np.int64) for p, v in parts.items()}
    years = ints.get("year", rng.integers(low.year, high.year + 1, size=n))
    months = ints.get("month", rng.integers(1, 13, size=n))
    hours = ints.get("hour", np.zeros(n, dtype=np.int64))
    # Draw fallbacks for every row up front so row i's value never depends on others.
    day_draw = rng.random(n)
    start, end = pd.Timestamp(low), pd.Timestamp(high) + pd.Timedelta(hours=23)
    stamps: list[pd.Timestamp | None] = []
    for i in range(n):
        if missing[i]:
            stamps.append(None)
            continue
        year = int(years[i])
        if "dayofyear" in ints and "month" not in ints:
            doy = int(np.clip(ints["dayofyear"][i], 1, 366 if calendar.isleap(year) else 365))
            date = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
        else:
            month = int(months[i])
            days = list(range(1, calendar.monthrange(year, month)[1] + 1))
            if "weekday" in ints:
                days = [d for d in days if dt.date(year, month, d).weekday() == ints["weekday"][i]] or days
            elif "dayofyear" in ints:
                doy_date = dt.date(year, 1, 1) + dt.timedelta(days=int(ints["dayofyear"][i]) - 1)
                if doy_date.month == month and doy_date.year == year:
                    days = [doy_date.day]
            day = days[min(int(day_draw[i] * len(days)), len(days) - 1)]
            date = dt.date(year, month, day)
        stamp = pd.Timestamp(date) + pd.Timedelta(hours=int(hours[i]))
        stamps.append(min(max(stamp, start), end))
    return pd.Series(pd.to_datetime(pd.Series(stamps, dtype=object)), dtype="datetime64[ns]")
