"""Clinical findings and interventions a note states that its row does not hold.

A small model writes facts no column records: "taken off a ventilator" for a patient never
ventilated, "in a coma" at GCS 9, "known heart failure, allergic to penicillin" in a table with no
history at all. The number, date and code checks (``unsupported.py``) do not see them, and the
contradiction check only reads the words of the spec's own columns. This check reads a fixed list
of findings that trauma notes state (``FINDINGS``: airway and ventilation, coma, loss of
consciousness, shock, hypoxia, abnormal heart rate and temperature, surgery, transfusion, cardiac
arrest, death, and common past history). A finding the note states, not negated ("no LOC",
"not intubated" say nothing), is **supported** when

- a column records it and the row holds it: a category whose words name it is the row's
  (``outcome: dead`` for "died"); a yes/no column whose name or description names it says yes
  (``intubated: yes``); a numeric column whose name or description names it has a value above 0
  (``ventilation_hours: 13.7``); any other categorical column that names it has a value other
  than none, no or unknown; or
- a numeric column of the scale it is read on holds a value in its range (``coma``: GCS 3-8;
  ``shock``: systolic pressure below 90; ``hypoxia``: SpO2 below 92; ``tachycardia``: heart rate
  above 100; ``bradycardia``: below 60; ``fever``: 38 °C or more; ``hypothermia``: below 35 °C).

Otherwise it is unsupported: "finding: note says coma, row says gcs_ed 9" or "finding: note says
heart failure, not in the row". The rules are made from the spec's words only, like the rest of
the checks; a spec whose columns record a finding in words the list does not know gets no false
alarm from it as long as the note uses those words too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traumasynth.narrate.prompts.spec_words import category_text, is_missing, said_no_after, yes_no_values
from traumasynth.spec import NUMERIC_KINDS, ColumnSpec, DatasetSpec

_NONE = re.compile(r"^(?:no|none|nil|n|absent|not done|not performed|unk\w*|not stated|not known|missing)$", re.I)
#: A negation shortly before a finding: "no loss of consciousness", "not intubated", "denies LOC".
_NEGATED = re.compile(
    r"\b(?:no|not|nil|without|lack of|denies|denied|negative for|ruled out|never|nor)\b(?:\W+\w+){0,3}\W*$",
    re.IGNORECASE,
)
#: A no right after a finding: "operation: N", "intubated = no".
_SAID_NO_AFTER = re.compile(said_no_after(), re.IGNORECASE)
#: A negation counts within the finding's clause only: "No fracture, intubated." states intubation.
_CLAUSE_END = re.compile(r"[.;,:!?]")


@dataclass(frozen=True)
class Finding:
    """One finding: how a note states it, which column words record it, and a scale it may be read on.

    Attributes:
        name: what the problem line calls it.
        said: regexes of the note's words for it (case-insensitive).
        recorded_by: regexes of a column's words (name, description, aliases, categories, labels)
            that record it.
        scale: (regex of a numeric column's name, description or aliases, low, high): a value in
            [low, high] holds the finding.
    """

    name: str
    said: tuple[str, ...]
    recorded_by: tuple[str, ...]
    scale: tuple[str, float, float] | None = None


_INF = math.inf
FINDINGS: tuple[Finding, ...] = (
    Finding("ventilation", (r"\bventilat\w*", r"\bintubat\w*", r"\bendotracheal\b", r"\bETT\b"),
            (r"\bventilat", r"\bintubat", r"\bairway")),
    Finding("coma", (r"\bcoma\b(?!\s+scale)", r"\bcomatose\b", r"\bunresponsive\b", r"\bunconscious\b"),
            (r"\bcoma\b(?!\s+scale)", r"\bconscious"), (r"\bgcs\b|\bglasgow\b", 3, 8)),
    Finding("loss of consciousness", (r"\bloss of consciousness\b", r"\bLOC\b", r"\bknocked out\b", r"\bpassed out\b",
                                      r"\bblacked out\b"), (r"\bconscious", r"\bsyncop")),
    Finding("shock", (r"(?<!electric )(?<!electrical )\bshock\b", r"\bhypotensi\w*"), (r"\bshock\b", r"\bhypotens"),
            (r"\bsbp\b|\bsystolic\b", 0, 89.999)),
    Finding("hypoxia", (r"\bhypox\w*", r"\bdesaturat\w*"), (r"\bhypox",), (r"\bspo2\b|\bsaturation\b", 0, 91.999)),
    Finding("tachycardia", (r"\btachycardi\w*",), (r"\btachycard",), (r"\bheart rate\b|\bpulse\b", 100.001, _INF)),
    Finding("bradycardia", (r"\bbradycardi\w*",), (r"\bbradycard",), (r"\bheart rate\b|\bpulse\b", 0, 59.999)),
    Finding("fever", (r"\bfebrile\b", r"\bfever\w*", r"\bpyrexi\w*"), (r"\bfever", r"\bfebrile"),
            (r"\btemp(?:erature)?\b", 38.0, _INF)),
    Finding("hypothermia", (r"\bhypotherm\w*",), (r"\bhypotherm",), (r"\btemp(?:erature)?\b", -_INF, 34.999)),
    Finding("surgery", (r"\bsurger(?:y|ies)\b", r"\boperated\b", r"\boperation\b", r"\boperative\b",
                        r"\blaparotom\w*", r"\bcraniotom\w*", r"\btheatre\b", r"\boperating room\b"),
            (r"\bsurg", r"\boperat", r"\btheatre\b", r"\bprocedure")),
    Finding("transfusion", (r"\btransfus\w*", r"\bblood products?\b"), (r"\btransfus", r"\bblood product")),
    Finding("cardiac arrest", (r"\bcardiac arrest\b", r"\bCPR\b", r"\bresuscitated\b"),
            (r"\barrest\b", r"\bcpr\b", r"\bresusc")),
    Finding("death", (r"\bdied\b", r"\bdeath\b", r"\bdeceased\b", r"\bpassed away\b", r"\bdead\b", r"\bDOA\b",
                      r"\bexpired\b"), (r"\bdead\b", r"\bdied\b", r"\bdeath\b", r"\bdeceased\b", r"\bfatal",
                                        r"\bmortality\b", r"\bdoa\b", r"\bexpired\b")),
    Finding("heart failure", (r"\bheart failure\b", r"\bCHF\b", r"\bcardiac failure\b"), (r"\bheart failure\b",
                                                                                         r"\bchf\b")),
    Finding("kidney disease", (r"\brenal failure\b", r"\bkidney (?:disease|failure)\b", r"\bCKD\b", r"\bdialysis\b"),
            (r"\brenal\b", r"\bkidney\b", r"\bckd\b", r"\bdialysis\b")),
    Finding("diabetes", (r"\bdiabet\w*",), (r"\bdiabet",)),
    Finding("hypertension", (r"\bhypertensi\w*", r"\bHTN\b"), (r"\bhypertens", r"\bhtn\b")),
    Finding("lung disease", (r"\bCOPD\b", r"\basthma\w*", r"\bemphysema\b"),
            (r"\bcopd\b", r"\basthma", r"\bemphysema")),
    Finding("dementia", (r"\bdementia\b", r"\balzheimer\w*"), (r"\bdementia\b", r"\balzheimer")),
    Finding("epilepsy", (r"\bepilep\w*", r"\bseizures?\b"), (r"\bepilep", r"\bseizure")),
    Finding("stroke", (r"\bstroke\b",), (r"\bstroke\b", r"\bcerebrovascular\b")),
    Finding("cancer", (r"\bcancer\b", r"\bmalignan\w*", r"\btumou?r\b"), (r"\bcancer\b", r"\bmalignan", r"\btumou?r")),
    Finding("atrial fibrillation", (r"\batrial fibrillation\b", r"\bAFib\b"), (r"\batrial fibrillation\b",
                                                                                        r"\bafib\b")),
    Finding("anticoagulation", (r"\banticoagula\w*", r"\bwarfarin\b", r"\bblood thinners?\b"),
            (r"\banticoagula", r"\bwarfarin\b")),
    Finding("allergy", (r"\ballerg\w*",), (r"\ballerg",)),
    Finding("pregnancy", (r"\bpregnan\w*",), (r"\bpregnan",)),
)  # fmt: skip


@dataclass(frozen=True)
class _Holder:
    """A way the row can hold a finding: a column, and the values of it that do."""

    column: str
    how: str  # "categories" | "yes" | "positive" | "present" | "range"
    values: tuple[str, ...] = ()
    low: float = -_INF
    high: float = _INF


@dataclass(frozen=True)
class FindingRule:
    """A finding of ``FINDINGS`` with the spec's columns that can hold it (``finding_rules`` makes it)."""

    name: str
    said: re.Pattern[str]
    holders: tuple[_Holder, ...]

    def held_by(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` holds the finding."""
        return any(_holds(h, row.get(h.column)) for h in self.holders)

    def shown(self, row: Mapping[str, Any]) -> str:
        """What the row says instead, for the problem line."""
        shown = dict.fromkeys(f"{h.column} {_value_text(row.get(h.column))}" for h in self.holders)
        return "row says " + ", ".join(shown) if shown else "not in the row"


def _value_text(value: Any) -> str:
    if is_missing(value):
        return "empty"
    return f"{float(value):g}" if isinstance(value, (int, float)) else str(value)


def _holds(holder: _Holder, value: Any) -> bool:
    if is_missing(value):
        return False
    if holder.how in ("categories", "yes"):
        return str(value) in holder.values
    if holder.how == "present":
        return not _NONE.match(str(value).strip())
    number = float(value)
    if holder.how == "positive":
        return number > 0
    return holder.low <= number <= holder.high


def _column_words(column: ColumnSpec) -> str:
    return " ".join((column.name.replace("_", " "), column.description, *column.aliases)).lower()


def _holders(finding: Finding, spec: DatasetSpec) -> tuple[_Holder, ...]:
    recorded = re.compile("|".join(finding.recorded_by), re.IGNORECASE)
    out: list[_Holder] = []
    for column in spec.modelled_columns:
        words = _column_words(column)
        if column.kind == "categorical":
            naming = [
                c for c in column.categories or ()
                if recorded.search(" ".join((category_text(c), *column.labels.get(c, ()))))
            ]  # fmt: skip
            if naming:
                out.append(_Holder(column.name, "categories", tuple(naming)))
            elif recorded.search(words):
                yes_no = yes_no_values(column)
                if yes_no is not None:
                    out.append(_Holder(column.name, "yes", tuple(yes_no["yes"])))
                else:
                    out.append(_Holder(column.name, "present"))
        elif column.kind in NUMERIC_KINDS:
            if recorded.search(words):
                out.append(_Holder(column.name, "positive"))
            elif finding.scale is not None and re.search(finding.scale[0], words, re.IGNORECASE):
                out.append(_Holder(column.name, "range", low=finding.scale[1], high=finding.scale[2]))
    return tuple(out)


def finding_rules(spec: DatasetSpec) -> tuple[FindingRule, ...]:
    """The findings of ``FINDINGS`` with the columns of ``spec`` that can hold each (only the spec is read)."""
    return tuple(FindingRule(f.name, re.compile("|".join(f.said), re.IGNORECASE), _holders(f, spec)) for f in FINDINGS)


def finding_problems(narrative: str, row: Mapping[str, Any], rules: tuple[FindingRule, ...]) -> list[str]:
    """One line per finding ``narrative`` states, not negated, that ``row`` does not hold."""
    out: list[str] = []
    for rule in rules:
        for match in rule.said.finditer(narrative):
            before = _CLAUSE_END.split(narrative[max(0, match.start() - 60) : match.start()])[-1]
            if _NEGATED.search(before) or _SAID_NO_AFTER.match(narrative, match.end()):
                continue
            if not rule.held_by(row):
                out.append(f"finding: note says {match.group(0)} ({rule.name}), {rule.shown(row)}")
            break
    return out
