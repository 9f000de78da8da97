"""Display form of one record: every modelled column as a clinician reads it.

Real and synthetic rows go through the same formatting (same rounding, same
wording of missing values, only the modelled columns), so nothing but their content
tells them apart on a blinded page.
"""

from __future__ import annotations

import calendar
import math
import re
from typing import Any

import pandas as pd

from traumasynth.spec import ColumnSpec, DatasetSpec

MISSING = "not recorded"


def column_label(col: ColumnSpec) -> str:
    """A column name as a heading: ``injury_to_arrival_min`` -> ``Injury to arrival min``."""
    text = col.name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _format_datetime(col: ColumnSpec, value: Any) -> str:
    ts = pd.Timestamp(value)
    # Only the parts a model sees are shown: finer detail (minutes) would unblind real rows.
    pieces: list[str] = []
    for part in col.parts or ():
        if part == "year":
            pieces.append(str(ts.year))
        elif part == "month":
            pieces.append(calendar.month_name[ts.month])
        elif part == "weekday":
            pieces.append(calendar.day_name[ts.weekday()])
        elif part == "hour":
            pieces.append(f"{ts.hour:02d}h")
        elif part == "dayofyear":
            pieces.append(f"day {ts.dayofyear}")
    return ", ".join(pieces)


def format_value(col: ColumnSpec, value: Any) -> str:
    """The text shown for ``value`` of column ``col`` (unit included)."""
    if _is_missing(value):
        return MISSING
    if col.kind == "categorical":
        return str(value).replace("_", " ")
    if col.kind == "datetime":
        return _format_datetime(col, value)
    if col.kind == "integer":
        text = str(int(round(float(value))))
    elif col.kind in ("continuous", "weight"):
        text = f"{float(value):.1f}"
    else:
        text = str(value)
    return f"{text} {col.unit}" if _shows_unit(col) else text


def _shows_unit(col: ColumnSpec) -> bool:
    # "2 hour of day" for arrival_hour or "4 level" for triage_level reads badly: a unit
    # that repeats a word of the column name adds nothing.
    if not col.unit:
        return False
    unit_words = set(re.split(r"[\s/]+", col.unit.lower()))
    return not unit_words & set(col.name.lower().split("_"))


def format_record(spec: DatasetSpec, row: pd.Series) -> list[list[str]]:
    """``[[label, value], ...]`` for the modelled columns of ``row``, in spec order."""
    return [[column_label(col), format_value(col, row[col.name])] for col in spec.modelled_columns]


def glossary(spec: DatasetSpec) -> list[list[str]]:
    """``[[label, description], ...]`` of the modelled columns, shown once on the page."""
    return [[column_label(col), col.description.strip()] for col in spec.modelled_columns]
