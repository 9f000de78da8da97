"""One column of a dataset specification: ``ColumnSpec`` and the kinds, roles and parts it names."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from traumasynth.core.errors import SpecError

Kind = Literal["categorical", "integer", "continuous", "datetime", "text", "identifier", "weight"]
Role = Literal["feature", "target", "narrative", "excluded"]
Transform = Literal["none", "log1p"]
DatetimePart = Literal["year", "month", "weekday", "hour", "dayofyear"]

NUMERIC_KINDS: frozenset[str] = frozenset({"integer", "continuous", "weight"})

#: Value range of each datetime part once extracted (used to scale it).
DATETIME_PART_BOUNDS: dict[str, tuple[int, int]] = {
    "month": (1, 12),
    "weekday": (0, 6),
    "hour": (0, 23),
    "dayofyear": (1, 366),
}


def _is_date_format(fmt: str) -> bool:
    """Whether ``fmt`` is a strftime format that strptime can read back (``%Q`` is not)."""
    try:
        dt.datetime.strptime(dt.datetime(2004, 11, 23, 13, 5, 9).strftime(fmt), fmt)
    except ValueError:
        return False
    return "%" in fmt


class CodedLimit(BaseModel):
    """A limit past which the source records no exact value: ``{value: 90, label: ">89"}``.

    Attributes:
        value: the number the source writes for every value at or past the limit (90: "90 or older").
        label: optional text the source writes instead (``">89"``, ``"90+"``), read as ``value``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    label: str | None = Field(default=None, min_length=1)


