"""Targeted repair of a narrative: cut the clauses that contradict the row, then check again.

A 270M model gets most of a note right and one detail wrong ("brought in by ambulance" when
the patient walked in). Throwing the whole note away and sampling another wastes the tokens
of everything it got right, and the next draw has its own slip. Instead, each sentence is
split into clauses (at commas and semicolons); a clause whose facts contradict the row on
its own is cut, a sentence left with no clause is dropped, and the shortened note is checked
again as a whole. The words that remain are the model's: nothing is written from a template,
so the note still reads as a clinician's note, only with fewer details.

A clause that is checked alone is read strictly: its first words count as the note's first
sentence (where sex is stated), so "his" or "woman" in a clause about a relative is cut too
when it disagrees with the row. Cutting more than needed loses a detail; cutting less would
keep a wrong fact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traumasynth.narrate.checking.factcheck import FactCheck, check_narrative
from traumasynth.narrate.checking.facts import Lexicon

# A sentence ends at a full stop not inside a number ("37.5"), or "!"/"?", followed by a space.
_SENTENCE = re.compile(r"(?<=[^\d][.!?])\s+|(?<=\d[.!?])\s+(?=[A-Z])")
# A clause ends at a comma or semicolon not inside a number ("1,000").
_CLAUSE = re.compile(r"(?<!\d)[,;]\s*|[,;](?!\d)\s*")


@dataclass(frozen=True)
class Repaired:
    """A note after repair.

    Attributes:
        text: the note as kept (unchanged when it contradicted nothing).
        check: the fresh check of ``text``.
        draft_contradictions: facts the note as generated contradicted.
        clauses_cut: clauses cut from it.
    """

    text: str
    check: FactCheck
    draft_contradictions: int
    clauses_cut: int


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s.strip()]


def _clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE.split(sentence) if c.strip()]


def _join_sentence(clauses: list[str], *, ended: str) -> str:
    body = ", ".join(c.strip().rstrip(".!?") for c in clauses)
    return body[:1].upper() + body[1:] + ended


def repair_narrative(*, narrative: str, row: Mapping[str, Any], lexicon: Lexicon) -> Repaired:
    """Cut every clause of ``narrative`` that contradicts ``row`` and check the rest again.

    Args:
        narrative: the generated note.
        row: the synthetic row it was written from.
        lexicon: the fact vocabulary the checker reads.

    Returns:
        The note unchanged (with its check) when nothing contradicts the row; else the
        shortened note and a fresh check of it. The fresh check may still find a
        contradiction that only the whole note states (a pronoun across sentences); the
        caller then treats the note as it would any unfaithful candidate.
    """
    check = check_narrative(narrative=narrative, row=row, lexicon=lexicon)
    if not check.contradictions:
        return Repaired(narrative, check, 0, 0)
    kept_sentences: list[str] = []
    cut = 0
    for sentence in _sentences(narrative):
        if not check_narrative(narrative=sentence, row=row, lexicon=lexicon).contradictions:
            kept_sentences.append(sentence.strip())
            continue
        ended = sentence.strip()[-1] if sentence.strip()[-1:] in ".!?" else "."
        kept: list[str] = []
        for clause in _clauses(sentence):
            if check_narrative(narrative=clause, row=row, lexicon=lexicon).contradictions:
                cut += 1
            else:
                kept.append(clause)
        if kept:
            kept_sentences.append(_join_sentence(kept, ended=ended))
    text = " ".join(kept_sentences)
    return Repaired(text, check_narrative(narrative=text, row=row, lexicon=lexicon), len(check.contradictions), cut)
