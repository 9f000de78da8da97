"""Dataset specifications: the one source of truth about a table's columns.

A specification is a YAML file (see ``datasets/*.yaml``) that lists every column
with its kind, role, allowed categories or numeric bounds, nullability, unit and
a one-line clinical description (or only the columns it uses, with
``unlisted_columns: exclude``; ``source`` and ``format`` say how the raw file is
read). Categories and bounds are *public knowledge* written by a person, never
read from the data: that is what lets the encoders and the DP training give an
honest privacy guarantee (nothing data-dependent is computed outside the privacy
budget).

Pandera schemas (``traumasynth.schema``), the encoders and the decoders are all
generated from this object; no other module keeps its own list of columns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from traumasynth.constraints import NUMERIC_OPS, Rule
from traumasynth.errors import SpecError

Kind = Literal["categorical", "integer", "continuous", "datetime", "text", "identifier", "weight"]
Role = Literal["feature", "target", "narrative", "excluded"]
Transform = Literal["none", "log1p"]
DatetimePart = Literal["year", "month", "weekday", "hour", "dayofyear"]


class _SpecLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: YAML 1.1 reads `yes`/`no`/`on`/`off` as booleans, but in a
    specification they are category labels (alcohol suspected: yes, no, unknown)."""


_SpecLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

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
        constraints: clinical rules every row should satisfy (``traumasynth.constraints``):
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
        model need not be retrained for a wording change).
        """
        dumped = self.model_dump(mode="json", exclude=_NOT_HASHED)
        canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


#: What ``spec_hash`` leaves out (see its docstring).
_NOT_HASHED: Final[dict[str, Any]] = {
    "public": True,
    "unlisted_columns": True,
    "constraints": True,
    "columns": {"__all__": {"source", "format", "aliases", "labels", "compatible", "context", "read_after", "several"}},
}


#: The value ``tools/draft_spec.py`` writes where a person must decide (categories, bounds, a date
#: format): a spec holding it does not load, so an unfinished draft cannot be run by mistake.
PLACEHOLDER: Final = "TODO"


def unfilled_placeholders(text: str, raw: dict[str, Any]) -> list[str]:
    """Where the spec text still holds a plain ``TODO`` value, e.g. ``line 42 (`categories` of column 'sex')``.

    Args:
        text: the YAML text (for line numbers).
        raw: the same text parsed (for column names).
    """
    found: list[str] = []

    def walk(node: yaml.Node, keys: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and node.value == PLACEHOLDER:  # plain `TODO`; a quoted "TODO" is a label
                found.append(f"line {node.start_mark.line + 1} ({_describe(keys, raw)})")
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*keys, i))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*keys, str(key.value)))

    root = yaml.compose(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    if root is not None:
        walk(root, ())
    return found


def _describe(keys: tuple[str | int, ...], raw: dict[str, Any]) -> str:
    """``keys`` in words: ```categories` of column 'sex'`` for ``("columns", 3, "categories")``."""
    if len(keys) >= 3 and keys[0] == "columns" and isinstance(keys[1], int):
        columns = raw.get("columns")
        column = columns[keys[1]] if isinstance(columns, list) and keys[1] < len(columns) else {}
        name = column.get("name") if isinstance(column, dict) else None
        field = ".".join(str(k) for k in keys[2:])
        return f"`{field}` of column '{name}'" if name else f"`{field}` of column {keys[1] + 1}"
    return "`" + ".".join(str(k) for k in keys) + "`"


def load_spec(path: str | Path) -> DatasetSpec:
    """Read and validate a dataset specification from YAML.

    Args:
        path: the spec file, e.g. ``datasets/ed_trauma_sim.yaml``.

    Raises:
        SpecError: the file is missing, is not YAML, still holds a ``TODO`` value (an unfinished
            draft of ``tools/draft_spec.py``: the first one is named, by line and column), or breaks a
            rule (each rule's message names the column and says what to write instead).
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Dataset specification {path} not found. Write one (see docs/data.md).")
    text = path.read_text()
    try:
        raw = yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SpecError(f"Dataset specification {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"Dataset specification {path} must be a mapping with `name`, `description` and `columns`.")
    todos = unfilled_placeholders(text, raw)
    if todos:
        more = f" (and {len(todos) - 1} more {PLACEHOLDER}s)" if len(todos) > 1 else ""
        raise SpecError(
            f"Dataset specification {path} is an unfinished draft: replace the {PLACEHOLDER} at {todos[0]}{more}. "
            "Write public knowledge (codebook, form, clinical ranges), never values read from the data (docs/data.md)."
        )
    try:
        return DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SpecError(f"Dataset specification {path} is invalid:\n  - " + "\n  - ".join(lines)) from exc
