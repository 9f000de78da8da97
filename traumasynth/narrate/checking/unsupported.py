"""Statements a note makes that its row does not hold: numbers, dates, clock times, codes and findings.

The contradiction check (``factcheck``) only judges the facts its lexicon reads. A small model
also writes figures no column states ("1000 patients", "200 kg", "treated at 2017-06-19"), puts a
column's number under another column's name ("13.7 hours of ventilation" when 13.7 h is the ICU
stay and the patient was not ventilated), or lists codes the row does not have ("C2, C3, C4, N6
vertebra" for one injured level). Each such figure is an **unsupported statement**. The rules,
made from the dataset specification only:

- **A number** is supported when it equals a value of the row after rounding: the row's value at the
  precision the note writes (rounded or cut: 60.8 h is "61 hours" or "60 hours", never "18 hours"),
  or an integer column's value in whole units ("18-month-old" for age 1). A unit after the number
  ("hours", "kg", "%") restricts the comparison to columns whose spec unit is of the same family
  (time, mass, ...), converted between units of that family (2.5 days = 60 h); a unit no column
  has is unsupported. A column named right before the number ("GCS 14", "ICU for 18 hours") or
  right after its unit ("13.7 hours of ventilation") restricts it to that column, and a missing
  value there makes the number unsupported. A number with neither is compared with every
  numeric value of the row, the numbers in its category labels and the parts of its dates.
- **Always supported**: 0 and 1 without a unit ("one" is as often a pronoun as a count), a
  denominator after "/" or "out of" that is a column's upper bound ("pain 7/10", "GCS 14/15").
- **A date** must be the date of one of the row's date columns (a numeric date is read day first
  and month first); **a clock time** the time of a date column, or the hour of a column whose unit
  is an hour of the day.
- **A code** (a letter or two and a number: "C5") is supported when it names a yes/no column whose
  row value is yes (``spine_c5``), is in the text of one of the row's categories, or is used by the
  spec's wording (an alias, a unit) without naming a column or a category ("SpO2").

- **A clinical finding or intervention** ("intubated", "in a coma", "known heart failure") is
  supported when a column records it and the row holds it, or a scale column holds it (GCS 3-8
  for coma): ``findings.py``.

A category the note names that is not the row's ("head" for a leg injury) is a contradiction,
found by ``factcheck``; it is not repeated here.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from traumasynth.narrate.checking.facts import written_as, written_forms
from traumasynth.narrate.checking.findings import FindingRule, finding_problems, finding_rules
from traumasynth.narrate.checking.loops import find_loop
from traumasynth.narrate.checking.note_numbers import CODE, StatedNumber, Unit, parse_unit, read_figures
from traumasynth.narrate.checking.spec_lexicon import column_terms
from traumasynth.narrate.checking.word_patterns import alternation, phrase_regex, split_words
from traumasynth.narrate.prompts.spec_words import is_age, is_missing, yes_no_values
from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec

#: Words of a column's name that only say its unit or that it is a number ("icu_hours" -> "icu").
_UNIT_WORDS = frozenset(
    "h hr hrs hour hours min mins minute minutes d day days wk week weeks mo month months y yr yrs year years "
    "kg g cm mm n count number total value score level time duration spent length".split()
)
_SMALL = frozenset("a an and of or the to in on at by for with from as per".split())
#: Up to this many words between a column's name and its number ("ICU stay was 18").
_WORDS_BEFORE = 4
#: Up to this many words between a number's unit and a column's name after it ("13.7 hours of ventilation").
_WORDS_AFTER = 2


@dataclass(frozen=True)
class NumberColumn:
    """What the check needs of a numeric column."""

    name: str
    unit: Unit | None
    integer: bool
    decimals: int
    upper: float
    age: bool
    clock_hour: bool
    terms: str | None  # a regex of the words that name it in a note, when they name no other numeric column


@dataclass(frozen=True)
class SupportRules:
    """The spec's knowledge the unsupported check uses (see the module docstring). ``from_spec`` makes it."""

    numbers: tuple[NumberColumn, ...]
    date_columns: tuple[str, ...]
    category_words: tuple[tuple[str, str, str], ...]  # (column, category, how a note may write it)
    flag_codes: tuple[tuple[str, str, tuple[str, ...]], ...]  # (code, yes/no column, its yes categories)
    category_codes: tuple[str, ...]
    spec_codes: tuple[str, ...]
    findings: tuple[FindingRule, ...] = ()

    @classmethod
    def from_spec(cls, spec: DatasetSpec) -> SupportRules:
        """The rules of ``spec``'s modelled columns (only the spec is read, never data)."""
        columns = spec.modelled_columns
        numeric = [c for c in columns if c.kind in NUMERIC_KINDS]
        terms = {c.name: _naming_terms(c) for c in numeric}
        owners: dict[str, int] = {}
        for named in terms.values():
            for t in named:
                owners[t] = owners.get(t, 0) + 1
        numbers = tuple(_number_column(c, [t for t in terms[c.name] if owners[t] == 1]) for c in numeric)
        categorical = [c for c in columns if c.kind == "categorical"]
        words = tuple(
            (c.name, cat, w) for c in categorical for cat in c.categories or () for w in (cat, *c.labels.get(cat, ()))
        )
        flags = tuple(
            (code, c.name, tuple(yn["yes"]))
            for c in categorical
            if (yn := yes_no_values(c)) is not None and yn["yes"]
            for code in _codes_of(" ".join((c.name.replace("_", " "), *c.aliases)))
        )
        category_codes = sorted({code for _, _, w in words for code in _codes_of(w)})
        said = " ".join(f"{c.description} {c.unit or ''} {' '.join(c.aliases)}" for c in spec.columns)
        spec_codes = sorted(set(_codes_of(said)) - {f[0] for f in flags} - set(category_codes))
        dates = tuple(c.name for c in columns if c.kind == "datetime")
        return cls(numbers, dates, words, flags, tuple(category_codes), tuple(spec_codes), finding_rules(spec))

    def check(self, *, narrative: str, row: Mapping[str, Any]) -> StatementCheck:
        """The unsupported statements and the loop of one note."""
        return StatementCheck(unsupported_statements(narrative=narrative, row=row, rules=self), find_loop(narrative))

    def writable_numbers(self, row: Mapping[str, Any]) -> RowFigures:
        """The figures a note of ``row`` may write without an unsupported number, for the generation's guard.

        Each numeric value is written rounded or cut at every precision from whole units to its
        column's decimals (60.8 -> "61", "60", "60.8"). After a column's name only that column's
        figures (none when its value is missing); after "/" or "out of" also the columns' upper
        bounds; elsewhere every value's figures, the numbers of the row's category labels and the
        parts of its dates and times (also zero-padded: "05"), 0 and 1. Every figure is one the
        check accepts there; a unit after it is still checked afterwards.
        """
        by_column: list[tuple[re.Pattern[str], frozenset[str]]] = []
        anywhere = {"0", "1"}
        for column in self.numbers:
            value = _value(row, column.name)
            shown = written_forms(value, column.decimals) if value is not None else frozenset()
            anywhere |= shown
            if column.terms is not None:
                by_column.append((_named_before(column.terms), shown))
        for number in _bare_values(row, self):
            anywhere.add(f"{number:g}")
            if float(number).is_integer() and 0 <= number < 10:
                anywhere.add(f"{int(number):02d}")  # "05" of a date, "14:05"
        bounds = frozenset(f"{c.upper:g}" for c in self.numbers if math.isfinite(c.upper) and c.upper > 0)
        return RowFigures(frozenset(anywhere), frozenset(anywhere) | bounds, tuple(by_column))


