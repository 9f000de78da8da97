"""The cells of a codebook as statistics packages and hand-kept codebooks write them, for ``traumasynth.spec.codebook``.

- **Value lists** (``read_values``): ``1=female; 2=male``, ``fall|road|assault``, ``0: No, 1: Yes``,
  R's ``"No" "Yes"`` and ``c("No", "Yes")``, Stata's ``0 "No" 1 "Yes"``, SAS's ``1='Male' 2='Female'``,
  REDCap's ``1, Male | 2, Female``; a quoted label keeps its commas (``"Taxi, motor rickshaw"``), as
  does a label of a ``code=label`` list split on commas.
  A range (``0-120``, ``[3, 15]``) gives bounds; a remark (``Any ICD-10 code``, ``Free text``) is
  kept as a remark, never read as one category.
- **Type words** (``read_type``): this project's kinds and those of SPSS (nominal, ordinal, scale,
  string, ``A20``, ``F8.2``), Stata (byte, int, long, float, double, ``str20``, ``%td``), SAS (num,
  char, ``$20.``, ``MMDDYY10.``), R (factor, character, integer, double, logical, Date, POSIXct,
  and tibble's chr, dbl, fct) and plain words (qualitative, quantitative).
- **Date formats** (``read_date_format``): strftime, ``dd/mm/yyyy hh:mm``-style patterns and the
  date formats of SAS, SPSS and Stata, as strftime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

#: Type words -> the spec's kind (compared squashed: lower case, letters and digits only).
TYPE_WORDS: Final[dict[str, str]] = {
    **dict.fromkeys(("categorical", "category", "categories", "factor", "nominal", "ordinal", "cat", "enum",
                     "binary", "boolean", "bool", "coded", "code", "yesno", "dichotomous", "qualitative",
                     "logical", "lgl", "ordered", "fct", "labelled", "multiplechoice", "singlechoice",
                     "radio", "dropdown", "checkbox", "truefalse"), "categorical"),
    **dict.fromkeys(("integer", "int", "count", "whole", "byte", "long", "short", "discrete", "smallint",
                     "bigint", "int64", "int32", "slider"), "integer"),
    **dict.fromkeys(("continuous", "float", "real", "double", "decimal", "numeric", "number", "num",
                     "quantitative", "scale", "dbl", "float64", "ratio", "interval", "calc"), "continuous"),
    **dict.fromkeys(("datetime", "date", "time", "timestamp", "dateandtime", "posixct", "posixlt", "dttm",
                     "datetime64"), "datetime"),
    **dict.fromkeys(("text", "string", "str", "strl", "freetext", "narrative", "note", "char", "character",
                     "chr", "varchar", "alphanumeric", "opentext", "notes"), "text"),
    **dict.fromkeys(("identifier", "id", "key"), "identifier"),
    **dict.fromkeys(("weight", "surveyweight", "samplingweight", "statisticalweight"), "weight"),
}  # fmt: skip

#: Type words that say how a value is stored or broadly what it is, not what the column means: a list
#: of values (a numeric code with value labels, a string of a few values), the header or the
#: codebook's wording (a "qualitative" free-text field, a REDCap "text" box holding an ID) tells more.
LOOSE_TYPE_WORDS: Final = frozenset(
    {"qualitative", "quantitative", "numeric", "number", "num", "scale", "string", "str", "strl", "char",
     "character", "chr", "varchar", "alphanumeric", "double", "dbl", "float", "float64", "real", "decimal",
     "byte", "int", "long", "short", "int32", "int64", "smallint", "bigint", "ratio", "interval", "labelled",
     "text", "calc"}
)  # fmt: skip

#: When a cell holds several type words ("Numeric (integer)"), the most telling one wins.
_SPECIFICITY: Final = ("identifier", "weight", "datetime", "text", "categorical", "integer", "continuous")

#: Formats of statistics packages -> (kind, strftime of a date format or None).
_SAS_DATE: Final[dict[str, str]] = {
    "mmddyy10": "%m/%d/%Y", "mmddyy8": "%m/%d/%y", "mmddyy": "%m/%d/%y", "ddmmyy10": "%d/%m/%Y",
    "ddmmyy8": "%d/%m/%y", "ddmmyy": "%d/%m/%y", "yymmdd10": "%Y-%m-%d", "yymmdd8": "%y-%m-%d",
    "date9": "%d%b%Y", "date7": "%d%b%y", "date": "%d%b%y", "datetime20": "%d%b%Y:%H:%M:%S",
    "datetime19": "%d%b%Y:%H:%M:%S", "datetime18": "%d%b%y:%H:%M:%S", "datetime": "%d%b%y:%H:%M:%S",
    "e8601da": "%Y-%m-%d", "is8601da": "%Y-%m-%d", "e8601dt": "%Y-%m-%dT%H:%M:%S",
    "is8601dt": "%Y-%m-%dT%H:%M:%S",
}  # fmt: skip
_SPSS_DATE: Final[dict[str, str]] = {
    "adate10": "%m/%d/%Y", "adate8": "%m/%d/%y", "edate10": "%d.%m.%Y", "edate8": "%d.%m.%y",
    "sdate10": "%Y/%m/%d", "sdate8": "%y/%m/%d", "date11": "%d-%b-%Y", "date9": "%d-%b-%y",
    "datetime20": "%d-%b-%Y %H:%M:%S", "datetime17": "%d-%b-%Y %H:%M", "ymdhms19": "%Y-%m-%d %H:%M:%S",
}  # fmt: skip
_STATA_DATE: Final[dict[str, str]] = {"%td": "%d%b%Y", "%d": "%d%b%Y", "%tc": "%d%b%Y %H:%M:%S"}
_PATTERN_PARTS: Final[dict[str, str]] = {
    "yyyy": "%Y", "ccyy": "%Y", "yy": "%y", "mmmm": "%B", "mmm": "%b", "mon": "%b", "mm": "%m", "dd": "%d",
    "d": "%d", "m": "%m", "hh": "%H", "hh24": "%H", "mi": "%M", "nn": "%M", "ss": "%S",
}  # fmt: skip
_ISO: Final = frozenset({"%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"})
ISO_FORMAT_WORDS: Final = frozenset({"iso", "iso8601", "isodate", "isodatetime", "yyyymmdd"})

_QUOTED: Final = r'"(?:[^"]|"")*"|\'[^\']*\'|“[^”]*”'
_QUOTED_ITEM: Final = re.compile(
    rf"\s*(?:(?P<code>[^\s\"'“”=,;|]+)\s*=?\s*)?(?P<quoted>{_QUOTED})\s*(?:[,;|/]\s*)?", re.S
)
_NUMBER: Final = r"[+-]?\d+(?:\.\d+)?"
_RANGE: Final = re.compile(
    rf"\[\s*(?P<a>{_NUMBER})\s*[,;]\s*(?P<b>{_NUMBER})\s*\]"
    rf"|(?P<c>{_NUMBER})\s*(?:-|–|—|\.\.\.?|\bto\b)\s*(?P<d>{_NUMBER})(?:\s+[^\d\s,;|=]\S*)*",
    re.I,
)
_REMARK: Final = re.compile(
    r"^(any|see|format|range)\b|^as (written|recorded|entered)\b|\bfree[- ]?text\b|\be\.g\.|\betc\b", re.I
)


@dataclass(frozen=True)
class Values:
    """What a values cell says: a list of codes and labels, a range, or a remark."""

    codes: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    remark: str | None = None


@dataclass(frozen=True)
class TypeReading:
    """What a type cell says: the spec's kind (None: not understood), whether the word is loose, and the
    strftime format (or ``"iso"``) when the cell is a date format."""

    kind: str | None
    loose: bool = False
    date_format: str | None = None


def squash(text: str) -> str:
    """Lower case, only ASCII letters and digits (accents are dropped by the caller's normalisation)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def read_values(text: str) -> Values:
    """A values cell: ``"No" "Yes"`` -> codes ``(No, Yes)``; ``0-120`` -> low 0, high 120; ``Free text`` -> a remark."""
    text = text.strip()
    if not text:
        return Values()
    quoted = _quoted_list(text)
    if quoted is not None:
        return Values(codes=tuple(c for c, _ in quoted), labels=tuple(lab for _, lab in quoted))
    if match := _RANGE.fullmatch(text):
        low, high = (match["a"], match["b"]) if match["a"] is not None else (match["c"], match["d"])
        return Values(low=_number(low), high=_number(high))
    items = _split(text)
    if len(items) == 1 and re.fullmatch(r"[^/\s]+(?:\s?/\s?[^/\s]+)+", text) and read_date_format(text) is None:
        items = [(p.strip(), p.strip()) for p in text.split("/")]  # Yes/No, M/F
    if len(items) < 2 or _REMARK.search(text) or squash(text) == "na":
        return Values(remark=text)
    return Values(codes=tuple(c for c, _ in items), labels=tuple(lab for _, lab in items))


def _quoted_list(text: str) -> list[tuple[str, str]] | None:
    """Items of an R, Stata or SAS list of quoted values (``c("a", "b")``, ``0 "No" 1 "Yes"``); None if not one."""
    inner = re.fullmatch(r"(?:c|list|factor)\s*\((.*)\)|\[(.*)\]|\{(.*)\}", text, re.S)
    body = next((g for g in inner.groups() if g is not None), text) if inner else text
    items: list[tuple[str, str]] = []
    at = 0
    while at < len(body):
        match = _QUOTED_ITEM.match(body, at)
        if not match or match.end() == at:
            return None
        label = _unquote(match["quoted"])
        items.append((match["code"] or label, label))
        at = match.end()
    pairs = [re.fullmatch(r"\s*([^=\s]+)\s*=\s*(.*\S)\s*", label) for code, label in items if code == label]
    if items and len(pairs) == len(items) and all(pairs):  # "0 = No" "1 = Yes": codes with their labels
        return [(p[1], p[2]) for p in pairs if p]
    return items or None


def _split(text: str) -> list[tuple[str, str]]:
    """``a; b`` / ``a|b`` / one per line / ``a, b``; a ``code=label`` list split on commas keeps labels' commas."""
    separator = next((s for s in (";", "|", "\n") if s in text), ",")
    parts = [p.strip() for p in text.split(separator)]
    if separator == "," and any("=" in p for p in parts):
        merged: list[str] = []
        for part in parts:  # "53=Contusion, abrasion, 57=Fracture": "abrasion" belongs to 53's label
            if "=" in part or not merged:
                merged.append(part)
            else:
                merged[-1] += f", {part}"
        parts = merged
    # "1: Male", "1 - Male", "1) Male", "1. Male", and REDCap's "1, Male | 2, Female": a short code, then its label.
    marks = r"[:)]|\.(?!\d)|\s[-–]" + ("" if separator == "," else "|,")
    coded = [re.fullmatch(rf"(-?\d+|[A-Za-z0-9]{{1,3}})\s*(?:{marks})\s*(\S.*)", p) for p in parts if p]
    if coded and all(coded) and not any("=" in p for p in parts):
        parts = [f"{m[1]}={m[2]}" for m in coded if m]
    items: list[tuple[str, str]] = []
    for part in parts:
        code, _, label = part.partition("=")
        code, label = _unquote(code.strip()), _unquote(label.strip())
        if code:
            items.append((code, label or code))
    return items


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] + text[-1] in ('""', "''", "“”"):
        return text[1:-1].replace('""', '"') if text[0] == '"' else text[1:-1]
    return text


