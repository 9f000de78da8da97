"""Reject and redraw: synthetic rows that break a clinical rule are dropped and replaced.

``draw_valid`` asks a sampler for the planned rows of each class, drops the rows that break
a rule of the specification (``traumasynth.constraints``), and asks again for the shortfall of
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

from traumasynth.constraints import ConstraintReport, Rule, check_constraints
from traumasynth.errors import DataError

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
        draw: the sampler, ``draw(counts, seed) -> frame`` (``sampling.sample_rows``).
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
    wanted = {c: int(k) for c, k in counts.items() if k > 0}
    drawn = dict.fromkeys(wanted, 0)
    rejected = dict.fromkeys(wanted, 0)
    per_rule = dict.fromkeys((r.name for r in rules), 0)
    per_rule_class = {c: dict.fromkeys(per_rule, 0) for c in wanted}
    kept: list[pd.DataFrame] = []
    have = dict.fromkeys(wanted, 0)
    frame, rounds = first, 0
    while True:
        rounds += 1
        labels = frame[target].astype(object)
        bad = report.violating
        for c in wanted:
            in_class = (labels == c).to_numpy()
            drawn[c] += int(in_class.sum())
            rejected[c] += int((in_class & bad).sum())
            for name in per_rule:
                hits = int((report.masks[name].to_numpy() & in_class).sum())
                per_rule[name] += hits
                per_rule_class[c][name] += hits
        good = frame[~bad]
        kept.append(good)
        good_counts = good[target].astype(object).value_counts()
        for c in wanted:
            have[c] += int(good_counts.get(c, 0))
        short = {c: wanted[c] - have[c] for c in wanted if have[c] < wanted[c]}
        if not short:
            break
        for c in short:
            rate = rejected[c] / drawn[c] if drawn[c] else 1.0
            if (drawn[c] >= 50 and rate > max_rejection) or rounds >= max_rounds:
                raise DataError(
                    f"Cannot fill class '{c}' with rows that keep the clinical rules: {rejected[c]} of the "
                    f"{drawn[c]} rows drawn ({rate:.0%}) broke a rule after {rounds} round(s) (most broken: "
                    f"{_worst_rules(per_rule_class[c], drawn[c])}). Check the rules against the real data "
                    "(metrics/prepare.json), retrain the model, ask fewer rows of this class, or set "
                    "sample.enforce_constraints: false to release the rows as drawn."
                )
        # Ask for the shortfall inflated by the class's rejection rate so far (at least 10 % more).
        ask = {
            c: math.ceil(1.1 * n / max(1.0 - rejected[c] / max(drawn[c], 1), 1.0 - max_rejection))
            for c, n in short.items()
        }
        frame = draw(ask, _round_seed(seed, rounds))
        report = check_constraints(frame, rules)
    pool = pd.concat(kept, ignore_index=True)
    rank = pool.groupby(pool[target].astype(object), sort=False).cumcount().to_numpy()
    limit = pool[target].astype(object).map(wanted).fillna(0).to_numpy()
    out = pool[rank < limit]
    out = out.iloc[np.random.default_rng(seed).permutation(len(out))].reset_index(drop=True)
    total_drawn, total_rejected = sum(drawn.values()), sum(rejected.values())
    logger.info(
        "Clinical rules: %d of %d rows drawn rejected (%.1f %%) in %d round(s)",
        total_rejected, total_drawn, 100 * total_rejected / max(total_drawn, 1), rounds,
    )  # fmt: skip
    return EnforcedDraw(
        frame=out, first_draw=first_report, drawn=total_drawn, rejected=total_rejected,
        rejected_per_rule=per_rule, rounds=rounds, enforced=True,
    )  # fmt: skip
