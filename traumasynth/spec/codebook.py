"""A codebook: the public description of a table's variables, read leniently to draft a specification.

A codebook is a CSV file (``,``, ``;`` or tab separated) or a Markdown pipe table with one row per
variable. Only the variable's name is required; every other column is optional. Column names are
matched after lower-casing and dropping accents, spaces and punctuation, so ``Variable name``,
``variable_name`` and ``VARIABLE`` are all the variable:

| field | accepted column names |
|---|---|
| variable | variable, variable name, var, name, column, column name, field, header |
| description | description, desc, definition, meaning, label, variable label, question, libellé |
| type | type, kind, data type, storage type, variable type |
| measure | measure, measurement level, level of measurement (SPSS) |
| unit | unit, units, unité |
| values | values, categories, levels, codes, labels, value labels, valid values, allowed values, ... |
| min, max | min/minimum/low/lower/lower bound, max/maximum/high/upper/upper bound |
| format | format, date format, display format |
| role | role, use |
| nullable | nullable, missing, optional |
| notes | note, notes, comment, comments, remarks |

Cells are read as statistics packages write them (``traumasynth.spec.codebook_values``): value
lists in R, Stata and SAS forms as well as ``1=female; 2=male``, type words of SPSS, Stata, SAS
and R, and their date formats. A codebook describes the variables, never the rows: reading it
reads no private value.
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
from traumasynth.spec.codebook_values import (
    TypeReading,
    Values,
    find_date_format,
    read_date_format,
    read_type,
    read_values,
)

#: Codebook field -> the column names that mean it (compared by ``squash``).
FIELD_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "variable": ("variable", "variablename", "var", "name", "column", "columnname", "field", "header", "varname",
                 "fieldname", "variablefieldname"),
    "description": ("description", "desc", "definition", "meaning", "label", "libelle", "variablelabel",
                    "question", "fieldlabel"),
    "type": ("type", "kind", "datatype", "storagetype", "variabletype", "vartype", "fieldtype"),
    "measure": ("measure", "measurement", "measurementlevel", "levelofmeasurement", "scaletype"),
    "validation": ("validation", "validationtype", "textvalidationtype", "textvalidationtypeorshowslidernumber"),
    "unit": ("unit", "units", "unite"),
    "values": (
        "values", "categories", "levels", "codes", "labels", "valuelabels", "valuelabel", "modalities", "modalites",
        "allowedvalues", "validvalues", "possiblevalues", "permittedvalues", "responseoptions", "options",
        "answers", "coding", "choices", "valuerange", "choicescalculationsorsliderlabels",
    ),
    "min": ("min", "minimum", "low", "lower", "lowerbound", "textvalidationmin"),
    "max": ("max", "maximum", "high", "upper", "upperbound", "textvalidationmax"),
    "format": ("format", "dateformat", "displayformat", "printformat"),
    "role": ("role", "use"),
    "nullable": ("nullable", "missing", "optional"),
    "notes": ("note", "notes", "comment", "comments", "remark", "remarks", "fieldnote"),
}  # fmt: skip

ROLE_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(("feature", "model", "modelled", "modeled", "yes", "input"), "feature"),
    **dict.fromkeys(("target", "label", "class", "outcome"), "target"),
    **dict.fromkeys(("narrative", "text"), "narrative"),
    **dict.fromkeys(("excluded", "exclude", "drop", "no", "ignore", "none"), "excluded"),
}
TRUE_WORDS: Final = frozenset({"yes", "true", "y", "1", "oui", "o", "nullable", "optional"})
FALSE_WORDS: Final = frozenset({"no", "false", "n", "0", "non", "required"})
_MARKDOWN_SUFFIXES: Final = frozenset({".md", ".markdown"})
#: REDCap's yes/no fields export 1 and 0 (a slider exports 0 to 100; its "choices" label its ends).
_REDCAP_BOOLEAN: Final = {
    "yesno": Values(codes=("0", "1"), labels=("No", "Yes")),
    "truefalse": Values(codes=("0", "1"), labels=("False", "True")),
}


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
        type_text: the type (and measure) as written, kept to name an unknown one.
        kind: the spec kind the type means (None when absent or not understood).
        loose_kind: the type word says how values are stored or broadly what they are (numeric,
            string, qualitative): a value list or the codebook's wording may tell more.
        categories: the values as they are in the file (the codes of ``code=label`` items).
        labels: the label of each category (the category itself when no label is given).
        low, high: ``min`` and ``max`` (numbers or dates), or the range the values cell gives.
        format: a date format as strftime; ``iso_dates``: the codebook says ISO 8601 (no ``format``).
        format_text: a format the codebook gives for a date that could not be read as one.
        remark: a values cell that is no list (``Any ICD-10 code``, ``Free text``).
        wording: every word the codebook says of the variable (description, labels, notes,
            remark), to recognise free text, codes, identifiers, survey weights and the target.
    """

    variable: str
    line: int
    description: str | None = None
    type_text: str | None = None
    kind: str | None = None
    loose_kind: bool = False
    unit: str | None = None
    categories: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    low: float | dt.date | None = None
    high: float | dt.date | None = None
    format: str | None = None
    iso_dates: bool = False
    format_text: str | None = None
    role: str | None = None
    nullable: bool | None = None
    remark: str | None = None
    wording: str = ""


