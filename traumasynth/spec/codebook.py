"""A codebook: the public description of a table's variables, read leniently to draft a specification.

A codebook is a CSV file with one row per variable. Only the variable's name is required; every
other column is optional. Column names are matched after lower-casing and dropping accents, spaces
and punctuation, so ``Variable name``, ``variable_name`` and ``VARIABLE`` are all the variable:

| field | accepted column names |
|---|---|
| variable | variable, variable name, var, name, column, column name, field, header |
| description | description, desc, definition, meaning, label, libellé |
| type | type, kind, data type, datatype |
| unit | unit, units, unité |
| values | values, categories, levels, codes, labels, value labels, modalities, modalités, allowed values |
| min, max | min/minimum/low/lower/lower bound, max/maximum/high/upper/upper bound |
| format | format, date format |
| role | role, use |
| nullable | nullable, missing, optional |

``values`` are separated by ``;`` or ``|`` (or ``,`` when neither occurs); ``code=label`` items
give the code (the value in the file) and its label. ``min``/``max`` are numbers or ISO dates.
A codebook describes the variables, never the rows: reading it reads no private value.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from traumasynth.core.errors import DataError

#: Codebook field -> the column names that mean it (compared by ``_squash``).
FIELD_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "variable": ("variable", "variablename", "var", "name", "column", "columnname", "field", "header"),
    "description": ("description", "desc", "definition", "meaning", "label", "libelle"),
    "type": ("type", "kind", "datatype"),
    "unit": ("unit", "units", "unite"),
    "values": (
        "values", "categories", "levels", "codes", "labels", "valuelabels", "modalities", "modalites", "allowedvalues",
    ),
    "min": ("min", "minimum", "low", "lower", "lowerbound"),
    "max": ("max", "maximum", "high", "upper", "upperbound"),
    "format": ("format", "dateformat"),
    "role": ("role", "use"),
    "nullable": ("nullable", "missing", "optional"),
}  # fmt: skip

#: Words of a codebook's type column -> the spec's kind.
TYPE_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(("categorical", "category", "categories", "factor", "nominal", "ordinal", "cat",
                     "enum", "binary", "boolean", "bool", "coded", "code", "yesno"), "categorical"),
    **dict.fromkeys(("integer", "int", "count", "whole"), "integer"),
    **dict.fromkeys(("continuous", "float", "real", "double", "decimal", "numeric", "number", "num",
                     "quantitative"), "continuous"),
    **dict.fromkeys(("datetime", "date", "time", "timestamp", "dateandtime"), "datetime"),
    **dict.fromkeys(("text", "string", "str", "freetext", "narrative", "note", "char", "character"), "text"),
    **dict.fromkeys(("identifier", "id", "key"), "identifier"),
    **dict.fromkeys(("weight", "surveyweight", "samplingweight"), "weight"),
}  # fmt: skip

ROLE_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(("feature", "model", "modelled", "modeled", "yes", "input"), "feature"),
    **dict.fromkeys(("target", "label", "class", "outcome"), "target"),
    **dict.fromkeys(("narrative", "text"), "narrative"),
    **dict.fromkeys(("excluded", "exclude", "drop", "no", "ignore", "none"), "excluded"),
}
TRUE_WORDS: Final = frozenset({"yes", "true", "y", "1", "oui", "o", "nullable", "optional"})
FALSE_WORDS: Final = frozenset({"no", "false", "n", "0", "non", "required"})
ISO_FORMAT_WORDS: Final = frozenset({"iso", "iso8601", "isodate", "yyyymmdd"})


def squash(text: str) -> str:
    """Lower case, accents dropped, only letters and digits: how codebook column names and words compare."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


@dataclass(frozen=True)
class CodebookEntry:
    """What the codebook says of one variable; None where it says nothing.

    Attributes:
        variable: the variable's name as the codebook writes it.
        line: its line in the codebook file (the header is line 1), to cite it.
        type_text: the type as written, kept to name an unknown one.
        kind: the spec kind the type means (None when absent or not understood).
        categories: the values as they are in the file (the codes of ``code=label`` items).
        labels: the label of each category (the category itself when no label is given).
        low, high: ``min`` and ``max`` (numbers or dates).
        iso_dates: the format column says ISO 8601 (no ``format`` needed).
    """

    variable: str
    line: int
    description: str | None = None
    type_text: str | None = None
    kind: str | None = None
    unit: str | None = None
    categories: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    low: float | dt.date | None = None
    high: float | dt.date | None = None
    format: str | None = None
    iso_dates: bool = False
    role: str | None = None
    nullable: bool | None = None


