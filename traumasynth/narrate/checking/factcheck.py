"""Compare what a narrative states with the row it was written from.

A **contradiction** is a stated fact that disagrees with the row ("note says male, row says
female", or a heart rate stated where the row has none). An **omission** is a core fact
(age, sex, mechanism) the note does not state. The faithfulness score is

    agreed / (agreed + contradicted + omitted core facts)

in [0, 1] (goal: maximise); 1.0 means every fact the note states is right and every core
fact is stated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from traumasynth.narrate.checking.facts import FactRule, Lexicon, WrittenNumber, extract_facts, written_as


@dataclass(frozen=True)
class FactCheck:
    """The verdict on one narrative.

    Attributes:
        score: faithfulness in [0, 1] (see the module docstring).
        contradictions: one line per contradicted fact, e.g. ``"sex: note says male, row says female"``.
        omissions: core facts the note does not state.
        agreed: facts stated and right.
    """

    score: float
    contradictions: tuple[str, ...]
    omissions: tuple[str, ...]
    agreed: tuple[str, ...]

    @property
    def faithful(self) -> bool:
        """No contradiction at all."""
        return not self.contradictions

    def contradicts(self, names: tuple[str, ...]) -> bool:
        """Whether a contradiction concerns one of the facts ``names``."""
        return any(c.split(":", 1)[0] in names for c in self.contradictions)

    def rank(self) -> tuple[int, int, float]:
        """Sort key: fewer contradictions, then fewer omissions, then higher score."""
        return (len(self.contradictions), len(self.omissions), -self.score)


def _missing(value: Any) -> bool:
    return value is None or bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _show(value: str | float) -> str:
    return f"{value:g}" if isinstance(value, float) else value


def _judge(rule: FactRule, stated: set[str | float], truth: Any, denied: set[str] | None = None) -> str | None:
    """None if ``stated`` agrees with ``truth`` (and ``denied`` does not deny it), else the contradiction's text."""
    if denied and not _missing(truth):
        refused = denied & {str(truth), *rule.entails.get(str(truth), ())}
        if refused:
            return f"{rule.name}: note denies {', '.join(sorted(refused))}, row says {truth}"
    if not stated:
        return None
    said = ", ".join(sorted(_show(v) for v in stated))
    if rule.kind == "number":
        if _missing(truth):
            if all(float(v) == 0 for v in stated):
                return None  # "no ventilation" for a value left empty: nothing to contradict
            return f"{rule.name}: note says {said}, row has no value"
        bad = [v for v in stated if not _number_agrees(rule, v, float(truth))]
        return f"{rule.name}: note says {said}, row says {_show(float(truth))}" if bad else None
    if _missing(truth):
        return None  # a nullable category left empty: nothing to contradict
    ok = {str(truth), *rule.compatible.get(str(truth), ())}
    agrees = any(v in ok for v in stated) if rule.match == "any" else all(v in ok for v in stated)
    return None if agrees else f"{rule.name}: note says {said}, row says {truth}"


def _number_agrees(rule: FactRule, stated: str | float, truth: float) -> bool:
    """Within the rule's tolerance, or (a ``rounded`` rule) the row's value at the precision the note writes."""
    if math.isclose(float(stated), truth, abs_tol=rule.tolerance + 1e-9):
        return True
    return rule.rounded and isinstance(stated, WrittenNumber) and written_as(float(stated), stated.decimals, truth)


def _excused(rule: FactRule, stated: set[str | float], truth: Any, row: Mapping[str, Any]) -> set[str | float]:
    """``stated`` less the values the rule's ``also`` reads as another column's, true in ``row``."""
    if not rule.also or not stated:
        return stated
    ok = {str(truth), *rule.compatible.get(str(truth), ())}
    kept: set[str | float] = set()
    for value in stated:
        other = [a.split("=", 1) for a in rule.also.get(str(value), ())]
        if str(value) in ok or not any(str(row.get(col)) == val for col, val in other):
            kept.add(value)
    return kept


def _out_of_range(name: str, ranges: set[tuple[str, float, float]], truth: Any) -> str | None:
    """The contradiction when a word of the note states a range the row's number is outside ("drowsy", GCS 15)."""
    if not ranges or _missing(truth):
        return None
    wrong = sorted(word for word, low, high in ranges if not low <= float(truth) <= high)
    return f"{name}: note says {', '.join(wrong)}, row says {_show(float(truth))}" if wrong else None


def check_narrative(*, narrative: str, row: Mapping[str, Any], lexicon: Lexicon) -> FactCheck:
    """Check one narrative against its row.

    Args:
        narrative: the generated note.
        row: the synthetic row (column -> value) the note was written from.
        lexicon: the dataset's fact vocabulary.

    Returns:
        The score, contradictions, omissions and agreed facts.
    """
    stated = extract_facts(text=narrative, lexicon=lexicon)
    by_name: dict[str, FactRule] = {}
    for rule in lexicon.facts:
        by_name.setdefault(rule.name, rule)
    contradictions: list[str] = []
    agreed: list[str] = []
    omissions: list[str] = []
    for name, rule in by_name.items():
        values = stated.get(name)
        denied = stated.get_denied(name)
        truth = row.get(rule.column)
        out_of_range = _out_of_range(name, stated.get_ranges(name), truth)
        if out_of_range:
            contradictions.append(out_of_range)
            continue
        if not values and not denied:
            if rule.core and not _missing(truth):
                omissions.append(name)
            continue
        values = _excused(rule, values, truth, row)
        if not values and not denied:
            continue
        verdict = _judge(rule, values, truth, denied)
        if not verdict and not values:  # only denials, none of the row's value: neither agreed nor wrong
            if rule.core and not _missing(truth):
                omissions.append(name)
            continue
        (contradictions if verdict else agreed).append(verdict or name)
    total = len(agreed) + len(contradictions) + len(omissions)
    return FactCheck(
        score=len(agreed) / total if total else 0.0,
        contradictions=tuple(contradictions),
        omissions=tuple(omissions),
        agreed=tuple(agreed),
    )