@dataclass(frozen=True)
class RowFigures:
    """The numbers a note of one row may write, by the words before them (``SupportRules.writable_numbers``)."""

    anywhere: frozenset[str]
    denominators: frozenset[str]  # after "/" or "out of": also the columns' upper bounds
    by_column: tuple[tuple[re.Pattern[str], frozenset[str]], ...]  # (a column named at the end of a text, its figures)

    def after(self, text: str) -> frozenset[str]:
        """The figures a number may be when ``text`` comes right before it (as the check reads it)."""
        if _DENOMINATOR_BEFORE.search(text):
            return self.denominators
        best: tuple[int, frozenset[str]] | None = None
        for pattern, figures in self.by_column:
            if (m := pattern.search(text)) and (words := len(m["gap"].split())) <= _WORDS_BEFORE:
                best = (words, figures) if best is None or words < best[0] else best
        return best[1] if best is not None else self.anywhere


#: A denominator follows these ("14/15", "7 out of 10").
_DENOMINATOR_BEFORE = re.compile(r"(?:/|\bout of\s+)$")


@functools.lru_cache(maxsize=4096)
def _named_before(terms: str) -> re.Pattern[str]:
    """A column's name at the end of a text, and the words between (as ``_named_column`` reads it)."""
    return re.compile(rf"{terms}(?P<gap>[^\d,;.!?()]*?)$", re.IGNORECASE)