def _number(text: str) -> float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def read_type(*texts: str | None) -> TypeReading:
    """The kind that type cells mean (``Qualitative``, ``str20``, ``MMDDYY10.``; a storage type then a measure).

    The first cell that is understood gives the kind; a later one (an SPSS measure) overrides a
    loose storage type when it says categorical or, for a number, continuous versus integer.
    """
    readings = [_one_type(t) for t in texts if t and t.strip()]
    known = [r for r in readings if r.kind is not None]
    if not known:
        return TypeReading(None)
    first = known[0]
    for later in known[1:]:
        if first.loose and later.kind == "categorical":
            return TypeReading("categorical")
    return first


def _one_type(text: str) -> TypeReading:
    raw = text.strip().lower()
    if date_format := read_date_format(text):
        return TypeReading("datetime", date_format=date_format)
    if re.fullmatch(r"str\d+|\$[a-z]*\d*\.?|a\d+|(var)?char\s*\(?\d*\)?|%-?\d*s", raw):
        return TypeReading("text", loose=True)
    if m := re.fullmatch(r"f\d+(?:\.(\d+))?|%-?\d+\.(\d+)[fg]c?", raw):
        decimals = m.group(1) or m.group(2) or "0"
        return TypeReading("integer" if int(decimals) == 0 else "continuous", loose=True)
    word = squash(raw)
    if word in TYPE_WORDS:
        return TypeReading(TYPE_WORDS[word], loose=word in LOOSE_TYPE_WORDS)
    words = [w for w in re.findall(r"[a-z0-9]+", raw) if w in TYPE_WORDS]
    if not words:
        return TypeReading(None)
    kinds = {TYPE_WORDS[w] for w in words}
    kind = next(k for k in _SPECIFICITY if k in kinds)
    return TypeReading(kind, loose=all(w in LOOSE_TYPE_WORDS for w in words if TYPE_WORDS[w] == kind))


