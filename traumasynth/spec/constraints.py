"""Clinical rules of a dataset (SDV calls them constraints) and their vectorised checker.

A specification may list ``constraints``: facts a clinician knows hold in every row
(``a patient who left without being seen stayed less than a day``). Each rule has a
``name``, a one-line ``description`` and one of three forms, built from *conditions*
(``{column: c, <op>: value}``):

- ``require: <condition>``: every row satisfies it (``{column: icu_h, le: length_of_stay_h}``);
- ``if: <condition or list of conditions>`` + ``then: <condition>``: an implication;
- ``never: [<condition>, ...]``: a combination of values that cannot occur together.

Operators: ``in`` / ``not_in`` (a list of categories of a categorical column) and ``lt``,
``le``, ``gt``, ``ge`` (a numeric column against a number, or against another numeric
column named as a string).

**Missing values**: a rule only applies to the rows where every column it reads is present;
a row with a missing value in any of them is never counted as breaking it.

The rules change what ``sample`` keeps (reject and redraw), never what a model encodes, so
they are left out of ``DatasetSpec.spec_hash``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NUMERIC_OPS: tuple[str, ...] = ("lt", "le", "gt", "ge")
_SYMBOL = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in", "not_in": "not in"}


class Condition(BaseModel):
    """One test on one column: ``{column: gcs, le: 8}``, ``{column: disposition, in: [home]}``.

    A string given to ``lt``/``le``/``gt``/``ge`` names another numeric column.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    column: str = Field(min_length=1)
    in_: tuple[str, ...] | None = Field(default=None, alias="in", min_length=1)
    not_in: tuple[str, ...] | None = Field(default=None, min_length=1)
    lt: float | str | None = None
    le: float | str | None = None
    gt: float | str | None = None
    ge: float | str | None = None

    @field_validator("in_", "not_in", mode="before")
    @classmethod
    def _labels_as_strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        ops = [op for op in ("in", "not_in", *NUMERIC_OPS) if self.operand(op) is not None]
        if len(ops) != 1:
            raise ValueError(
                f"condition on '{self.column}' needs exactly one of in, not_in, lt, le, gt, ge; got {ops or 'none'}"
            )
        return self

    def operand(self, op: str) -> Any:
        return self.in_ if op == "in" else getattr(self, op)

    @property
    def op(self) -> str:
        return next(op for op in ("in", "not_in", *NUMERIC_OPS) if self.operand(op) is not None)

    @property
    def value(self) -> Any:
        return self.operand(self.op)

    @property
    def other_column(self) -> str | None:
        """The column compared against, when the operand names one."""
        return self.value if self.op in NUMERIC_OPS and isinstance(self.value, str) else None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.other_column is None else (self.column, self.other_column)

    def __str__(self) -> str:
        value = list(self.value) if self.op in ("in", "not_in") else self.value
        return f"{self.column} {_SYMBOL[self.op]} {value}"

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Where the condition holds, row by row (``False`` where a value it reads is missing)."""
        if self.op in ("in", "not_in"):
            inside = frame[self.column].isin(list(self.value)).to_numpy(dtype=bool)
            return inside if self.op == "in" else ~inside & frame[self.column].notna().to_numpy()
        left = _floats(frame[self.column])
        right = _floats(frame[self.value]) if isinstance(self.value, str) else float(self.value)
        with np.errstate(invalid="ignore"):
            return {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}[self.op](left, right)


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


class Rule(BaseModel):
    """One clinical rule: ``require``, ``if``/``then`` or ``never`` (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1)
    require: Condition | None = None
    if_: tuple[Condition, ...] | None = Field(default=None, alias="if", min_length=1)
    then: Condition | None = None
    never: tuple[Condition, ...] | None = Field(default=None, min_length=2)

    @field_validator("if_", mode="before")
    @classmethod
    def _if_as_list(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        forms = [
            form
            for form, present in (
                ("require", self.require is not None),
                ("if/then", self.if_ is not None or self.then is not None),
                ("never", self.never is not None),
            )
            if present
        ]
        if len(forms) != 1:
            raise ValueError(
                f"constraint '{self.name}' needs exactly one of `require`, `if` + `then` or `never`; "
                f"got {' and '.join(forms) or 'none'}"
            )
        if forms == ["if/then"] and (self.if_ is None or self.then is None):
            raise ValueError(f"constraint '{self.name}': `if` needs a `then` and `then` an `if`")
        return self

    @property
    def kind(self) -> Literal["require", "if", "never"]:
        return "require" if self.require is not None else "never" if self.never is not None else "if"

    @property
    def conditions(self) -> tuple[Condition, ...]:
        if self.require is not None:
            return (self.require,)
        if self.never is not None:
            return self.never
        assert self.if_ is not None and self.then is not None  # guaranteed by _one_form
        return (*self.if_, self.then)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the rule reads, in order, without repeats."""
        return tuple(dict.fromkeys(c for cond in self.conditions for c in cond.columns))

    def __str__(self) -> str:
        if self.require is not None:
            return f"require {self.require}"
        if self.never is not None:
            return "never " + " and ".join(str(c) for c in self.never)
        return f"if {' and '.join(str(c) for c in self.if_ or ())} then {self.then}"

    def violations(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows that break the rule, among those where every column it reads is present."""
        present = frame[list(self.columns)].notna().all(axis=1).to_numpy()
        if self.require is not None:
            broken = ~self.require.holds(frame)
        elif self.never is not None:
            broken = np.logical_and.reduce([c.holds(frame) for c in self.never])
        else:
            assert self.if_ is not None and self.then is not None
            broken = np.logical_and.reduce([c.holds(frame) for c in self.if_]) & ~self.then.holds(frame)
        return present & broken


@dataclass(frozen=True)
class ConstraintReport:
    """Which rows of a frame break which rule.

    Attributes:
        masks: one boolean column per rule (``True`` = the row breaks it), in the frame's row order.
    """

    masks: pd.DataFrame

    @property
    def rows(self) -> int:
        return len(self.masks)

    @property
    def violating(self) -> np.ndarray:
        """Rows that break at least one rule."""
        return self.masks.to_numpy(dtype=bool).any(axis=1) if self.masks.shape[1] else np.zeros(self.rows, bool)

    @property
    def counts(self) -> dict[str, int]:
        return {name: int(self.masks[name].sum()) for name in self.masks.columns}

    @property
    def violation_rate(self) -> float:
        """Share of rows breaking any rule (0 for an empty frame). Goal: minimise; range 0..1."""
        return float(self.violating.mean()) if self.rows else 0.0

    @property
    def rates(self) -> dict[str, float]:
        """Share of rows breaking each rule."""
        return {name: (n / self.rows if self.rows else 0.0) for name, n in self.counts.items()}

    def to_metrics(self) -> dict[str, Any]:
        """JSON form: rows checked, rows breaking any rule, and per rule its count and rate."""
        return {
            "rows": self.rows,
            "violating_rows": int(self.violating.sum()),
            "violation_rate": round(self.violation_rate, 6),
            "rules": {name: {"rows": n, "rate": round(self.rates[name], 6)} for name, n in self.counts.items()},
        }


def check_constraints(frame: pd.DataFrame, rules: tuple[Rule, ...]) -> ConstraintReport:
    """Check every rule on every row (vectorised).

    Args:
        frame: rows holding at least the columns the rules read.
        rules: the specification's ``constraints``.
    """
    masks = {rule.name: rule.violations(frame) for rule in rules}
    return ConstraintReport(masks=pd.DataFrame(masks, index=frame.index, dtype=bool))
