"""The columns of a draft: what the header and the codebook say of each, and what the draft makes of it.

``traumasynth.spec.draft`` writes the YAML; this module decides, for each header, its kind and role
from the codebook's type, values and wording first and the header's words next
(``traumasynth.spec.draft_words``), or why it stands commented out: personal data, survey design
(strata, PSUs and weights), code columns (ICD...), free text that is no note, unrecognised headers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from traumasynth.spec import NUMERIC_KINDS
from traumasynth.spec.codebook import CodebookEntry, squash
from traumasynth.spec.draft_words import (
    BODY_WEIGHT,
    FREE_TEXT,
    SURVEY_DESIGN,
    SURVEY_WEIGHT,
    Guess,
    guess_from_header,
    guess_from_wording,
    looks_like_narrative,
    snake_case,
)


@dataclass
class DraftColumn:
    """One header of the file as the draft sees it: its name, what is known of it, and the decision."""

    position: int  # 0-based, in the file
    header: str
    name: str
    source: str | None
    guess: Guess | None
    entry: CodebookEntry | None
    kind: str | None = None
    role: str = "feature"
    notes: dict[str, str] = field(default_factory=dict)  # field -> comment
    left_out: str | None = None  # why it stands commented out


def read_columns(*, headers: list[str], entries: dict[str, CodebookEntry]) -> list[DraftColumn]:
    """One ``DraftColumn`` per header: a unique name, a ``source`` when the header is not the name.

    Args:
        headers: the file's header texts in order.
        entries: codebook entries by ``codebook_key`` of their variable.
    """
    columns: list[DraftColumn] = []
    taken: set[str] = set()
    source: str | None
    for i, raw in enumerate(headers):
        header = raw.strip()
        base = snake_case(header)
        repeated = bool(header) and sum(h.strip() == header for h in headers) > 1
        if not base:
            name, source = f"column_{i + 1}", f"#{i + 1}"
        elif repeated:
            name, source = f"{base}_{i + 1}", f"#{i + 1}"
        else:
            name, source = base, (None if header == base else header)
        while name in taken:
            name = f"{name}_{i + 1}"
        taken.add(name)
        entry = entries.get(f"#{i + 1}") or (entries.get(codebook_key(header)) if header else None)
        columns.append(DraftColumn(i, header, name, source, guess_from_header(base), entry))
    return columns


def codebook_key(variable: str) -> str:
    """How a codebook variable meets a header: ``#N`` names a position, anything else compares squashed."""
    variable = variable.strip()
    return variable if re.fullmatch(r"#\d+", variable) else squash(variable)


def decide(*, column: DraftColumn, cite: str) -> None:
    """Set the column's kind and role from the codebook's type, values and wording, else the header's words; or why
    it is left out.

    Args:
        column: the column, changed in place.
        cite: how comments name the codebook (its file name).
    """
    entry = column.entry
    at = f"{cite} line {entry.line}" if entry else ""
    said = guess_from_wording(entry.wording) if entry else None
    column.kind, note = _kind(entry, column.guess, said, at)
    if note:
        column.notes["kind"] = note
    if entry and entry.type_text and not entry.kind:
        column.notes["kind"] = column.notes.get("kind", "") + f" (type '{entry.type_text}' of {at} not understood)"
    column.role = _role(column, said, at)
    column.left_out = _left_out(column, said, at)


def _listed(entry: CodebookEntry | None) -> bool:
    return bool(entry and entry.categories and len(entry.categories) > 1)