@dataclass(frozen=True)
class StatementCheck:
    """A note's statements its row does not hold (one line each), and its loop (None: no loop)."""

    unsupported: tuple[str, ...]
    loop: str | None

    @property
    def problems(self) -> int:
        """Unsupported statements, plus one for a loop: what a candidate note is ranked by."""
        return len(self.unsupported) + (self.loop is not None)


def _codes_of(text: str) -> list[str]:
    return [m["code"].upper() for m in CODE.finditer(text.replace("_", " "))]


def _naming_terms(column: ColumnSpec) -> list[str]:
    """Words that name ``column`` before or after its number: its aliases, and its name and description's
    words when they say more than a unit ("icu_hours" -> "icu") and do not start with a small word."""
    aliases = [a.strip().lower() for a in column.aliases if a.strip()]
    name = " ".join(w for w in split_words(column.name.replace("_", " ")) if w not in _UNIT_WORDS)
    derived = []
    for term in (*column_terms(column), name):
        words = split_words(term)
        if words and words[0] not in _SMALL and any(w not in _UNIT_WORDS and len(w) > 1 for w in words):
            derived.append(term)
    return list(dict.fromkeys([*aliases, *derived]))


def _number_column(column: ColumnSpec, terms: list[str]) -> NumberColumn:
    unit_text = (column.unit or "").strip().lower()
    patterns = [p for t in terms if (p := phrase_regex(t)) is not None]
    return NumberColumn(
        name=column.name,
        unit=parse_unit(column.unit),
        integer=column.kind == "integer",
        decimals=column.decimals if column.decimals is not None else (0 if column.kind == "integer" else 1),
        upper=column.numeric_bounds[1],
        age=is_age(column),
        clock_hour="hour" in unit_text and "day" in unit_text,
        terms=alternation(patterns) if patterns else None,
    )