def read_date_format(text: str) -> str | None:
    """A codebook's date format as strftime (``"iso"`` for ISO 8601 dates); None if it is not a date format.

    ``%d/%m/%Y`` stays; ``dd/mm/yyyy hh:mm`` -> ``%d/%m/%Y %H:%M``; ``MMDDYY10.`` (SAS) -> ``%m/%d/%Y``;
    ``ADATE10`` (SPSS) -> ``%m/%d/%Y``; ``%td`` (Stata) -> ``%d%b%Y``; ``ISO 8601``, ``yyyy-mm-dd`` -> ``"iso"``.
    """
    raw = text.strip()
    low = raw.lower()
    if squash(low) in ISO_FORMAT_WORDS and not re.search(r"[/.]", low):
        return "iso"
    if re.fullmatch(r"(date|datetime|datetime_seconds)_(ymd|dmy|mdy)", low):
        return "iso"  # REDCap validates dates as typed but exports them as ISO 8601
    if low in _STATA_DATE:
        return _STATA_DATE[low]
    if re.fullmatch(r"%-?\d*(\.\d+)?[a-z]c?|%-?\d*s", low) or low.startswith("%t"):
        return None  # a Stata display format of a number or a string (or a Stata date layout not handled)
    if "%" in raw:
        return raw
    if re.fullmatch(r"[a-z]+\d*\.\d*", low):  # SAS: a format name ends with a dot
        name = low.split(".")[0]
        return _iso(_SAS_DATE.get(name) or _SAS_DATE.get(name.rstrip("0123456789")))
    if low in _SPSS_DATE:
        return _iso(_SPSS_DATE[low])
    return _iso(_pattern(low))


