"""Read what a narrative states: age, sex, mechanism, body region, injury, disposition, triage, vitals.

The vocabulary of a dataset's notes is a hand-written ``lexicons/<dataset>.yaml`` of the project
(regular expressions per coded value, see the comments in ``ed_trauma_sim.yaml``) or, for a
dataset without one, is made from its specification (``spec_lexicon``); this module only
applies it.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from traumasynth.core import layout
from traumasynth.core.errors import SpecError
from traumasynth.spec import DatasetSpec

_CLAUSE_END = re.compile(r"[.;,:\n]")
_SENTENCE_END = re.compile(r"(?<!\d)\.(?!\d)|\n")


class FactRule(BaseModel):
    """How one fact is read from a note (one entry of a lexicon's ``facts`` list)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    column: str = Field(min_length=1)
    kind: Literal["number", "category"]
    core: bool = False
    match: Literal["any", "all"] = "all"
    scope: Literal["all", "first_sentence"] = "all"
    negatable: bool = False
    deny: bool = False
    deny_within: int | None = Field(default=None, ge=0)
    entails: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    skip_sentences: str | None = None
    read_after: str | None = None
    tolerance: float = 0.0
    rounded: bool = False
    patterns: tuple[str, ...] = ()
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    cues: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    compatible: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    also: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> FactRule:
        if self.kind == "number" and not self.patterns:
            raise ValueError(f"fact '{self.name}': a number fact needs `patterns`")
        if self.kind == "category" and not self.cues:
            raise ValueError(f"fact '{self.name}': a category fact needs `cues`")
        if self.ranges and self.kind != "number":
            raise ValueError(f"fact '{self.name}': `ranges` (words that state a range of values) are for number facts")
        bad_ranges = [p for p, (low, high) in self.ranges.items() if low > high]
        if bad_ranges:
            raise ValueError(f"fact '{self.name}': `ranges` need [low, high] with low <= high: {bad_ranges}")
        bad_also = [a for alts in self.also.values() for a in alts if "=" not in a]
        if bad_also:
            raise ValueError(f"fact '{self.name}': `also` entries are `column=value`, got {bad_also}")
        if self.deny and not self.negatable:
            raise ValueError(f"fact '{self.name}': `deny` reads negated cues, so it needs `negatable: true`")
        skip = tuple(p for p in (self.skip_sentences, self.read_after) if p)
        for pattern in (*self.patterns, *self.ranges, *(p for ps in self.cues.values() for p in ps), *skip):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"fact '{self.name}': bad regular expression {pattern!r}: {exc}") from exc
        return self


