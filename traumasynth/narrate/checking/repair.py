"""Targeted repair of a narrative: cut what the row does not hold, then check again.

A 270M model gets most of a note right and one detail wrong ("brought in by ambulance" when
the patient walked in, "was in the ICU for 18 hours" when the row says 60.8). Throwing the
whole note away and sampling another wastes the tokens of everything it got right, and the
next draw has its own slip. Instead the repair cuts, in this order:

1. **the loop** (``loops.py``): from the clause that holds the first repeat of the looping
   phrase to the end of the note ("fell at home. No, No, No, No." -> "fell at home. No."; a
   small model that loops goes on until ``max_tokens``), again while what is left loops;
2. **each clause** (text between commas and semicolons) that contradicts the row on its own
   or states an unsupported number, date, time or code (``unsupported.py``; only when the
   caller gives the spec's ``SupportRules``); a sentence whose unsupported statement no single
   clause holds (a figure read with words from another clause) is cut whole;

a sentence left with no clause is dropped, and the shortened note is checked again as a whole
(contradictions, unsupported statements, loop). The words that remain are the model's: nothing
is written from a template, so the note still reads as a clinician's note, only with fewer
details. A note that still fails the fresh check is handled by the runner (another candidate,
else the fallback note of ``fallback.py``).

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
from traumasynth.narrate.checking.loops import loop_start
from traumasynth.narrate.checking.unsupported import StatementCheck, SupportRules

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
        clauses_cut: clauses cut from it (contradicted, unsupported or looping).
        statements: the fresh check of ``text`` for unsupported statements and a loop (None: not checked).
        draft_statements: the same check of the note as generated (None: not checked).
    """

    text: str
    check: FactCheck
    draft_contradictions: int
    clauses_cut: int
    statements: StatementCheck | None = None
    draft_statements: StatementCheck | None = None


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s.strip()]


def _clauses(sentence: str) -> list[str]:
    return [c for c in _CLAUSE.split(sentence) if c.strip()]


def _join_sentence(clauses: list[str], *, ended: str) -> str:
    body = ", ".join(c.strip().rstrip(".!?") for c in clauses)
    return body[:1].upper() + body[1:] + ended


def _count_clauses(text: str) -> int:
    return sum(len(_clauses(s)) for s in _sentences(text))


def _tidy(text: str) -> str:
    """``text`` as whole sentences: each sentence's clauses joined again, ended by a full stop."""
    out = []
    for sentence in _sentences(text):
        clauses = [c for c in _clauses(sentence) if c.strip(" ,;")]
        if clauses:
            ended = sentence.strip()[-1] if sentence.strip()[-1:] in ".!?" else "."
            out.append(_join_sentence(clauses, ended=ended))
    return " ".join(out)


def cut_loop(text: str) -> str:
    """``text`` without its looping part: the clauses from the one holding the loop's first repeat on."""
    while (start := loop_start(text)) is not None:
        kept = text[:start].rstrip()
        if kept and kept[-1] not in ",;.!?":  # the repeat starts inside a clause: that clause goes too
            boundary = max((m.end() for m in re.finditer(r"[,;]\s|[.!?]\s", kept)), default=0)
            kept = kept[:boundary]
        text = _tidy(kept)
    return text


def _unsupported(text: str, row: Mapping[str, Any], statements: SupportRules | None) -> bool:
    return statements is not None and bool(statements.check(narrative=text, row=row).unsupported)


def _wrong(text: str, row: Mapping[str, Any], lexicon: Lexicon, statements: SupportRules | None) -> bool:
    return bool(check_narrative(narrative=text, row=row, lexicon=lexicon).contradictions) or _unsupported(
        text, row, statements
    )


def repair_narrative(
    *, narrative: str, row: Mapping[str, Any], lexicon: Lexicon, statements: SupportRules | None = None
) -> Repaired:
    """Cut the loop and every clause of ``narrative`` that the row does not hold, and check the rest again.

    Args:
        narrative: the generated note.
        row: the synthetic row it was written from.
        lexicon: the fact vocabulary the checker reads.
        statements: the spec's rules for unsupported statements and loops; None cuts only
            contradicted clauses (the note is not checked for them).

    Returns:
        The note unchanged (with its checks) when the row holds all of it; else the shortened
        note and fresh checks of it. The fresh check may still find a contradiction that only
        the whole note states (a pronoun across sentences); the caller then treats the note as
        it would any unfaithful candidate.
    """
    check = check_narrative(narrative=narrative, row=row, lexicon=lexicon)
    said = statements.check(narrative=narrative, row=row) if statements is not None else None
    if not check.contradictions and (said is None or not said.problems):
        return Repaired(narrative, check, 0, 0, said, said)
    text = cut_loop(narrative) if said is not None and said.loop is not None else narrative
    kept_sentences: list[str] = []
    for sentence in _sentences(text):
        if not _wrong(sentence, row, lexicon, statements):
            kept_sentences.append(sentence.strip())
            continue
        ended = sentence.strip()[-1] if sentence.strip()[-1:] in ".!?" else "."
        kept = [c for c in _clauses(sentence) if not _wrong(c, row, lexicon, statements)]
        if kept and _unsupported(_join_sentence(kept, ended=ended), row, statements):
            kept = []  # read only with words of another clause: the sentence goes
        if kept:
            kept_sentences.append(_join_sentence(kept, ended=ended))
    text = " ".join(kept_sentences)
    cut = _count_clauses(narrative) - _count_clauses(text)
    fresh = statements.check(narrative=text, row=row) if statements is not None else None
    return Repaired(
        text, check_narrative(narrative=text, row=row, lexicon=lexicon), len(check.contradictions), cut, fresh, said
    )
