"""The ``compare`` stage: the utility plot and ``metrics/report.md`` across the evaluated models.

It reads what ``evaluate`` wrote for each model of ``base.models`` and ``baselines.peers`` (the
summary in ``data/evaluation/`` and ``metrics/evaluate_<model>.json``) and computes nothing on
the real rows itself. ``run`` is the stage's entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.core.io import read_json_object, write_text_atomic
from traumasynth.evaluate import plots
from traumasynth.evaluate.report import render_report
from traumasynth.evaluate.summary import UTILITY_COLUMNS, ModelSummary


@dataclass(frozen=True)
class CompareOutputs:
    """Where the comparison writes: the utility plot data and the Markdown report."""

    utility_plot: Path
    report: Path


def evaluate_stage_name(model: str, *, peers: tuple[str, ...]) -> str:
    """The ``dvc.yaml`` stage that evaluates ``model``: ``evaluate@<model>`` or ``evaluate_peer@<peer>``."""
    return f"evaluate_peer@{model}" if model in peers else f"evaluate@{model}"


def run(
    *,
    dataset: str,
    models: tuple[str, ...],
    peers: tuple[str, ...],
    summaries_dir: Path,
    metrics_dir: Path,
    outputs: CompareOutputs,
) -> dict[str, dict[str, Any]]:
    """Write the utility plot and the report of ``models`` then ``peers``; return their metrics.

    Raises:
        DataError: a model's evaluation is missing, stale (another dataset) or unreadable; the
            message names the stage to run. Nothing is written then.
    """
    names = models + tuple(p for p in peers if p not in models)
    if not names:
        raise DataError("Nothing to compare: base.models and baselines.peers are both empty.")
    summaries: list[ModelSummary] = []
    metrics: dict[str, dict[str, Any]] = {}
    for name in names:
        stage = evaluate_stage_name(name, peers=peers)
        summary = ModelSummary.read(layout.evaluation_summary(name, summaries_dir), model=name, stage=stage)
        if summary.dataset != dataset:
            raise DataError(
                f"The evaluation of '{name}' is of dataset '{summary.dataset}', not '{dataset}'. "
                f"Run `dvc repro {stage}` first."
            )
        summaries.append(summary)
        metrics[name] = read_json_object(
            layout.stage_metrics("evaluate", name, metrics_dir), fix=f"Run `dvc repro {stage}`."
        )
    # TRTR is the same for every model (same split, seed and classifiers): keep the first model's rows.
    rows = [r for r in summaries[0].utility_rows if r.get("model") == "real"]
    rows += [r for s in summaries for r in s.utility_rows if r.get("model") != "real"]
    report = render_report(results=metrics, dataset=dataset, rare=summaries[0].rare_classes)
    plots.write_plot(pd.DataFrame(rows, columns=list(UTILITY_COLUMNS)), path=outputs.utility_plot)
    write_text_atomic(report, outputs.report)
    return metrics