class ColumnSpec(BaseModel):
    """One column of a dataset.

    Attributes:
        name: column name as it appears in the file.
        kind: ``categorical``, ``integer``, ``continuous``, ``datetime``, ``text``,
            ``identifier`` or ``weight``.
        role: ``feature`` (modelled), ``target`` (the class label, modelled and
            conditioned on), ``narrative`` (free text carried to the splits for text
            evaluation, never modelled) or ``excluded`` (dropped by ``prepare``).
        description: one line a clinician understands.
        unit: physical unit of a numeric column (``mmHg``, ``hours``...).
        nullable: whether missing values are allowed.
        categories: the full, public list of allowed values of a categorical column.
        bounds: ``[low, high]`` of a numeric column (inclusive), or ISO dates for a
            datetime column.
        transform: a fixed, data-independent transform applied before scaling
            (``log1p`` for skewed positive quantities such as length of stay).
        decimals: optional, for a numeric column: the decimal places ``release/`` gives its values
            (the precision of the measurement: ``1`` for a temperature in °C). Default: 0 for an
            ``integer`` column, 1 otherwise. Presentation only (the data the custodian keeps, and
            what the models learn, are not rounded): not hashed.
        top_code: optional, for a numeric column the source top-codes (ages over 89 written as 90 or
            ``">89"``): ``{value: 90, label: ">89"}``. ``prepare`` reads the label, and any value past
            ``value``, as ``value``; ``release/`` writes every synthetic value past it as ``value``, so no
            released value is more precise than the source. How a file is read and written: not hashed.
        bottom_code: the same at the low end (``{value: 1, label: "<1"}``: values of 1 or less).
        parts: for a datetime column, the parts a model sees (``year``, ``month``,
            ``weekday``, ``hour``, ``dayofyear``).
        source: where the ``table`` reader finds the column when its header is not ``name``:
            the header's text, or ``"#N"`` for the N-th column of the file (counted from 1;
            for a blank or repeated header).
        format: for a datetime column stored as text in another layout than ISO 8601, its
            ``strftime`` format (``"%m/%d/%y"`` reads ``1/31/04``).
        aliases: optional other names of the column in clinical notes (``[HR, pulse]``); the
            first one labels the column in a prompt made from the spec. Wording only: not hashed.
        labels: optional words a note uses for a category (``{own_means: [walked in]}``), read
            by the fact checker made from the spec; the first one shows the category in such a
            prompt. Wording only: not hashed.
        compatible: optional, for a categorical column: the categories a note may state for a row
            of a category without contradicting it (``{FRACTURE: [DISLOCATION]}``: neighbouring body
            parts, synonyms of a diagnosis; a catch-all value lists every other one). Read by the
            fact checker made from the spec. Wording only: not hashed.
        context: optional, for a categorical column: words of which one must come shortly before
            (within six words) a category's words for a note to state that category (a product as
            the agent of the injury: ``[fell, struck, with]`` reads "fell from a bed", not "the
            bed"). Wording only: not hashed.
        several: optional, for a categorical column: a note may name several values of it
            (injured body parts) and one of them that is the row's is enough for the fact checker
            made from the spec (as for the target, and a column whose description says "main" or
            "principal"). Wording only: not hashed.
        read_after: optional words after which a note states the column (``[DX]``: "cut ... DX:
            fracture" states a fracture, not a cut). Wording only: not hashed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    kind: Kind
    role: Role = "feature"
    description: str = Field(min_length=1)
    unit: str | None = None
    nullable: bool = False
    categories: tuple[str, ...] | None = None
    bounds: tuple[float, float] | tuple[dt.date, dt.date] | None = None
    transform: Transform = "none"
    decimals: int | None = Field(default=None, ge=0, le=15)
    top_code: CodedLimit | None = None
    bottom_code: CodedLimit | None = None
    parts: tuple[DatetimePart, ...] | None = None
    source: str | None = Field(default=None, min_length=1)
    format: str | None = Field(default=None, min_length=1)
    aliases: tuple[str, ...] = ()
    labels: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    compatible: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    context: tuple[str, ...] = ()
    read_after: tuple[str, ...] = ()
    several: bool = False

    @field_validator("categories", mode="before")
    @classmethod
    def _categories_as_strings(cls, value: object) -> object:
        # YAML reads `1` or `true` as int/bool; categories are labels, so keep their text.
        if isinstance(value, list):
            return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> ColumnSpec:
        where = f"column '{self.name}'"
        if self.kind == "categorical":
            if not self.categories:
                raise ValueError(f"{where}: a categorical column needs a non-empty `categories` list")
            if len(set(self.categories)) != len(self.categories):
                raise ValueError(f"{where}: `categories` has duplicates")
        elif self.categories is not None:
            raise ValueError(f"{where}: `categories` is only for categorical columns")
        if self.kind in NUMERIC_KINDS:
            if self.bounds is None:
                raise ValueError(f"{where}: a {self.kind} column needs `bounds: [low, high]`")
            low, high = self.bounds
            if not isinstance(low, int | float) or not isinstance(high, int | float) or not low < high:
                raise ValueError(f"{where}: `bounds` must be two numbers with low < high, got {list(self.bounds)}")
            if self.transform == "log1p" and low < 0:
                raise ValueError(f"{where}: `transform: log1p` needs bounds >= 0")
        elif self.kind == "datetime":
            first, last = self.bounds if self.bounds is not None else (None, None)
            if not isinstance(first, dt.date) or not isinstance(last, dt.date):
                raise ValueError(f"{where}: a datetime column needs `bounds: [YYYY-MM-DD, YYYY-MM-DD]`")
            if not first < last:
                raise ValueError(f"{where}: datetime `bounds` must be increasing")
            if not self.parts:
                raise ValueError(f"{where}: a datetime column needs `parts` (e.g. [year, month, weekday])")
        elif self.bounds is not None:
            raise ValueError(f"{where}: `bounds` is only for numeric and datetime columns")
        if self.transform != "none" and self.kind not in NUMERIC_KINDS:
            raise ValueError(f"{where}: `transform` is only for numeric columns")
        if self.decimals is not None and self.kind not in NUMERIC_KINDS:
            raise ValueError(f"{where}: `decimals` is only for numeric columns")
        if self.parts is not None and self.kind != "datetime":
            raise ValueError(f"{where}: `parts` is only for datetime columns")
        if self.format is not None:
            if self.kind != "datetime":
                raise ValueError(f"{where}: `format` is only for datetime columns")
            if not _is_date_format(self.format):
                raise ValueError(
                    f"{where}: `format` {self.format!r} is not a strftime date format; "
                    'write e.g. "%m/%d/%y" (1/31/04) or "%d/%m/%Y %H:%M" (31/01/2004 13:05)'
                )
        if self.labels:
            if self.kind != "categorical":
                raise ValueError(f"{where}: `labels` is only for categorical columns")
            unknown = sorted(set(self.labels) - set(self.categories or ()))
            if unknown:
                raise ValueError(f"{where}: `labels` names unknown categories {unknown}")
        if (self.compatible or self.context or self.several) and self.kind != "categorical":
            raise ValueError(f"{where}: `compatible`, `context` and `several` are only for categorical columns")
        named = set(self.compatible) | {c for cs in self.compatible.values() for c in cs}
        if unknown_cats := sorted(named - set(self.categories or ())):
            raise ValueError(f"{where}: `compatible` names unknown categories {unknown_cats}")
        words = (*self.aliases, *(w for ws in self.labels.values() for w in ws), *self.context, *self.read_after)
        if any(not w.strip() for w in words):
            raise ValueError(f"{where}: `aliases`, `labels`, `context` and `read_after` must not hold empty words")
        if self.source_position == -1:
            raise ValueError(f'{where}: `source` positions count from 1 ("#1" is the first column)')
        if self.role == "target" and self.kind != "categorical":
            raise ValueError(f"{where}: the target must be categorical")
        if self.role == "narrative" and self.kind != "text":
            raise ValueError(f"{where}: a narrative column must have kind `text`")
        if self.kind in ("text", "identifier", "weight") and self.role in ("feature", "target"):
            raise ValueError(
                f"{where}: a {self.kind} column cannot be modelled; give it role `excluded`"
                + (" or `narrative`" if self.kind == "text" else "")
            )
        return self

    @model_validator(mode="after")
    def _check_codes(self) -> ColumnSpec:
        where = f"column '{self.name}'"
        codes = [(k, c) for k, c in (("top_code", self.top_code), ("bottom_code", self.bottom_code)) if c is not None]
        if codes and self.kind not in NUMERIC_KINDS:
            raise ValueError(f"{where}: `top_code` and `bottom_code` are only for numeric columns")
        for key, code in codes:
            low, high = self.numeric_bounds
            if not low <= code.value <= high:
                raise ValueError(f"{where}: `{key}.value` {code.value:g} lies outside the bounds [{low:g}, {high:g}]")
            if self.kind == "integer" and code.value != int(code.value):
                raise ValueError(f"{where}: `{key}.value` of an integer column must be a whole number")
        if self.top_code and self.bottom_code and not self.bottom_code.value < self.top_code.value:
            raise ValueError(f"{where}: `bottom_code.value` must be below `top_code.value`")
        return self

    @property
    def source_position(self) -> int | None:
        """The 0-based position named by ``source: "#N"``, or None when the column is found by its header."""
        match = re.fullmatch(r"#(\d+)", self.source or "")
        return int(match.group(1)) - 1 if match else None

    @property
    def source_header(self) -> str | None:
        """The header the ``table`` reader looks for (``source``, else ``name``); None for a position."""
        return None if self.source_position is not None else (self.source or self.name)

    @property
    def numeric_bounds(self) -> tuple[float, float]:
        """Bounds of a numeric column as floats (raises for other kinds)."""
        if self.kind not in NUMERIC_KINDS or self.bounds is None:
            raise SpecError(f"column '{self.name}' is not numeric")
        return float(self.bounds[0]), float(self.bounds[1])  # type: ignore[arg-type]

    @property
    def date_bounds(self) -> tuple[dt.date, dt.date]:
        """Bounds of a datetime column as dates (raises for other kinds)."""
        if self.kind != "datetime" or self.bounds is None:
            raise SpecError(f"column '{self.name}' is not a datetime column")
        return self.bounds  # type: ignore[return-value]

    @property
    def pandas_dtype(self) -> str:
        """The dtype this column has in a prepared or synthetic frame."""
        return {
            "categorical": "str",
            "integer": "Int64",
            "continuous": "float64",
            "weight": "float64",
            "datetime": "datetime64[ns]",
            "text": "str",
            "identifier": "str",
        }[self.kind]
