"""A whole dataset specification: ``DatasetSpec``, its cross-column rules, derived views and hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from traumasynth.core.errors import SpecError
from traumasynth.spec.column import NUMERIC_KINDS, ColumnSpec
from traumasynth.spec.constraints import NUMERIC_OPS, Rule


class DatasetSpec(BaseModel):
    """A whole dataset: its columns plus a name, version and description.

    Attributes:
        reader: how ``prepare`` obtains the raw table: ``table`` reads the CSV or
            Parquet file given by ``base.dataset_path`` (bring your own data),
            ``ed_trauma_sim`` runs the built-in simulator, ``neiss`` reads CPSC NEISS
            files (decoded or coded layout) and derives the mechanism label.
        public: the real rows themselves are public (NEISS is public domain): only then may the
            review page show real rows by default (``review.include_real: auto``). Say so only
            for data that is published as it is.
        unlisted_columns: what the ``table`` reader does with a column of the file that
            ``columns`` does not list: ``error`` (default: every column must be listed) or
            ``exclude`` (dropped as it is read: never validated, prepared or modelled).
        constraints: clinical rules every row should satisfy (``traumasynth.spec.constraints``):
            checked on the real rows by ``prepare`` and enforced by ``sample``. They may read
            modelled columns only (role ``feature`` or ``target``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    version: int = 1
    description: str = Field(min_length=1)
    reader: Literal["table", "ed_trauma_sim", "neiss"] = "table"
    public: bool = False
    unlisted_columns: Literal["error", "exclude"] = "error"
    columns: tuple[ColumnSpec, ...] = Field(min_length=1)
    constraints: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _check_columns(self) -> DatasetSpec:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names: {dupes}")
        targets = [c.name for c in self.columns if c.role == "target"]
        if len(targets) != 1:
            raise ValueError(f"exactly one column must have role `target`, found {targets or 'none'}")
        ids = [c.name for c in self.columns if c.kind == "identifier"]
        if len(ids) > 1:
            raise ValueError(f"at most one identifier column is allowed, found {ids}")
        narratives = [c.name for c in self.columns if c.role == "narrative"]
        if len(narratives) > 1:
            raise ValueError(f"at most one narrative column is allowed, found {narratives}")
        if not any(c.role == "feature" for c in self.columns):
            raise ValueError("no column has role `feature`: there is nothing to model")
        if self.reader != "table":
            sourced = [c.name for c in self.columns if c.source is not None]
            if sourced:
                raise ValueError(f"`source` is read by the `table` reader only, not `{self.reader}`: {sourced}")
            if self.unlisted_columns != "error":
                raise ValueError(f"`unlisted_columns` applies to the `table` reader only, not `{self.reader}`")
        positions = [c.source_position for c in self.columns if c.source_position is not None]
        headers = [c.source_header for c in self.columns if c.source_header is not None]
        shared = sorted(
            {f"#{p + 1}" for p in positions if positions.count(p) > 1} | {h for h in headers if headers.count(h) > 1}
        )
        if shared:
            raise ValueError(f"several columns read the same column of the file: {shared}; give each its own `source`")
        problems = self._constraint_problems()
        if problems:
            raise ValueError("invalid constraints:\n    " + "\n    ".join(problems))
        return self

    def _constraint_problems(self) -> list[str]:
        """Every constraint that reads an unknown or unmodelled column, or compares what cannot be compared."""
        problems: list[str] = []
        names = [rule.name for rule in self.constraints]
        problems += [f"constraint name '{n}' is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
        columns = {c.name: c for c in self.columns}
        modelled = [c.name for c in self.modelled_columns]
        for rule in self.constraints:
            where = f"constraint '{rule.name}'"
            for cond in rule.conditions:
                for name in cond.columns:
                    if name not in columns:
                        problems.append(f"{where}: no column '{name}'. Modelled columns: {', '.join(modelled)}")
                    elif name not in modelled:
                        problems.append(
                            f"{where}: column '{name}' has role `{columns[name].role}`; a rule may read modelled "
                            "columns only (role feature or target)"
                        )
                col = columns.get(cond.column)
                if col is None:
                    continue
                if cond.op in NUMERIC_OPS:
                    for name in cond.columns:
                        if name in columns and columns[name].kind not in NUMERIC_KINDS:
                            problems.append(
                                f"{where}: `{cond.op}` compares numbers, but '{name}' is {columns[name].kind}; "
                                "use `in`/`not_in` for categories"
                            )
                elif col.kind != "categorical":
                    problems.append(f"{where}: `{cond.op}` lists categories, but '{col.name}' is {col.kind}")
                else:
                    unknown = [v for v in cond.value if v not in (col.categories or ())]
                    if unknown:
                        problems.append(
                            f"{where}: {unknown} are not categories of '{col.name}'. "
                            f"Categories: {', '.join(col.categories or ())}"
                        )
        return problems

    # -- derived views -------------------------------------------------------
    def column(self, name: str) -> ColumnSpec:
        """The column called ``name``; raises SpecError listing the valid names."""
        for col in self.columns:
            if col.name == name:
                return col
        raise SpecError(f"dataset '{self.name}' has no column '{name}'. Columns: {', '.join(self.column_names)}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def target(self) -> ColumnSpec:
        """The class-label column (the trauma mechanism)."""
        return next(c for c in self.columns if c.role == "target")

    @property
    def classes(self) -> tuple[str, ...]:
        """The target's categories, in spec order."""
        assert self.target.categories is not None  # guaranteed by ColumnSpec validation
        return self.target.categories

    @property
    def id_column(self) -> ColumnSpec | None:
        return next((c for c in self.columns if c.kind == "identifier"), None)

    @property
    def narrative_column(self) -> ColumnSpec | None:
        return next((c for c in self.columns if c.role == "narrative"), None)

    @property
    def feature_columns(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.role == "feature")

    @property
    def modelled_columns(self) -> tuple[ColumnSpec, ...]:
        """Features plus target, in spec order: what a synthesizer learns and emits."""
        return tuple(c for c in self.columns if c.role in ("feature", "target"))

    @property
    def prepared_columns(self) -> tuple[ColumnSpec, ...]:
        """Columns kept by ``prepare``: everything but role ``excluded``.

        The identifier is kept even when excluded from modelling, so rows stay
        traceable; it is never given to a model.
        """
        return tuple(c for c in self.columns if c.role != "excluded" or c.kind == "identifier")

    @property
    def spec_hash(self) -> str:
        """sha256 of the canonical JSON form: stored with every model to refuse mismatches.

        Computed on each call (not cached) so that ``model_copy(update=...)`` cannot keep a stale hash.
        Left out because they change nothing a model encodes: ``public`` (who may see real rows) and
        the reading options ``unlisted_columns``, ``source`` and ``format`` (how the raw file is read;
        left out also keeps the hash of a spec written before they existed, and its models valid), and
        ``constraints`` (clinical rules change which sampled rows are kept, not what a model encodes;
        a spec without them hashes as before), and the wording fields ``aliases``, ``labels``,
        ``compatible``, ``context``, ``read_after`` and ``several`` (how notes name a column or a category: a
        model need not be retrained for a wording change), and ``decimals`` (how ``release/`` rounds a value), and
        ``top_code``/``bottom_code`` (how a coded value is read and released; the rows read change, so the
        models retrain on the data anyway).
        """
        dumped = self.model_dump(mode="json", exclude=_NOT_HASHED)
        canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


#: What ``spec_hash`` leaves out (see its docstring).
_NOT_HASHED: Final[dict[str, Any]] = {
    "public": True,
    "unlisted_columns": True,
    "constraints": True,
    "columns": {
        "__all__": {
            "source",
            "format",
            "aliases",
            "labels",
            "compatible",
            "context",
            "read_after",
            "several",
            "decimals",
            "top_code",
            "bottom_code",
        }
    },
}
