"""The note released when every candidate of a row fails: written from the row's facts only.

A row whose every candidate, after repair, still loops, states a number, date, time or code the
row does not hold, contradicts the row, or is left empty gets this note instead of the best of
them. It is deterministic and made from the spec's words only (``prompts/spec_words.py``: the
labels, shown values and units the spec-made prompt uses), never from data or a model:

    54-year-old man, fall. Arrival mode: ambulance, triage 2, GCS 9. Body region: head, injury type: fracture.

- the first sentence is the spec-made prompt's opening: age and sex ("54-year-old man",
  "18-month-old girl"), then the target's value;
- then each other modelled column that has a value, in the prompt header's order, four a
  sentence: a number as ``label value unit`` ("heart rate 80 beats/min"; a unit that only says
  the number is a score, "points", "level", is left out), a category as ``label: value``, a
  yes/no column as its label or "no <label>", a date as ``label: 2021-08-08``.

Each fact is kept only when the note with it still passes the project's own checker (no
contradiction, no unsupported statement, no loop): a fact the checker would read wrongly is left
out, so the note is clean under the checker by construction, on any spec.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traumasynth.narrate.checking.factcheck import FactCheck, check_narrative
from traumasynth.narrate.checking.facts import Lexicon
from traumasynth.narrate.checking.unsupported import StatementCheck, SupportRules
from traumasynth.narrate.prompts.spec_prompt import SpecPrompt
from traumasynth.narrate.prompts.spec_words import (
    header_columns,
    is_age,
    is_missing,
    label,
    sex_values,
    shown_value,
    unit_shown,
    yes_no_values,
)
from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec

#: Units that only say a number is a score: "GCS 9", not "GCS 9 points".
_SCORE_UNITS = frozenset({"points", "point", "level", "score", "grade", "scale"})
#: A category that says the value is not known ("UNK", "not stated"): left out.
_UNKNOWN = re.compile(r"^(?:unk\w*|n\.?s\.?|not (?:stated|known|recorded|assessed)|missing|unknown\b.*|\?)$", re.I)
#: Facts a sentence holds after the first.
_PER_SENTENCE = 4


@dataclass(frozen=True)
class FallbackResult:
    """The fallback note of a row and its checks (both clean unless the row gives nothing to say)."""

    text: str
    check: FactCheck
    statements: StatementCheck | None


def _variants(part: str) -> tuple[str, ...]:
    """``part`` and, for an age, the same without hyphens ("54-year-old" -> "54 year old")."""
    spaced = part.replace("-year-old", " year old").replace("-month-old", " month old")
    return (part, spaced)


def _capital(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.islower() else text


class FallbackNote:
    """Writes the fallback note of a row of ``spec`` (see the module docstring)."""

    VERSION = "1"

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self._opening = SpecPrompt(spec=spec, opening="core")
        columns = header_columns(spec)
        said_first = {c.name for c in columns if is_age(c)} | {c.name for c in columns if sex_values(c)}
        self._rest = [c for c in columns if c.name not in said_first | {spec.target.name}]

    def __repr__(self) -> str:  # part of the narration shard fingerprint
        return f"FallbackNote(v{self.VERSION}, {self.spec.name}, {[c.name for c in self._rest]})"

    def _fact(self, column: ColumnSpec, value: Any) -> str | None:
        if column.kind == "categorical":
            yes_no = yes_no_values(column)
            if yes_no is not None:
                if str(value) in yes_no["yes"]:
                    return label(column)
                return f"no {label(column)}" if str(value) in yes_no["no"] else None
            if _UNKNOWN.match(str(value).strip()):
                return None  # "UNK": nothing to say
            return f"{label(column)}: {shown_value(column, value)}"
        if column.kind == "datetime":
            return f"{label(column)}: {shown_value(column, value)}"
        if column.kind in NUMERIC_KINDS:
            unit = unit_shown(column)
            shown = f"{label(column)} {shown_value(column, value)}"
            return f"{shown} {unit}" if unit and unit.strip().lower() not in _SCORE_UNITS else shown
        return None

    def _parts(self, row: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """The first sentence's parts (age and sex, target) and the other facts, before any check."""
        opening = [p.strip() for p in self._opening.opening(row).split(",") if p.strip()]
        facts = [f for c in self._rest if not is_missing(row.get(c.name)) and (f := self._fact(c, row[c.name]))]
        return opening, facts

    @staticmethod
    def _render(opening: list[str], facts: list[str]) -> str:
        sentences = [", ".join(opening)] if opening else []
        sentences += [", ".join(facts[i : i + _PER_SENTENCE]) for i in range(0, len(facts), _PER_SENTENCE)]
        return " ".join(_capital(s) + "." for s in sentences if s)

    def write(
        self, row: Mapping[str, Any], *, lexicon: Lexicon | None, statements: SupportRules | None
    ) -> FallbackResult:
        """The row's fallback note: every fact of the row that the checker reads right, in plain prose."""

        def verdict(text: str) -> tuple[bool, int]:
            """Whether ``text`` passes the checker, and how many core facts it leaves out."""
            check = check_narrative(narrative=text, row=row, lexicon=lexicon) if lexicon is not None else None
            said = statements.check(narrative=text, row=row) if statements is not None else None
            clean = (check is None or not check.contradictions) and (said is None or not said.problems)
            return clean, len(check.omissions) if check is not None else 0

        opening, facts = self._parts(row)
        kept_opening: list[str] = []
        for part in opening:
            # "54-year-old" first; "54 year old" where a lexicon reads only that (NEISS's "54 YO")
            tried = [(verdict(self._render([*kept_opening, v], [])), v) for v in dict.fromkeys(_variants(part))]
            clean = [(omitted, v) for (ok, omitted), v in tried if ok]
            if clean:
                kept_opening.append(min(clean, key=lambda c: c[0])[1])
        kept: list[str] = []
        for fact in facts:
            if verdict(self._render(kept_opening, [*kept, fact]))[0]:
                kept.append(fact)
        text = self._render(kept_opening, kept)
        check = (
            check_narrative(narrative=text, row=row, lexicon=lexicon)
            if lexicon is not None
            else FactCheck(1.0, (), (), ())
        )
        said = statements.check(narrative=text, row=row) if statements is not None else None
        return FallbackResult(text, check, said)
