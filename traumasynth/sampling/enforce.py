"""Reject and redraw: synthetic rows that break a clinical rule are dropped and replaced.

``draw_valid`` asks a sampler for the planned rows of each class, drops the rows that break
a rule of the specification (``traumasynth.spec.constraints``), and asks again for the shortfall of
each class, inflated by that class's rejection rate so far, until every class is filled. Each
round has its own seed derived from the stage seed, and the rows kept are the first valid ones
of each class in drawing order, then shuffled with the seed: the same inputs give the same
rows. A class the model can hardly fill (over ``max_rejection`` of its rows rejected, or still
short after ``max_rounds`` rounds) stops the stage with an error naming the rules at fault.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.spec.constraints import ConstraintReport, Rule, check_constraints

logger = logging.getLogger(__name__)

#: ``draw(counts, seed)`` returns ``counts[c]`` rows of each class ``c``.
Draw = Callable[[dict[str, int], int], pd.DataFrame]


@dataclass(frozen=True)
class EnforcedDraw:
    """The rows kept and what enforcing the rules cost.

    Attributes:
        frame: the rows released (all valid when ``enforced``).
        first_draw: the rules checked on the first draw, the rows as the model produced them
            in the planned class mix: the honest violation rate of the model.
        drawn: rows drawn over all rounds.
        rejected: rows dropped for breaking at least one rule.
        rejected_per_rule: rows drawn that broke each rule (a row may break several).
        rounds: sampling rounds (1 when nothing was rejected or nothing enforced).
        enforced: whether rows breaking a rule were dropped.
    """

    frame: pd.DataFrame
    first_draw: ConstraintReport
    drawn: int
    rejected: int
    rejected_per_rule: dict[str, int]
    rounds: int
    enforced: bool

    @property
    def rejection_rate(self) -> float:
        """Share of the rows drawn that were dropped (goal: minimise; range 0..1)."""
        return self.rejected / self.drawn if self.drawn else 0.0

    def to_metrics(self) -> dict[str, Any]:
        """JSON form: pre-enforcement violation rates (first draw) and the rejection rates (all rounds)."""
        return {
            "enforced": self.enforced,
            "violation_rate": round(self.first_draw.violation_rate, 6),
            "violation_rate_per_rule": {k: round(v, 6) for k, v in self.first_draw.rates.items()},
            "rows_drawn": self.drawn,
            "rows_rejected": self.rejected,
            "rejection_rate": round(self.rejection_rate, 6),
            "rejection_rate_per_rule": {
                k: round(n / self.drawn, 6) if self.drawn else 0.0 for k, n in self.rejected_per_rule.items()
            },
            "rounds": self.rounds,
        }


def _round_seed(seed: int, round_: int) -> int:
    """Seed of a redraw round (round 0 uses ``seed`` itself, so an unenforced draw is unchanged)."""
    if round_ == 0:
        return seed
    return int(np.random.SeedSequence([seed, 7919, round_]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _worst_rules(report_counts: dict[str, int], drawn: int) -> str:
    worst = sorted(report_counts.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name} {n / drawn:.0%}" for name, n in worst if n > 0) or "none"


class _Tally:
    """What a reject-and-redraw loop has drawn, rejected and kept so far, per wanted class.

    Args:
        wanted: rows wanted per class (classes with a positive count only).
        rules: the names of the specification's rules.
    """

    def __init__(self, *, wanted: dict[str, int], rules: tuple[str, ...]) -> None:
        self.wanted = wanted
        self.drawn = dict.fromkeys(wanted, 0)
        self.rejected = dict.fromkeys(wanted, 0)
        self.per_rule = dict.fromkeys(rules, 0)
        self.per_rule_class = {c: dict.fromkeys(self.per_rule, 0) for c in wanted}
        self.have = dict.fromkeys(wanted, 0)
        self.kept: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, report: ConstraintReport, *, target: str) -> None:
        """Count one round's rows (drawn, rejected, per rule) and keep its valid ones."""
        labels = frame[target].astype(object)
        bad = report.violating
        for c in self.wanted:
            in_class = (labels == c).to_numpy()
            self.drawn[c] += int(in_class.sum())
            self.rejected[c] += int((in_class & bad).sum())
            for name in self.per_rule:
                hits = int((report.masks[name].to_numpy() & in_class).sum())
                self.per_rule[name] += hits
                self.per_rule_class[c][name] += hits
        good = frame[~bad]
        self.kept.append(good)
        good_counts = good[target].astype(object).value_counts()
        for c in self.wanted:
            self.have[c] += int(good_counts.get(c, 0))

    def short(self) -> dict[str, int]:
        """Valid rows still missing per class (empty when every class is filled)."""
        return {c: self.wanted[c] - self.have[c] for c in self.wanted if self.have[c] < self.wanted[c]}

    def check_fillable(self, short: dict[str, int], *, rounds: int, max_rounds: int, max_rejection: float) -> None:
        """Raise DataError for the first short class that rejects too much or has run out of rounds."""
        for c in short:
            rate = self.rejected[c] / self.drawn[c] if self.drawn[c] else 1.0
            if (self.drawn[c] >= 50 and rate > max_rejection) or rounds >= max_rounds:
                raise DataError(
                    f"Cannot fill class '{c}' with rows that keep the clinical rules: {self.rejected[c]} of the "
                    f"{self.drawn[c]} rows drawn ({rate:.0%}) broke a rule after {rounds} round(s) (most broken: "
                    f"{_worst_rules(self.per_rule_class[c], self.drawn[c])}). Check the rules against the real data "
                    "(metrics/prepare.json), retrain the model, ask fewer rows of this class, or set "
                    "sample.enforce_constraints: false to release the rows as drawn."
                )

    def ask(self, short: dict[str, int], *, max_rejection: float) -> dict[str, int]:
        """Rows to draw next: the shortfall inflated by the class's rejection rate so far (at least 10 % more)."""
        return {
            c: math.ceil(1.1 * n / max(1.0 - self.rejected[c] / max(self.drawn[c], 1), 1.0 - max_rejection))
            for c, n in short.items()
        }

    def keep(self, *, target: str, seed: int) -> pd.DataFrame:
        """The first ``wanted[c]`` valid rows of each class in drawing order, shuffled with ``seed``."""
        pool = pd.concat(self.kept, ignore_index=True)
        rank = pool.groupby(pool[target].astype(object), sort=False).cumcount().to_numpy()
        limit = pool[target].astype(object).map(self.wanted).fillna(0).to_numpy()
        out = pool[rank < limit]
        return out.iloc[np.random.default_rng(seed).permutation(len(out))].reset_index(drop=True)