def find_date_format(text: str) -> str | None:
    """A date pattern written inside a sentence (``Format: dd/mm/yyyy``), as ``read_date_format`` reads it."""
    for match in re.finditer(r"(?<![a-z])[ymdhsn]+(?:[-/.: T]?[ymdhsn]+)+(?![a-z])", text.lower()):
        if (found := read_date_format(match.group())) is not None:
            return found
    return None


def _pattern(low: str) -> str | None:
    """``dd/mm/yyyy hh:mm`` -> ``%d/%m/%Y %H:%M``: letters runs of y, m, d, h, n/mi, s between separators."""
    tokens = re.findall(r"[a-z]+\d*|[^a-z]", re.sub(r"(?<=dd)t(?=hh)", "T", low))
    if not tokens or not any(t in ("yyyy", "yy", "ccyy") for t in tokens):
        return None
    out: list[str] = []
    after_hour = False
    for token in tokens:
        if not re.fullmatch(r"[a-z]+\d*", token):
            out.append(token)
            continue
        if token == "mm" and after_hour:
            token = "mi"
        if token not in _PATTERN_PARTS:
            return None
        after_hour = after_hour or token.startswith("hh")
        out.append(_PATTERN_PARTS[token])
    return "".join(out)


def _iso(fmt: str | None) -> str | None:
    return "iso" if fmt in _ISO else fmt