def read_codebook(path: Path) -> list[CodebookEntry]:
    """Read a codebook CSV (``,``, ``;`` or tab separated) into one entry per variable.

    Raises:
        DataError: the file is missing, not a UTF-8 CSV, empty, has no variable column, names a
            variable twice, or has a ``min``/``max`` that is neither a number nor an ISO date.
    """
    if not path.is_file():
        raise DataError(f"Codebook {path} not found. Give a CSV with one row per variable (docs/data.md).")
    if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise DataError(f"Codebook {path} is a spreadsheet; save it as CSV (UTF-8) and pass that file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"Codebook {path} is not UTF-8 text. Save it as a UTF-8 CSV.") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataError(f"Codebook {path} is empty. Give a header row (variable, description, type, ...).")
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    fields = _field_columns(rows[0], path)
    entries: list[CodebookEntry] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        cell = {field: row[i].strip() if i < len(row) else "" for field, i in fields.items()}
        variable = cell["variable"]
        if not variable:
            continue  # a blank row, or a section title of a hand-kept codebook
        key = squash(variable)
        if key in seen:
            raise DataError(f"Codebook {path} names variable '{variable}' twice (lines {seen[key]} and {number}).")
        seen[key] = number
        entries.append(_entry(cell, line=number, path=path))
    return entries


def _field_columns(header: list[str], path: Path) -> dict[str, int]:
    """Codebook field -> its column position, the first matching column winning."""
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        for field, names in FIELD_NAMES.items():
            if squash(name) in names and field not in found:
                found[field] = i
    if "variable" not in found:
        raise DataError(
            f"Codebook {path} has no variable column (its header: {', '.join(header)}). "
            f"Name the column of variable names one of: {', '.join(FIELD_NAMES['variable'])}."
        )
    return found


def _entry(cell: dict[str, str], *, line: int, path: Path) -> CodebookEntry:
    get = cell.get
    codes, labels = _values(get("values") or "")
    fmt = get("format") or None
    iso = fmt is not None and squash(fmt) in ISO_FORMAT_WORDS
    return CodebookEntry(
        variable=cell["variable"],
        line=line,
        description=get("description") or None,
        type_text=get("type") or None,
        kind=TYPE_WORDS.get(squash(get("type") or "")),
        unit=get("unit") or None,
        categories=codes,
        labels=labels,
        low=_bound(get("min") or "", where=f"Codebook {path} line {line}, min"),
        high=_bound(get("max") or "", where=f"Codebook {path} line {line}, max"),
        format=None if iso else fmt,
        iso_dates=iso,
        role=ROLE_WORDS.get(squash(get("role") or "")),
        nullable=_yes_no(get("nullable") or ""),
    )


def _values(text: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """``"1=female; 2=male"`` -> (("1", "2"), ("female", "male")); ``"a|b"`` -> (("a", "b"), ("a", "b"))."""
    if not text.strip():
        return None, None
    separator = next((s for s in (";", "|", "\n") if s in text), ",")
    codes: list[str] = []
    labels: list[str] = []
    for item in text.split(separator):
        code, _, label = item.partition("=")
        code = code.strip().strip("\"'")
        if code:
            codes.append(code)
            labels.append(label.strip() or code)
    return (tuple(codes), tuple(labels)) if codes else (None, None)


def _bound(text: str, *, where: str) -> float | dt.date | None:
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    number = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
    try:
        value = float(number)
    except ValueError:
        raise DataError(f"{where} is '{text}': write a number or an ISO date (2019-01-31).") from None
    return int(value) if value.is_integer() and re.fullmatch(r"[+-]?\d+", number) else value


def _yes_no(text: str) -> bool | None:
    word = squash(text)
    return True if word in TRUE_WORDS else False if word in FALSE_WORDS else None
