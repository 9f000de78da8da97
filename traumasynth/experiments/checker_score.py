"""How well the fact checker finds contradictions, measured on a hand-labelled set of notes.

A labelled item is a note, the row it was written from and the facts a reader found contradicted
(``tests/data/checker_labels/labels.jsonl``, rules in ``LABELLING.md`` beside it). For each
fact, a true positive is a labelled contradiction the checker also reports, a false positive one
it reports that the labels do not have, a false negative one it misses:

- ``recall`` = TP / (TP + FN): share of real contradictions caught (0..1, maximise);
- ``precision`` = TP / (TP + FP): share of reported contradictions that are real (0..1, maximise).

``recall`` is None for a fact with no labelled contradiction, ``precision`` for one the checker
never reported. The figures are written to ``metrics/checker/<dataset>.json`` and quoted by
``evaluate`` beside the faithfulness rate (which counts only what the checker catches); those of
the checker made from the spec (``spec_lexicon``) to ``metrics/checker/<dataset>_spec.json``.
Any labelled file plugs in: ``python tools/score_checker.py --labels <file> --dataset <name>``.

The unsupported-statement and loop checks (``checking.unsupported``, ``checking.loops``) are
judged per note on a set labelled with ``unsupported`` and ``loop`` (``tests/data/statement_labels/``):

- ``recall`` = flagged notes among those labelled unsupported (0..1, maximise);
- ``false_positive_rate`` = flagged notes among those labelled clean (0..1, minimise);

and the same two for loops; ``recall_by_kind`` per kind of planted error.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.narrate.checking.factcheck import check_narrative
from traumasynth.narrate.checking.facts import Lexicon, load_lexicon
from traumasynth.narrate.checking.spec_lexicon import spec_lexicon
from traumasynth.narrate.checking.unsupported import SupportRules
from traumasynth.spec import DatasetSpec
from traumasynth.spec.ids import NARRATIVE_ID, row_ids

T = TypeVar("T")


@dataclass(frozen=True)
class LabelledNote:
    """One note of the labelled set: its row, its text and the facts it contradicts."""

    id: str
    source: str
    row: Mapping[str, Any]
    narrative: str
    contradicted: frozenset[str]


@dataclass(frozen=True)
class FactScore:
    """Counts of one fact (or of all facts together)."""

    tp: int
    fp: int
    fn: int

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


@dataclass(frozen=True)
class CheckerScore:
    """The checker's contradictions against the labels: overall, per fact, and the misses."""

    overall: FactScore
    per_fact: dict[str, FactScore]
    items: int
    misses: tuple[tuple[str, str], ...]  # (item id, fact) labelled but not reported
    false_alarms: tuple[tuple[str, str], ...]  # (item id, fact) reported but not labelled

    def table(self) -> str:
        """A plain-text table: one line per fact, then the overall line."""

        def fmt(x: float | None) -> str:
            return "  -  " if x is None else f"{x:.3f}"

        width = max([14, *(len(n) for n in self.per_fact)])
        lines = [f"{'fact':<{width}} {'TP':>4} {'FP':>4} {'FN':>4}  recall  precision"]
        for name, s in [*sorted(self.per_fact.items()), ("OVERALL", self.overall)]:
            lines.append(f"{name:<{width}} {s.tp:>4} {s.fp:>4} {s.fn:>4}  {fmt(s.recall):>6}  {fmt(s.precision):>9}")
        return "\n".join(lines)

    def to_json(self, *, dataset: str, lexicon: str | None = None) -> dict[str, Any]:
        """The figures ``metrics/checker/<dataset>.json`` holds (rounded to 4 places).

        ``lexicon`` (e.g. ``"spec"``, ``"hand"``) is recorded when given.
        """

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "dataset": dataset,
            **({"lexicon": lexicon} if lexicon is not None else {}),
            "items": self.items,
            "contradictions_labelled": self.overall.tp + self.overall.fn,
            "recall": r(self.overall.recall),
            "precision": r(self.overall.precision),
            "per_fact": {
                name: {"tp": s.tp, "fp": s.fp, "fn": s.fn, "recall": r(s.recall), "precision": r(s.precision)}
                for name, s in sorted(self.per_fact.items())
            },
        }


