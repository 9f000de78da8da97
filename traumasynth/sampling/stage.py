"""The ``sample`` stage: plan the class counts, draw the main and augment tables, compose the budget.

``generate_synthetic`` does the work in memory; ``run`` reads the stage's inputs and writes
its outputs (the strategies are described in ``traumasynth.sampling``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core.io import write_json_atomic, write_parquet_atomic
from traumasynth.models import Synthesizer
from traumasynth.privacy.histogram import HistogramRelease
from traumasynth.privacy.keys import release_seed
from traumasynth.privacy.plan import BudgetPlan
from traumasynth.sampling.class_plan import (
    augment_counts,
    augment_target,
    dp_class_histogram,
    histogram_rng,
    plan_class_counts,
)
from traumasynth.sampling.draw import sample_rows, with_ids
from traumasynth.sampling.enforce import EnforcedDraw, draw_valid
from traumasynth.sampling.inputs import load_trained, read_train_labels, read_train_plan
from traumasynth.sampling.params import SampleParams, Strategy
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleResult:
    """What the stage drew and what the whole pipeline cost in privacy."""

    table: pd.DataFrame
    augment: pd.DataFrame
    histogram: HistogramRelease
    plan: BudgetPlan | None
    seconds: float
    strategy: Strategy
    target: str
    classes: tuple[str, ...]
    constraints: EnforcedDraw | None = None
    augment_constraints: EnforcedDraw | None = None

    def to_metrics(self) -> dict[str, Any]:
        """The JSON form of ``metrics/sample_<model>.json``."""
        rows = len(self.table) + (0 if self.strategy == "augment" else len(self.augment))
        return {
            "strategy": self.strategy,
            "rows": len(self.table),
            "rows_per_class": self._class_counts(self.table),
            "augment_rows": len(self.augment),
            "augment_rows_per_class": self._class_counts(self.augment),
            "rows_per_second": round(rows / self.seconds, 1) if self.seconds > 0 else None,
            "histogram_noise_multiplier": None if self.plan is None else self.plan.histogram_noise,
            "epsilon_target": None if self.plan is None else self.plan.epsilon_target,
            "epsilon_total": None if self.plan is None else _round(self.plan.epsilon),
            "delta_total": None if self.plan is None else self.plan.delta,
            "composition": (
                "none: trained without differential privacy, no finite guarantee"
                if self.plan is None
                else self.plan.composition
            ),
            "dp_train_rows": int(self.histogram.counts.sum()),
            **self._constraint_metrics(),
        }

    def _constraint_metrics(self) -> dict[str, Any]:
        """Clinical rules: the first draw's violation rate (the model as it is) and what enforcing them cost."""
        main = self.constraints.to_metrics() if self.constraints is not None else None
        extra = self.augment_constraints.to_metrics() if self.augment_constraints is not None else None
        return {
            "constraint_violation_rate": None if main is None else main["violation_rate"],
            "constraint_rejection_rate": None if main is None else main["rejection_rate"],
            "constraints": {"table": main, "augment": extra},
        }

    def _class_counts(self, frame: pd.DataFrame) -> dict[str, int]:
        counts = frame[self.target].value_counts()
        return {c: int(counts.get(c, 0)) for c in self.classes}


def generate_synthetic(
    *,
    model: str,
    synthesizer: Synthesizer,
    labels: pd.Series,
    plan: BudgetPlan | None,
    params: SampleParams,
    seed: int,
) -> SampleResult:
    """Plan the class counts from a DP histogram, draw the main and augment tables, compose the budget.

    Raises:
        ParamsError, DataError, SchemaError, PrivacyBudgetError: see the helpers.
    """
    spec = synthesizer.spec
    release = dp_class_histogram(
        labels=labels,
        spec=spec,
        noise_multiplier=None if plan is None else plan.histogram_noise,
        rng=histogram_rng(params=params, seed=seed),
    )
    rows_per_class = plan_class_counts(params=params, spec=spec, dp_counts=release.counts)
    top_up = {c: 0 for c in spec.classes} | augment_counts(
        dp_counts=release.counts, target=augment_target(params, dp_counts=release.counts), spec=spec
    )
    logger.info(
        "DP class counts of the training split: %s", dict(zip(spec.classes, release.counts.tolist(), strict=True))
    )
    logger.info("Drawing %d rows (%s): %s", sum(rows_per_class.values()), params.strategy, rows_per_class)
    start = time.perf_counter()

    def draw(counts: dict[str, int], seed: int, desc: str) -> EnforcedDraw:
        return draw_valid(
            draw=lambda c, s: sample_rows(
                synthesizer=synthesizer, counts=c, seed=s, batch_size=params.batch_size, desc=desc
            ),
            counts=counts,
            rules=spec.constraints,
            target=spec.target.name,
            seed=seed,
            enforce=params.enforce_constraints,
        )

    main = draw(rows_per_class, seed, model)
    table = with_ids(main.frame, spec=spec, model=model)
    if params.strategy == "augment":
        augment, extra = table, main
    else:
        extra = draw(top_up, seed + 1, f"{model} augment")
        augment = with_ids(extra.frame, spec=spec, model=model, start=len(table) + 1)
    seconds = time.perf_counter() - start
    return SampleResult(
        table=table,
        augment=augment,
        histogram=release,
        plan=plan,
        seconds=seconds,
        strategy=params.strategy,
        target=spec.target.name,
        classes=spec.classes,
        constraints=main if spec.constraints else None,
        augment_constraints=extra if spec.constraints else None,
    )


def run(
    *,
    model: str,
    spec: DatasetSpec,
    params: SampleParams,
    seed: int,
    model_dir: Path,
    train_path: Path,
    train_metrics_path: Path,
    out_path: Path,
    augment_out_path: Path,
    metrics_path: Path,
) -> dict[str, Any]:
    """Load the model, draw the synthetic tables and write them with their metrics.

    Every input is checked before anything is written; each output is written atomically.

    Returns:
        The metrics written to ``metrics_path``.

    Raises:
        TraumaSynthError: any problem with the inputs (see the helpers).
    """
    synthesizer = load_trained(model=model, model_dir=model_dir, spec=spec)
    plan = read_train_plan(path=train_metrics_path, model=model)
    labels = read_train_labels(path=train_path, spec=spec)
    # Fresh noise whenever the release would differ: the labels the histogram reads, the model, the
    # budget plan and every sampling parameter (traumasynth.privacy.keys.release_seed).
    # A non-private reference run keeps base.seed.
    if plan is not None:
        settings = {"plan": plan.to_metrics(), "sample": params.model_dump(mode="json")}
        seed = release_seed(seed=seed, model=model, rows=labels.to_frame(), settings=settings)
    result = generate_synthetic(
        model=model, synthesizer=synthesizer, labels=labels, plan=plan, params=params, seed=seed
    )
    metrics = {"model": model, **result.to_metrics()}
    write_parquet_atomic(result.table, out_path)
    write_parquet_atomic(result.augment, augment_out_path)
    write_json_atomic(metrics, metrics_path)
    logger.info(
        "Wrote %d rows to %s and %d augment rows to %s (ε total %s, %s)",
        len(result.table),
        out_path,
        len(result.augment),
        augment_out_path,
        metrics["epsilon_total"],
        metrics["composition"].split(":")[0],
    )
    return metrics


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)
