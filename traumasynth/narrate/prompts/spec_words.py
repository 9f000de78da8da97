"""How a dataset specification's columns read in English: labels, shown values, roles of columns.

Shared by the prompt (``spec_prompt``) and the fact lexicon (``spec_lexicon``) made from a spec
when no hand-written one exists, so both name a column and show a value the same way. Only the
spec is read (names, descriptions, units, categories and the optional ``aliases`` and
``labels``), never data.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec

#: Words that cut a description's head phrase: "Heart rate at triage" -> "Heart rate".
_CUT = re.compile(r"\s*(?:[(;,.:]|\s-\s|\b(?:at|on|in|during|when|by|from|for|recorded|as)\b)", re.IGNORECASE)
_LONGEST_LABEL = 4  # words: a longer head phrase is not a label, the column name is
#: Trailing name tokens that only repeat a unit (``length_of_stay_h``, ``delay_min``).
_UNIT_TOKENS = frozenset({"h", "hr", "hrs", "min", "mins", "s", "sec", "d", "y", "yr", "yrs", "mo", "pct", "n"})
#: Second words of a name that a note often leaves out ("triage 3" for ``triage_level``).
GENERIC_TAILS = frozenset({"level", "score", "grade", "category", "value", "count", "status", "class", "scale"})
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0", "none"})
_UNKNOWN = re.compile(r"^(?:unk\w*|n\.?s\.?|not (?:stated|known|recorded|assessed)|missing|\?)$", re.IGNORECASE)
_AGE = re.compile(r"\bage\b", re.IGNORECASE)


def name_words(column: ColumnSpec) -> str:
    """The column name as words: ``heart_rate`` -> ``heart rate``, ``length_of_stay_h`` -> ``length of stay``."""
    tokens = [t for t in re.split(r"[_\W]+", column.name) if t]
    while len(tokens) > 1 and tokens[-1].lower() in _UNIT_TOKENS:
        tokens.pop()
    return " ".join(tokens)


def head_phrase(column: ColumnSpec) -> str | None:
    """The description's opening noun phrase when it is short: "Heart rate at triage." -> "Heart rate"."""
    head = _CUT.split(column.description.strip(), maxsplit=1)[0].strip()
    words = head.split()
    if not words or len(words) > _LONGEST_LABEL:
        return None
    return head


def label(column: ColumnSpec) -> str:
    """A short readable label: the first alias, else the description's head phrase, else the name.

    Words written in capitals in the source (``ED``, ``GCS``) keep them; others are lower case.
    """
    if column.aliases:
        return column.aliases[0]
    head = head_phrase(column)
    name = name_words(column)
    # One word of a description ("Time from ...") says less than a longer name (length_of_stay_h).
    text = head if head and (len(head.split()) > 1 or len(name.split()) == 1) else name
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in text.split())


def category_text(value: str) -> str:
    """A category as words: underscores as spaces, a code in capitals in lower case (``MALE`` -> ``male``)."""
    text = value.replace("_", " ").strip()
    return text.lower() if text.isupper() and len(text) > 3 else text


def shown_category(column: ColumnSpec, value: str) -> str:
    """How a prompt shows a category: its first ``labels`` word, else ``category_text``."""
    words = column.labels.get(value)
    return words[0] if words else category_text(value)


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas' NA."""
    return value is None or bool(pd.api.types.is_scalar(value) and pd.isna(value))


def shown_value(column: ColumnSpec, value: Any) -> str:
    """A row's value as a prompt shows it: integers without decimals, continuous values to 0.1."""
    if column.kind == "categorical":
        return shown_category(column, str(value))
    if column.kind == "datetime":
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp.time() == dt.time(0) else stamp.isoformat(sep=" ", timespec="minutes")
    if column.kind in NUMERIC_KINDS:
        number = float(value)
        if column.kind == "integer" or number.is_integer():
            return str(int(round(number)))
        return f"{number:.1f}"
    return str(value)


def unit_shown(column: ColumnSpec) -> str | None:
    """The unit a prompt writes after a number, or None when it only repeats the label ("triage level 3")."""
    if not column.unit:
        return None
    said = set(re.findall(r"\w+", label(column).lower()))
    words = set(re.findall(r"\w+", column.unit.lower()))
    return None if words and words <= said else column.unit


def is_age(column: ColumnSpec) -> bool:
    """A numeric column in years (or without unit) whose name or description says age."""
    if column.kind not in NUMERIC_KINDS:
        return False
    in_years = column.unit is None or column.unit.strip().lower() in {"years", "year", "yr", "yrs", "y"}
    return in_years and bool(_AGE.search(column.name.replace("_", " ")) or _AGE.search(column.description))


def sex_values(column: ColumnSpec) -> dict[str, str]:
    """For a categorical column with a male and a female value: ``{"male": <category>, "female": <category>}``."""
    if column.kind != "categorical":
        return {}
    found: dict[str, str] = {}
    for cat in column.categories or ():
        key = cat.strip().lower()
        if key in {"male", "m", "man"}:
            found["male"] = cat
        elif key in {"female", "f", "woman"}:
            found["female"] = cat
    return found if len(found) == 2 else {}


def yes_no_values(column: ColumnSpec) -> dict[str, list[str]] | None:
    """For a yes/no column: its categories sorted into ``yes``, ``no`` and ``unknown`` (None otherwise).

    ``No/Unk`` (no or not known: nothing was noted) is a no: a stated yes contradicts it, a
    denial fits it.
    """
    if column.kind != "categorical":
        return None
    sorted_: dict[str, list[str]] = {"yes": [], "no": [], "unknown": []}
    for cat in column.categories or ():
        parts = [p.strip().lower() for p in re.split(r"[/,]| or ", cat) if p.strip()]
        if any(_UNKNOWN.match(p) for p in parts) and any(p in _NO for p in parts):
            sorted_["no"].append(cat)
        elif any(_UNKNOWN.match(p) for p in parts):
            sorted_["unknown"].append(cat)
        elif parts and all(p in _YES for p in parts):
            sorted_["yes"].append(cat)
        elif parts and all(p in _NO for p in parts):
            sorted_["no"].append(cat)
        else:
            return None
    return sorted_ if sorted_["yes"] and (sorted_["no"] or sorted_["unknown"]) else None


def said_no_after(no_values: tuple[str, ...] | list[str] = ()) -> str:
    """A regex for what follows a finding's or a yes/no column's words to say no: "operation: N",
    "intubated = no" (the words before it are denied, not stated).

    Args:
        no_values: the column's own no codes (``N``, ``0``, ``No/Unk``) beside the common ones.
    """
    words = {*_NO, "nil", "absent", "negative", "not done", *(v.lower() for v in no_values)}
    return (
        r"\w*\s*[:=]\s*(?:" + "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w))) + r")(?![\w/])"
    )


def header_columns(spec: DatasetSpec) -> list[ColumnSpec]:
    """The modelled columns in the order a note reads them: age, sex, the target, then spec order."""
    modelled = list(spec.modelled_columns)
    first = [c for c in modelled if is_age(c)][:1] + [c for c in modelled if sex_values(c)][:1] + [spec.target]
    ordered = list({c.name: c for c in first}.values())
    return ordered + [c for c in modelled if c.name not in {o.name for o in ordered}]