def _kind(
    entry: CodebookEntry | None, guess: Guess | None, said: tuple[Guess, str] | None, at: str
) -> tuple[str | None, str]:
    """The kind and the comment that says where it comes from (None: not modelled)."""
    typed = f" ('{entry.type_text}')" if entry and entry.type_text else ""
    if entry and said and not _listed(entry):
        found, words = said
        fixed = entry.kind in ("identifier", "weight", "text", "datetime") and not entry.loose_kind
        if found.kind in (None, "weight", "identifier", "text") and not fixed:
            return found.kind, f"{at} says '{words}'"
    if entry and entry.kind and not entry.loose_kind:
        return entry.kind, at
    if entry and _listed(entry):
        return "categorical", f"{at}{typed}, with a list of values"
    if entry and said and said[0].kind == "datetime":
        return "datetime", f"{at} says '{said[1]}'"
    if entry and entry.kind:  # a loose word: "numeric", "string", "qualitative"
        if guess and guess.kind in NUMERIC_KINDS and entry.kind in NUMERIC_KINDS:
            return guess.kind, f"{at}{typed}; TODO: {guess.kind} as the header suggests ({guess.why}); check"
        if entry.kind == "text" and guess and guess.kind:
            return guess.kind, f"TODO: guessed ({guess.why}) from the header, {at}{typed}; check"
        return entry.kind, f"{at}{typed}"
    if guess and guess.kind:
        return guess.kind, f"TODO: guessed ({guess.why}) from the header; check"
    if entry and (entry.low is not None or entry.high is not None):
        dates = isinstance(entry.low, dt.date) or isinstance(entry.high, dt.date)
        integers = all(isinstance(v, int) for v in (entry.low, entry.high) if v is not None)
        return "datetime" if dates else "integer" if integers else "continuous", f"TODO: guessed from {at}; check"
    return None, ""


def _role(column: DraftColumn, said: tuple[Guess, str] | None, at: str) -> str:
    entry, guess, kind = column.entry, column.guess, column.kind
    if entry and entry.role:
        return entry.role
    if said and said[0].role == "target" and kind == "categorical":
        column.notes["role"] = (
            f"TODO: guessed from {at} ('{said[1]}'); exactly one categorical column is the class label"
        )
        return "target"
    if kind in ("identifier", "weight"):
        return "excluded"
    if kind == "text":
        narrative = guess is not None and guess.kind == "text" and guess.role == "narrative"
        return (
            "narrative"
            if narrative or looks_like_narrative(column.header, entry.wording if entry else "")
            else ("excluded")
        )
    if guess and guess.kind == kind:
        return guess.role
    return "feature"


def _left_out(column: DraftColumn, said: tuple[Guess, str] | None, at: str) -> str | None:
    """Why the column stands commented out at the end of the draft; None when it is listed."""
    entry, guess, kind = column.entry, column.guess, column.kind
    quoted = f" ({at}: '{said[1]}')" if said else ""
    if kind is None:
        return f"{said[0].why}{quoted}" if said and said[0].kind is None else guess.why if guess else "not recognised"
    if guess and guess.kind is None and not (entry and entry.role) and not (guess.unless_listed and _listed(entry)):
        return guess.why
    if kind == "weight":
        return SURVEY_WEIGHT.why + (quoted if said and said[0] is SURVEY_WEIGHT else "")
    if kind == "text" and column.role == "excluded":
        return FREE_TEXT.why + (quoted if said and said[0] is FREE_TEXT else "")
    if column.role == "excluded" and kind != "identifier":
        return f"role excluded in {at}"
    return None


def keep_one_each(*, columns: list[DraftColumn]) -> None:
    """A spec has one target, one identifier and one narrative at most: the first of each stays (in place)."""
    listed = [c for c in columns if c.left_out is None]
    targets = [c for c in listed if c.role == "target"]
    targets.sort(key=lambda c: (not (c.entry and c.entry.role == "target"), c.position))
    for extra in targets[1:]:
        extra.role = "feature"
        extra.notes["role"] = f"TODO: also looks like the target; '{targets[0].name}' was chosen"
    for target in targets[:1]:
        if target.kind != "categorical":
            target.role = "feature"
    for kind, why in (("identifier", "a second identifier (a spec keeps one)"), ("text", "more free text")):
        for extra in [c for c in listed if c.kind == kind][1:]:
            extra.left_out = why


def weigh_the_sample(*, columns: list[DraftColumn]) -> None:
    """A ``Weight`` header beside strata and PSUs is the survey weight, not a body weight (in place)."""
    if any(c.guess is SURVEY_DESIGN for c in columns):
        for column in columns:
            if column.guess is BODY_WEIGHT and "kg" not in column.name.split("_"):
                column.guess = SURVEY_WEIGHT