class Lexicon(BaseModel):
    """A dataset's fact vocabulary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    negation: str = r"\b(?:no|not|without)\b"
    number_words: bool = False
    facts: tuple[FactRule, ...] = Field(min_length=1)

    @property
    def core_facts(self) -> tuple[str, ...]:
        """Names of the facts every note must state (age, sex, mechanism)."""
        return tuple(dict.fromkeys(r.name for r in self.facts if r.core))

    def check_spec(self, spec: DatasetSpec) -> None:
        """Raise SpecError if a rule reads a column or a category the dataset lacks."""
        problems: list[str] = []
        for rule in self.facts:
            if rule.column not in spec.column_names:
                problems.append(f"fact '{rule.name}' reads column '{rule.column}', which is not in the spec")
                continue
            cats = spec.column(rule.column).categories
            if rule.kind == "category" and cats is not None:
                unknown = sorted(set(rule.cues) - set(cats))
                if unknown:
                    problems.append(f"fact '{rule.name}' has cues for unknown categories {unknown}")
        if problems:
            raise SpecError(
                f"The narrative lexicon does not fit dataset '{spec.name}': " + "; ".join(problems) + ". "
                f"Fix {layout.LEXICONS}/{spec.name}.yaml, or delete it to use the checker made from the spec."
            )


class WrittenNumber(float):
    """A number as a note writes it: its value, and the decimals it is written with ("70" 0, "69.5" 1)."""

    decimals: int

    def __new__(cls, text: str) -> WrittenNumber:
        number = super().__new__(cls, float(text))
        number.decimals = len(text.partition(".")[2])
        return number


def written_as(number: float, decimals: int, value: float) -> bool:
    """Whether ``number``, written with ``decimals`` decimals, is ``value`` rounded or cut at that precision.

    60.8 is written "60.8", "61" or "60" (cut), never "59"; 69.5 "70" or "69".
    """
    step = 10.0**-decimals
    tol = 1e-9 * max(1.0, abs(value))
    return abs(number - value) <= step / 2 + tol or -tol <= value - number < step - tol


def written_forms(value: float, decimals: int) -> frozenset[str]:
    """Every figure of ``value`` that ``written_as`` accepts, at each precision up to ``decimals`` (sign left out).

    60.8 with 1 decimal: "61", "60", "60.8"; 68.5 with 0: "69" (half up) and "68" (cut, or half down).
    """
    out = set()
    value = abs(value)
    for places in range(max(decimals, 0) + 1):
        scale = 10.0**places
        for shown in (math.floor(value * scale + 0.5) / scale, math.floor(value * scale + 1e-9) / scale):
            out.add(f"{shown:.{places}f}")
    return frozenset(out)


@dataclass
class StatedFacts:
    """What a note states: fact name -> set of values (category labels or numbers).

    ``denied`` holds the values a note says are absent ("no fracture", "no X-ray"), for the
    facts whose rule has ``deny: true``. ``ranges`` holds the words a note uses for a number
    it does not give ("drowsy": GCS 3-14), with the range they state.
    """

    values: dict[str, set[str | float]] = field(default_factory=dict)
    denied: dict[str, set[str]] = field(default_factory=dict)
    ranges: dict[str, set[tuple[str, float, float]]] = field(default_factory=dict)

    def add_range(self, name: str, word: str, low: float, high: float) -> None:
        self.ranges.setdefault(name, set()).add((word.lower(), low, high))

    def get_ranges(self, name: str) -> set[tuple[str, float, float]]:
        return self.ranges.get(name, set())

    def add(self, name: str, value: str | float) -> None:
        self.values.setdefault(name, set()).add(value)

    def deny(self, name: str, value: str) -> None:
        self.denied.setdefault(name, set()).add(value)

    def get(self, name: str) -> set[str | float]:
        return self.values.get(name, set())

    def get_denied(self, name: str) -> set[str]:
        return self.denied.get(name, set())


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD = re.compile(
    r"\b(?:(?P<hundreds>one|two) hundred(?: and)?[- ])?"
    rf"(?:(?P<tens>{'|'.join(_TENS)})(?:[- ](?P<tens_unit>{'|'.join(_UNITS[1:10])}))?"
    rf"|(?P<unit>{'|'.join(_UNITS)}))\b",
    re.IGNORECASE,
)


def _number(m: re.Match[str]) -> str:
    value = 100 * _UNITS.index(m["hundreds"].lower()) if m["hundreds"] else 0
    if m["tens"]:
        value += 10 * (_TENS.index(m["tens"].lower()) + 2)
        value += _UNITS.index(m["tens_unit"].lower()) if m["tens_unit"] else 0
    else:
        value += _UNITS.index(m["unit"].lower())
    return str(value)


def numbers_as_digits(text: str) -> str:
    """English number words up to 299 as digits: "forty-two-year-old" -> "42-year-old", "GCS fourteen" -> "GCS 14"."""
    return _NUMBER_WORD.sub(_number, text)


def load_lexicon(*, dataset: str, directory: Path = layout.LEXICONS) -> Lexicon | None:
    """The hand-written lexicon ``<directory>/<dataset>.yaml``, or None when none is written for it.

    Raises:
        SpecError: the lexicon file is malformed (bad YAML, a bad regular expression).
    """
    path = Path(directory) / f"{dataset}.yaml"
    if not path.is_file():
        return None
    try:
        return Lexicon.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise SpecError(f"Narrative lexicon {path} is invalid: {exc}") from exc


@functools.lru_cache(maxsize=8192)
def _pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled (case-insensitive) once: a spec-made lexicon has more patterns than ``re``'s
    own cache keeps (NEISS: ~700), and compiling them again for every note took seconds a note."""
    return re.compile(pattern, re.IGNORECASE)


def _negation_gap(text: str, start: int, negation: re.Pattern[str]) -> int | None:
    """Words between the clause's last negation before ``start`` and ``start``; None when not negated."""
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    ends = [m.end() for m in negation.finditer(text, clause_start, start)]
    return len(text[ends[-1] : start].split()) if ends else None


def extract_facts(*, text: str, lexicon: Lexicon) -> StatedFacts:
    """Read every fact of ``lexicon`` that ``text`` states.

    Args:
        text: one narrative.
        lexicon: the dataset's vocabulary.

    Returns:
        The stated values per fact name (a fact may be stated several times, even
        inconsistently: both values are kept, so the checker sees the slip).
    """
    stated = StatedFacts()
    negation = _pattern(lexicon.negation)
    if lexicon.number_words:
        text = numbers_as_digits(text)
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    for rule in lexicon.facts:
        scope = first if rule.scope == "first_sentence" else text
        if rule.skip_sentences:
            skip = _pattern(rule.skip_sentences)
            scope = ". ".join(s for s in _SENTENCE_END.split(scope) if not skip.search(s))
        if rule.read_after and (start := _pattern(rule.read_after).search(scope)):
            scope = scope[start.end() :]  # "CUT ... DX: LACERATION": the words after DX state the diagnosis
        if rule.kind == "number":
            for pattern in rule.patterns:
                for m in _pattern(pattern).finditer(scope):
                    groups = m.groupdict()
                    if groups.get("months") is not None:
                        stated.add(rule.name, float(int(groups["months"]) // 12))
                    elif groups.get("value") is not None:
                        stated.add(rule.name, WrittenNumber(groups["value"]))
                    elif groups.get("zero") is not None:  # "no pain"
                        stated.add(rule.name, 0.0)
            for pattern, (low, high) in rule.ranges.items():  # "drowsy" states GCS <= 14; "not drowsy" nothing
                for m in _pattern(pattern).finditer(scope):
                    if _negation_gap(scope, m.start(), negation) is None:
                        stated.add_range(rule.name, m.group(0), low, high)
            continue
        for value, patterns in rule.cues.items():
            said = denied = False
            for pattern in patterns:
                for m in _pattern(pattern).finditer(scope):
                    gap = _negation_gap(scope, m.start(), negation) if rule.negatable else None
                    if gap is None:
                        said = True
                    elif rule.deny_within is None or gap <= rule.deny_within:
                        denied = True
            if said:
                stated.add(rule.name, value)
            if denied and rule.deny:
                stated.deny(rule.name, value)
    return stated