def draw_valid(
    *,
    draw: Draw,
    counts: dict[str, int],
    rules: tuple[Rule, ...],
    target: str,
    seed: int,
    enforce: bool = True,
    max_rounds: int = 20,
    max_rejection: float = 0.95,
) -> EnforcedDraw:
    """Draw ``counts[c]`` rows of each class, none breaking a rule when ``enforce`` is set.

    Args:
        draw: the sampler, ``draw(counts, seed) -> frame`` (``sampling.draw.sample_rows``).
        counts: rows wanted per class.
        rules: the specification's ``constraints``.
        target: the class column.
        seed: the stage seed; each redraw round derives its own from it.
        enforce: drop and redraw rows that break a rule; ``False`` only measures them.
        max_rounds: rounds of drawing allowed before giving up.
        max_rejection: a class whose drawn rows break a rule more often than this (after at
            least 50 rows) cannot be filled in reasonable time: stop with an error.

    Raises:
        DataError: a class cannot be filled (names the class and the rules it breaks most).
    """
    first = draw(counts, seed)
    report = first_report = check_constraints(first, rules)
    if not enforce or not rules or not report.violating.any():
        return EnforcedDraw(
            frame=first, first_draw=report, drawn=len(first), rejected=0,
            rejected_per_rule={r.name: 0 for r in rules}, rounds=1, enforced=enforce,
        )  # fmt: skip
    tally = _Tally(wanted={c: int(k) for c, k in counts.items() if k > 0}, rules=tuple(r.name for r in rules))
    frame, rounds = first, 0
    while True:
        rounds += 1
        tally.add(frame, report, target=target)
        short = tally.short()
        if not short:
            break
        tally.check_fillable(short, rounds=rounds, max_rounds=max_rounds, max_rejection=max_rejection)
        frame = draw(tally.ask(short, max_rejection=max_rejection), _round_seed(seed, rounds))
        report = check_constraints(frame, rules)
    out = tally.keep(target=target, seed=seed)
    total_drawn, total_rejected = sum(tally.drawn.values()), sum(tally.rejected.values())
    logger.info(
        "Clinical rules: %d of %d rows drawn rejected (%.1f %%) in %d round(s)",
        total_rejected, total_drawn, 100 * total_rejected / max(total_drawn, 1), rounds,
    )  # fmt: skip
    return EnforcedDraw(
        frame=out, first_draw=first_report, drawn=total_drawn, rejected=total_rejected,
        rejected_per_rule=tally.per_rule, rounds=rounds, enforced=True,
    )  # fmt: skip