def _read_labels(path: Path, note: Callable[[dict[str, Any]], T]) -> list[T]:
    """One ``note(item)`` per JSON line of a labelled set; every bad line reported at once.

    Raises:
        DataError: a line is not valid JSON or lacks a key ``note`` reads.
    """
    notes: list[T] = []
    problems: list[str] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            notes.append(note(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(f"line {n}: {exc!r}")
    if problems:
        raise DataError(f"The labelled set {path} has {len(problems)} bad lines ({'; '.join(problems[:5])}). Fix them.")
    return notes


def load_labelled(path: Path) -> list[LabelledNote]:
    """Read a labelled set (JSON lines with ``id``, ``source``, ``row``, ``narrative``, ``contradicted``).

    Raises:
        DataError: a line is not valid JSON or lacks one of those keys.
    """
    return _read_labels(
        path,
        lambda item: LabelledNote(
            id=str(item["id"]),
            source=str(item["source"]),
            row=dict(item["row"]),
            narrative=str(item["narrative"]),
            contradicted=frozenset(item["contradicted"]),
        ),
    )


def restrict(lexicon: Lexicon, columns: Iterable[str]) -> Lexicon:
    """``lexicon`` with only the facts that read ``columns`` (the columns a labelled set was labelled on)."""
    keep = set(columns)
    return lexicon.model_copy(update={"facts": tuple(r for r in lexicon.facts if r.column in keep)})


def score_checker(
    *, notes: Iterable[LabelledNote], lexicon: Lexicon, label_lexicon: Lexicon | None = None
) -> CheckerScore:
    """Run the checker on every labelled note and count its contradictions against the labels, per fact.

    Args:
        notes: the labelled set.
        lexicon: the lexicon scored.
        label_lexicon: the lexicon whose fact names the labels use, when ``lexicon`` names its facts
            otherwise (one made from the spec names a fact after its column: ``alcohol_suspected``
            for the hand-written ``alcohol``). Facts are then compared, and reported, per column.
    """
    label_column = {r.name: r.column for r in label_lexicon.facts} if label_lexicon is not None else None
    fact_column = {r.name: r.column for r in lexicon.facts}
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    misses: list[tuple[str, str]] = []
    alarms: list[tuple[str, str]] = []
    count = 0
    for note in notes:
        count += 1
        check = check_narrative(narrative=note.narrative, row=note.row, lexicon=lexicon)
        reported = {c.split(":", 1)[0] for c in check.contradictions}
        if label_column is not None:
            reported = {fact_column[f] for f in reported}
            note = replace(note, contradicted=frozenset(label_column.get(f, f) for f in note.contradicted))
        for fact in reported & note.contradicted:
            tp[fact] += 1
        for fact in sorted(reported - note.contradicted):
            fp[fact] += 1
            alarms.append((note.id, fact))
        for fact in sorted(note.contradicted - reported):
            fn[fact] += 1
            misses.append((note.id, fact))
    names = set(tp) | set(fp) | set(fn)
    per_fact = {name: FactScore(tp=tp[name], fp=fp[name], fn=fn[name]) for name in names}
    overall = FactScore(tp=sum(tp.values()), fp=sum(fp.values()), fn=sum(fn.values()))
    return CheckerScore(
        overall=overall, per_fact=per_fact, items=count, misses=tuple(misses), false_alarms=tuple(alarms)
    )


def score_hand_and_spec(
    *, notes: list[LabelledNote], spec: DatasetSpec, lexicons_dir: Path = layout.LEXICONS
) -> dict[str, CheckerScore]:
    """Score the hand-written lexicon of ``spec`` (when there is one) and the one made from the spec, per column.

    The labels name facts as the hand-written lexicon does (``alcohol`` for ``alcohol_suspected``);
    both checkers are compared per column, and the spec's lexicon keeps only the columns the set
    was labelled on (a row of the set holds only those).

    Returns:
        ``{"hand": ..., "spec": ...}`` (``hand`` absent when the project has no lexicon for the dataset,
        whose labels must then name columns).
    """
    hand = load_lexicon(dataset=spec.name, directory=lexicons_dir)
    columns = set().union(*(n.row for n in notes)) if notes else set()
    made = restrict(spec_lexicon(spec), columns)
    out: dict[str, CheckerScore] = {}
    if hand is not None:
        out["hand"] = score_checker(notes=notes, lexicon=hand, label_lexicon=hand)
    out["spec"] = score_checker(notes=notes, lexicon=made, label_lexicon=hand if hand is not None else made)
    return out


@dataclass(frozen=True)
class StatementNote:
    """One note of a statement-labelled set: its row, text, kind, and whether it is unsupported or loops."""

    id: str
    kind: str
    row: Mapping[str, Any]
    narrative: str
    unsupported: bool
    loop: bool


def load_statement_labels(path: Path) -> list[StatementNote]:
    """Read a set labelled for unsupported statements (JSON lines: ``id``, ``kind``, ``row``, ``narrative``,
    ``unsupported``, ``loop``).

    Raises:
        DataError: a line is not valid JSON or lacks one of those keys.
    """
    return _read_labels(
        path,
        lambda item: StatementNote(
            id=str(item["id"]), kind=str(item["kind"]), row=dict(item["row"]), narrative=str(item["narrative"]),
            unsupported=bool(item["unsupported"]), loop=bool(item["loop"]),
        ),
    )  # fmt: skip


@dataclass(frozen=True)
class FlagScore(FactScore):
    """Notes flagged and not, against a yes/no label: a ``FactScore`` with the true negatives."""

    tn: int

    @property
    def false_positive_rate(self) -> float | None:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None


@dataclass(frozen=True)
class StatementScore:
    """The unsupported check and the loop check against a labelled set."""

    items: int
    unsupported: FlagScore
    loop: FlagScore
    recall_by_kind: dict[str, float]
    misses: tuple[str, ...]  # ids labelled unsupported or looping and not flagged
    false_alarms: tuple[str, ...]  # ids flagged and labelled clean

    def to_json(self) -> dict[str, Any]:
        """The figures, rounded to 4 places."""

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "items": self.items,
            "unsupported_recall": r(self.unsupported.recall),
            "unsupported_false_positive_rate": r(self.unsupported.false_positive_rate),
            "loop_recall": r(self.loop.recall),
            "loop_false_positive_rate": r(self.loop.false_positive_rate),
            "recall_by_kind": {k: round(v, 4) for k, v in sorted(self.recall_by_kind.items())},
            "misses": list(self.misses),
            "false_alarms": list(self.false_alarms),
        }


def _flags(pairs: list[tuple[bool, bool]]) -> FlagScore:
    """``pairs`` of (labelled, flagged)."""
    return FlagScore(
        tp=sum(a and b for a, b in pairs), fp=sum(b and not a for a, b in pairs),
        fn=sum(a and not b for a, b in pairs), tn=sum(not a and not b for a, b in pairs),
    )  # fmt: skip


def score_statements(*, notes: Iterable[StatementNote], rules: SupportRules) -> StatementScore:
    """Run the unsupported and loop checks on every labelled note and count them against the labels."""
    said: list[tuple[bool, bool]] = []
    looped: list[tuple[bool, bool]] = []
    by_kind: dict[str, list[bool]] = {}
    misses: list[str] = []
    alarms: list[str] = []
    for note in notes:
        check = rules.check(narrative=note.narrative, row=note.row)
        flagged, loop = bool(check.unsupported), check.loop is not None
        said.append((note.unsupported, flagged))
        looped.append((note.loop, loop))
        if note.unsupported or note.loop:
            by_kind.setdefault(note.kind, []).append(flagged if note.unsupported else loop)
        if (note.unsupported and not flagged) or (note.loop and not loop):
            misses.append(note.id)
        if (flagged and not note.unsupported) or (loop and not note.loop):
            alarms.append(note.id)
    return StatementScore(
        items=len(said), unsupported=_flags(said), loop=_flags(looped),
        recall_by_kind={k: sum(v) / len(v) for k, v in by_kind.items()}, misses=tuple(misses),
        false_alarms=tuple(alarms),
    )  # fmt: skip


def unsupported_on_narratives(
    *, narratives: pd.DataFrame, synthetic: pd.DataFrame, spec: DatasetSpec
) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    """The unsupported check and the loop check run on a narration output against its synthetic rows.

    Returns:
        (row id, note, unsupported statements, loop) per narrative, in file order.
    """
    rules = SupportRules.from_spec(spec)
    rows = synthetic.assign(_id=row_ids(synthetic, spec)).set_index("_id")
    out = []
    for row_id, text in zip(narratives[NARRATIVE_ID].astype(str), narratives["narrative"].astype(str), strict=True):
        check = rules.check(narrative=text, row=rows.loc[row_id].to_dict())
        out.append((row_id, text, check.unsupported, check.loop))
    return out
