"""Top- and bottom-coded values (``top_code``, ``bottom_code`` of a numeric column): read as the code, released as it.

A source that writes every age over 89 as ``90`` or ``">89"`` has no exact value past the limit.
``read_coded`` turns the label, and any number past the limit, into the code's ``value`` before the
column is converted to numbers (so the label is no type error); ``write_coded`` sets every synthetic
value past the limit to ``value``, so ``release/`` is never more precise than the source.
"""

from __future__ import annotations

import pandas as pd

from traumasynth.spec.column import CodedLimit, ColumnSpec


def _codes(column: ColumnSpec) -> list[tuple[CodedLimit, int]]:
    """Each code of ``column`` and its side: +1 for ``top_code``, -1 for ``bottom_code``."""
    return [(code, side) for code, side in ((column.top_code, 1), (column.bottom_code, -1)) if code is not None]


def read_coded(raw: pd.Series, column: ColumnSpec) -> pd.Series:
    """``raw`` (text or numbers) with each code's label, and each number past a code, read as the code's value.

    Anything else is left as it was, for the column's type check.
    """
    if not _codes(column):
        return raw
    text = raw.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    out = raw.astype(object).copy()
    for code, side in _codes(column):
        past = (numbers * side > code.value * side).fillna(False).astype(bool)
        labelled = (text == code.label).fillna(False).astype(bool) if code.label is not None else False
        out[past | labelled] = code.value
    return out


def write_coded(values: pd.Series, column: ColumnSpec) -> pd.Series:
    """Numeric ``values`` with every value past a code set to the code's value (missing values stay missing)."""
    for code, side in _codes(column):
        limit = int(code.value) if column.kind == "integer" else code.value
        values = values.clip(upper=limit) if side > 0 else values.clip(lower=limit)
    return values


def at_code_share(values: pd.Series, column: ColumnSpec) -> dict[str, float]:
    """Share of ``values`` at each code's value (``top``, ``bottom``): the custodian's ``metrics/prepare.json``."""
    n = max(len(values), 1)
    return {
        ("top" if side > 0 else "bottom"): round(float((values == code.value).sum()) / n, 6)
        for code, side in _codes(column)
    }