def _value(row: Mapping[str, Any], name: str) -> float | None:
    value = row.get(name)
    if value is None or is_missing(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fits(number: StatedNumber, value: float, column: NumberColumn | None) -> bool:
    """Whether ``number`` states ``value`` (in ``column``'s unit) after rounding, in the note's unit."""
    factor = 1.0
    if number.unit is not None and column is not None and column.unit is not None:
        factor = column.unit.factor / number.unit.factor
    in_note_unit = value * factor
    if written_as(number.value, number.decimals, in_note_unit):
        return True
    # an integer column counts whole units: 18 months is 1.5 years, age 1
    tol = 1e-9 * max(1.0, abs(in_note_unit))
    return column is not None and column.integer and math.floor(number.value / factor + tol) == round(value)


def _named_column(text: str, number: StatedNumber, rules: SupportRules) -> NumberColumn | None:
    """The column named right before the number or right after its unit, the nearer one."""
    best: tuple[int, NumberColumn] | None = None
    before = text[: number.start]
    after = text[number.end :]
    for column in rules.numbers:
        if column.terms is None:
            continue
        if (m := _named_before(column.terms).search(before)) and len(m["gap"].split()) <= _WORDS_BEFORE:
            words = len(m["gap"].split())
            best = (words, column) if best is None or words < best[0] else best
        gap_after = rf"^(?P<gap>(?:\s+[a-z]+){{0,{_WORDS_AFTER}}}?)\s+{column.terms}"
        if number.unit is not None and (m := re.match(gap_after, after, re.IGNORECASE)):
            words = len(m["gap"].split()) + 1
            best = (words, column) if best is None or words < best[0] else best
    return best[1] if best else None


def _bare_values(row: Mapping[str, Any], rules: SupportRules) -> list[float]:
    """Numbers a unit-less figure may state: category labels' numbers and the parts of the row's dates."""
    out: list[float] = []
    for column, category, words in rules.category_words:
        if str(row.get(column)) == category:
            out += [float(d) for d in re.findall(r"\d+(?:\.\d+)?", words)]
    for name in rules.date_columns:
        if (stamp := _stamp(row.get(name))) is not None:
            out += [stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute]
    return out


def _number_problem(text: str, number: StatedNumber, row: Mapping[str, Any], rules: SupportRules) -> str | None:
    said = f"note says {number.text}"
    denominator = _DENOMINATOR_BEFORE.search(text[: number.start])
    if denominator and any(number.value == c.upper for c in rules.numbers):
        return None
    named = _named_column(text, number, rules)
    if named is None and number.is_age:
        named = next((c for c in rules.numbers if c.age), None)
    if named is not None:
        value = _value(row, named.name)
        if value is None:
            return f"{named.name}: {said}, row has no value"
        return None if _fits(number, value, named) else f"{named.name}: {said}, row says {value:g}"
    if number.unit is None:
        if number.value in (0, 1):
            return None
        numeric = [(c, v) for c in rules.numbers if (v := _value(row, c.name)) is not None]
        if any(_fits(number, v, c) for c, v in numeric) or number.value in _bare_values(row, rules):
            return None
        return f"number: {said}, no value of the row"
    same = [c for c in rules.numbers if c.unit is not None and c.unit.family == number.unit.family]
    if not same:
        return f"number: {said}, no column in {number.unit.family} units"
    if any((v := _value(row, c.name)) is not None and _fits(number, v, c) for c in same):
        return None
    return f"number: {said}, no {number.unit.family} value of the row"


def _stamp(value: Any) -> pd.Timestamp | None:
    if is_missing(value):
        return None
    try:
        return pd.Timestamp(value)
    except (TypeError, ValueError):
        return None


def _date_problems(figures: Any, row: Mapping[str, Any], rules: SupportRules) -> list[str]:
    stamps = [s for name in rules.date_columns if (s := _stamp(row.get(name))) is not None]
    out: list[str] = []
    for date in figures.dates:
        held = any(
            (y is None or y == s.year) and m == s.month and (d is None or d == s.day)
            for y, m, d in date.readings
            for s in stamps
        )
        if held and date.time is not None:
            held = any((s.hour, s.minute) == date.time for s in stamps)
        if not held:
            out.append(f"date: note says {date.text}, " + ("no date of the row" if stamps else "row has no date"))
    hours = [v for c in rules.numbers if c.clock_hour and (v := _value(row, c.name)) is not None]
    for time in figures.times:
        at_stamp = any((s.hour, s.minute) == (time.hour, time.minute) for s in stamps)
        if not at_stamp and not (time.minute == 0 and time.hour in hours):
            out.append(f"time: note says {time.text}, no time of the row")
    return out


def _code_problems(codes: tuple[str, ...], row: Mapping[str, Any], rules: SupportRules) -> list[str]:
    row_codes = {
        code for column, category, words in rules.category_words if str(row.get(column)) == category
        for code in _codes_of(words)
    }  # fmt: skip
    out: list[str] = []
    for code in dict.fromkeys(codes):
        flags = [(column, yes) for c, column, yes in rules.flag_codes if c == code]
        if any(str(row.get(column)) in yes for column, yes in flags) or code in row_codes:
            continue
        if not flags and code not in rules.category_codes and code in rules.spec_codes:
            continue
        where = ", ".join(column for column, _ in flags)
        out.append(f"code: note says {code}, " + (f"row says no ({where})" if flags else "not in the row"))
    return out


def unsupported_statements(*, narrative: str, row: Mapping[str, Any], rules: SupportRules) -> tuple[str, ...]:
    """Every number, date, clock time, code and clinical finding of ``narrative`` that ``row`` does not hold.

    Args:
        narrative: the note.
        row: the row it was written from (column -> value).
        rules: ``SupportRules.from_spec(spec)``.

    Returns:
        One line per unsupported statement, e.g. ``"icu_hours: note says 18 hours, row says 60.8"``.
    """
    figures = read_figures(narrative)
    out = [p for n in figures.numbers if (p := _number_problem(figures.text, n, row, rules)) is not None]
    out += _date_problems(figures, row, rules)
    out += _code_problems(figures.codes, row, rules)
    out += finding_problems(narrative, row, rules.findings)
    return tuple(out)