def read_codebook(path: Path) -> list[CodebookEntry]:
    """Read a codebook (CSV with ``,``, ``;`` or tabs, or a Markdown table) into one entry per variable.

    Raises:
        DataError: the file is missing, not UTF-8 text, empty, has no variable column, names a
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
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    markdown = path.suffix.lower() in _MARKDOWN_SUFFIXES or first.startswith("|")
    rows = _markdown_rows(text) if markdown else _csv_rows(text)
    if not rows or not any(cell.strip() for cell in rows[0][1]):
        raise DataError(f"Codebook {path} is empty. Give a header row (variable, description, type, ...).")
    header = rows[0][1]
    fields = _field_columns(header, path)
    entries: list[CodebookEntry] = []
    seen: dict[str, int] = {}
    for number, row in rows[1:]:
        if [squash(c) for c in row] == [squash(c) for c in header]:
            continue  # the header repeated above the next table of a Markdown codebook
        cells = {field: [row[i].strip() for i in at if i < len(row)] for field, at in fields.items()}
        variable = next(iter(cells["variable"]), "")
        if not variable:
            continue  # a blank row, or a section title of a hand-kept codebook
        key = squash(variable)
        if key in seen:
            raise DataError(f"Codebook {path} names variable '{variable}' twice (lines {seen[key]} and {number}).")
        seen[key] = number
        entries.append(_entry(cells, line=number, path=path))
    return entries


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line, cells) of a CSV codebook. A tab-separated file is read unquoted (R writes ``"No" "Yes"`` as is)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return []
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    if delimiter == "\t":
        return [(n, [_unquote_cell(c) for c in line.split("\t")]) for n, line in enumerate(lines, start=1)]
    reader = csv.reader(lines, delimiter=delimiter)
    return [(reader.line_num, row) for row in reader]


def _unquote_cell(cell: str) -> str:
    """A spreadsheet's quoted cell (``"a ""b"" c"``) unquoted; an R list (``"No" "Yes"``) kept."""
    return cell[1:-1].replace('""', '"') if re.fullmatch(r'"(?:[^"]|"")*"', cell.strip()) else cell


def _markdown_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line, cells) of every row of the Markdown pipe tables in ``text`` (``\\|`` is a literal bar)."""
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("|"):
            continue
        inner = stripped[1:-1] if stripped.endswith("|") and not stripped.endswith("\\|") else stripped[1:]
        cells = [c.strip().strip("`").replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c) and any(cells):
            continue  # the |---|---| line under a header
        rows.append((number, cells))
    return rows


def _field_columns(header: list[str], path: Path) -> dict[str, list[int]]:
    """Codebook field -> its column positions; the first is the one read, all are read for wording."""
    found: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        for field, names in FIELD_NAMES.items():
            if squash(name) in names:
                found.setdefault(field, []).append(i)
                break
    if "variable" not in found:
        raise DataError(
            f"Codebook {path} has no variable column (its header: {', '.join(header)}). "
            f"Name the column of variable names one of: {', '.join(FIELD_NAMES['variable'])}."
        )
    return found


def _entry(cells: dict[str, list[str]], *, line: int, path: Path) -> CodebookEntry:
    def get(field: str) -> str:
        return next(iter(cells.get(field, [])), "")

    values = read_values(get("values"))
    type_texts = [t for t in (get("validation"), get("type"), get("measure")) if t]
    reading = read_type(*type_texts)
    if squash(get("type")) == "slider":
        values, reading = Values(low=0, high=100), TypeReading("integer")
    elif values.codes is None and squash(get("type")) in _REDCAP_BOOLEAN:
        values = _REDCAP_BOOLEAN[squash(get("type"))]
    words = [*cells.get("description", []), *cells.get("notes", []), values.remark or ""]
    fmt_text = get("format")
    fmt = read_date_format(fmt_text) if fmt_text else reading.date_format
    if fmt is None and not fmt_text:  # a date pattern said in a note or the values cell ("Format: dd/mm/yyyy")
        fmt = next((f for w in [*type_texts, *words] if w and (f := find_date_format(w))), None)
    kind, loose = reading.kind, reading.loose
    if fmt is not None and (kind is None or loose):
        kind, loose = "datetime", False  # SAS and Stata keep dates as numbers with a date format
    low = _bound(get("min"), where=f"Codebook {path} line {line}, min")
    high = _bound(get("max"), where=f"Codebook {path} line {line}, max")
    return CodebookEntry(
        variable=get("variable"),
        line=line,
        description=get("description") or None,
        type_text=", ".join(type_texts) or None,
        kind=kind,
        loose_kind=loose,
        unit=get("unit") or None,
        categories=values.codes,
        labels=values.labels,
        low=values.low if low is None and high is None else low,
        high=values.high if low is None and high is None else high,
        format=None if fmt in (None, "iso") else fmt,
        iso_dates=fmt == "iso",
        format_text=fmt_text if fmt is None and fmt_text else None,
        role=ROLE_WORDS.get(squash(get("role"))),
        nullable=_yes_no(get("nullable")),
        remark=values.remark,
        wording=" | ".join(w for w in words if w),
    )


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
