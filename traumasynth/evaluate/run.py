"""The ``evaluate`` stage: one model's fidelity, utility, privacy risk and narrative quality.

``run``, the stage's entry point, checks the model's inputs first, computes everything in memory, then
writes ``metrics/evaluate_<model>.json``, the model's plot CSVs and its summary
(``data/evaluation/<model>.json``, read by the ``compare`` stage), each atomically, so a
failure leaves no half-updated set of metrics behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.core.io import write_json_atomic
from traumasynth.core.params import FrozenParams
from traumasynth.encoding.grid import GridSettings
from traumasynth.encoding.table import TableEncoder
from traumasynth.evaluate import fidelity, plots
from traumasynth.evaluate.inputs import InputPaths, ModelInputs, check_inputs, load_model_inputs
from traumasynth.evaluate.joint import JointWorkload, joint_fidelity
from traumasynth.evaluate.privacy_risk import assess_privacy_risk
from traumasynth.evaluate.sdmetrics_quality import JudgeMode, QualityJudge
from traumasynth.evaluate.summary import ModelSummary
from traumasynth.evaluate.text import narrative_metrics
from traumasynth.evaluate.utility import (
    ClassifierName,
    Interval,
    Scores,
    match_class_counts,
    rare_classes,
    train_and_score,
)
from traumasynth.prepare import read_split
from traumasynth.spec import DatasetSpec

log = logging.getLogger(__name__)


class EvaluateParams(FrozenParams):
    """Section ``evaluate`` of params.yaml."""

    classifiers: tuple[ClassifierName, ...] = Field(default=("hgb", "logreg"), min_length=1)
    headline_classifier: ClassifierName = "hgb"
    hgb_max_iter: int = Field(default=100, ge=10, le=2000)
    bootstrap: int = Field(default=200, ge=20)
    rare_class_share: float = Field(default=0.05, gt=0, lt=1)
    correlation: Literal["pearson", "spearman"] = "spearman"
    discriminator_rows: int = Field(default=5000, ge=50)
    max_triples: int = Field(default=5000, ge=1)
    sdmetrics: JudgeMode = "auto"
    sdmetrics_rows: int = Field(default=5000, ge=100)
    cv_folds: int = Field(default=3, ge=2, le=10)
    privacy_rows: int = Field(default=2000, ge=50)
    text_rows: int = Field(default=5000, ge=20)
    text_max_features: int = Field(default=20000, ge=100)
    histogram_bins: int = Field(default=20, ge=2, le=200)
    require_narratives: bool = True
    threads: int = Field(default=1, ge=1, le=256)

    @model_validator(mode="after")
    def _headline_is_trained(self) -> EvaluateParams:
        if self.headline_classifier not in self.classifiers:
            raise ValueError(f"headline_classifier '{self.headline_classifier}' must be one of classifiers")
        return self


@dataclass(frozen=True)
class ModelOutputs:
    """Where one model's evaluation writes: its metrics JSON, its plot CSVs, its summary for ``compare``."""

    metrics: Path
    plots_dir: Path
    summary: Path


@dataclass
class ModelEvaluation:
    """What one model's evaluation produced, before anything is written."""

    metrics: dict[str, Any]
    plots: dict[str, pd.DataFrame] = field(default_factory=dict)
    utility_rows: list[dict[str, Any]] = field(default_factory=list)


def _r(value: float) -> float:
    """Round for stable, readable diffs."""
    return round(float(value), 6)


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return _r(values.mean()) if len(values) else 0.0


def _rare_mean(scores: Scores, rare: list[str]) -> float | None:
    values = [scores.recall[c].value for c in rare if c in scores.recall and not np.isnan(scores.recall[c].value)]
    return _r(float(np.mean(values))) if values else None


def _interval_keys(prefix: str, interval: Interval) -> dict[str, float]:
    return {prefix: _r(interval.value), f"{prefix}_low": _r(interval.low), f"{prefix}_high": _r(interval.high)}


def _utility_rows(model: str, scores: dict[str, dict[ClassifierName, Scores]]) -> list[dict[str, Any]]:
    rows = []
    for setting, by_clf in scores.items():
        for clf, s in by_clf.items():
            who = "real" if setting == "trtr" else model
            rows.append(
                {
                    "label": f"{who} · {plots.SETTING_LABELS[setting]} · {clf}",
                    "model": who,
                    "setting": setting,
                    "classifier": clf,
                    "macro_f1": s.macro_f1.value,
                    "macro_f1_low": s.macro_f1.low,
                    "macro_f1_high": s.macro_f1.high,
                    "balanced_accuracy": s.balanced_accuracy.value,
                    "balanced_accuracy_low": s.balanced_accuracy.low,
                    "balanced_accuracy_high": s.balanced_accuracy.high,
                }
            )
    return rows


def _utility_metrics(
    scores: dict[str, dict[ClassifierName, Scores]], *, rare: list[str], params: EvaluateParams
) -> dict[str, Any]:
    head = {setting: by_clf[params.headline_classifier] for setting, by_clf in scores.items()}
    out: dict[str, Any] = {}
    for setting, s in head.items():
        out.update(_interval_keys(f"{setting}_macro_f1", s.macro_f1))
        out[f"{setting}_balanced_accuracy"] = _r(s.balanced_accuracy.value)
        if (value := _rare_mean(s, rare)) is not None:
            out[f"rare_class_recall_{setting}"] = value
    trtr = head["trtr"].macro_f1.value
    out["tstr_trtr_ratio"] = _r(head["tstr"].macro_f1.value / trtr) if trtr > 0 else 0.0
    out["rare_recall"] = {
        cls: {setting: _r(s.recall[cls].value) for setting, s in head.items() if cls in s.recall} for cls in rare
    }
    for clf in params.classifiers:
        if clf != params.headline_classifier:
            out[clf] = {f"{setting}_macro_f1": _r(by_clf[clf].macro_f1.value) for setting, by_clf in scores.items()}
    return out


def _privacy_budget(inputs: ModelInputs) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("epsilon_total", "delta_total"):
        value = inputs.sample_metrics.get(key, "absent")
        if value is None:  # trained without DP (epsilon: null, or a non-DP peer): no guarantee
            out[key] = None
            continue
        if not isinstance(value, int | float):
            raise DataError(
                f"metrics/sample_{inputs.model}.json has no numeric '{key}'. Re-run `dvc repro sample@{inputs.model}`."
            )
        out[key] = float(value)
    if inputs.train_metrics is not None:
        for key in ("epsilon", "delta"):
            if isinstance(value := inputs.train_metrics.get(key), int | float):
                out[f"{key}_train"] = float(value)
    return out


def _fidelity(
    train: pd.DataFrame, synthetic: pd.DataFrame, *, test: pd.DataFrame, spec: DatasetSpec, encoder: TableEncoder,
    workload: JointWorkload, judge: QualityJudge | None, params: EvaluateParams, seed: int,
) -> tuple[dict[str, Any], pd.DataFrame]:  # fmt: skip
    """Headline fidelity figures and the per-column table behind them."""
    joint = joint_fidelity(train, synthetic, test=test, workload=workload)
    judged = (
        judge.fidelity(train, synthetic, test=test, spec=spec, rows=params.sdmetrics_rows, seed=seed) if judge else {}
    )
    wass = fidelity.wasserstein_table(train, synthetic, spec=spec)
    tvd = fidelity.tvd_table(train, synthetic, spec=spec)
    miss = fidelity.missingness_table(train, synthetic, spec=spec)
    disc = fidelity.discriminator_auc(
        train, synthetic, encoder=encoder, max_rows=params.discriminator_rows, cv_folds=params.cv_folds,
        max_iter=params.hgb_max_iter, seed=seed,
    )  # fmt: skip
    headline = {
        "wasserstein_mean": _mean(wass["wasserstein_scaled"]),
        "tvd_mean": _mean(tvd["tvd"]),
        "tvd_2way": joint["tvd_2way"],
        "tvd_3way": joint["tvd_3way"],
        **{k: v for k, v in judged.items() if k != "reference"},
        "association_diff": _r(fidelity.association_difference(train, synthetic, spec=spec, method=params.correlation)),
        "missingness_diff_mean": _mean(miss["missing_diff"]),
        "discriminator_auc": _r(disc),
        "discriminator_features": fidelity.discriminator_features(
            train, synthetic, encoder=encoder, max_rows=params.discriminator_rows, max_iter=params.hgb_max_iter,
            seed=seed,
        ),
        "reference": {**joint["reference"], **judged.get("reference", {})},
    }  # fmt: skip
    wass = wass.rename(columns={"wasserstein_scaled": "distance", "wasserstein_raw": "raw"}).assign(
        metric="wasserstein"
    )
    tvd = tvd.rename(columns={"tvd": "distance"}).assign(metric="tvd")
    per_column = pd.concat([wass, tvd], ignore_index=True).merge(
        miss[["column", "missing_diff"]], on="column", how="left"
    )
    return headline, per_column[["column", "metric", "distance", "raw", "missing_diff"]]


def _utility(
    inputs: ModelInputs, *, train: pd.DataFrame, test: pd.DataFrame, trtr: dict[ClassifierName, Scores],
    spec: DatasetSpec, encoder: TableEncoder, params: EvaluateParams, seed: int,
) -> tuple[dict[str, dict[ClassifierName, Scores]], list[str]]:  # fmt: skip
    """Scores of TRTR (given), TSTR and TRTR+S; and the classes the synthetic table lacks."""
    target = spec.target.name
    counts = train[target].value_counts().reindex(list(spec.classes), fill_value=0).astype(int).to_dict()
    tstr_train, lacking = match_class_counts(inputs.synthetic, target=target, counts=counts, seed=seed)
    if lacking:
        log.warning("%s: synthetic table has no row of class(es) %s", inputs.model, ", ".join(lacking))
    modelled = [c.name for c in spec.modelled_columns]
    augmented_train = pd.concat([train[modelled], inputs.augment[modelled]], ignore_index=True)
    common = {
        "test": test, "encoder": encoder, "classifiers": params.classifiers, "hgb_max_iter": params.hgb_max_iter,
        "n_bootstrap": params.bootstrap, "seed": seed,
    }  # fmt: skip
    scores = {
        "trtr": trtr,
        "tstr": train_and_score(train=tstr_train, **common),
        "augmented": train_and_score(train=augmented_train, **common),
    }
    return scores, lacking


def evaluate_model(
    inputs: ModelInputs,
    *,
    train: pd.DataFrame,
    test: pd.DataFrame,
    trtr: dict[ClassifierName, Scores],
    rare: list[str],
    spec: DatasetSpec,
    encoder: TableEncoder,
    workload: JointWorkload,
    judge: QualityJudge | None,
    params: EvaluateParams,
    seed: int,
    progress: tqdm,
) -> ModelEvaluation:
    """Fidelity, utility, privacy risk and narrative metrics of one model (nothing written).

    ``workload`` holds the marginals of the joint TVD (``evaluate/joint.py``); ``judge`` is
    SDMetrics' quality report in the peers' environment (``evaluate/sdmetrics_quality.py``), or
    None to leave its keys out.
    """
    m, synthetic = inputs.model, inputs.synthetic
    if len(synthetic) == 0:
        raise DataError(f"{inputs.synthetic_path} has no rows. Re-run `dvc repro sample@{m}`.")
    progress.set_postfix_str(f"{m}: fidelity")
    fid, per_column = _fidelity(
        train, synthetic, test=test, spec=spec, encoder=encoder, workload=workload, judge=judge, params=params,
        seed=seed,
    )  # fmt: skip
    fid.update(fidelity.constraint_fidelity(sample_metrics=inputs.sample_metrics, synthetic=synthetic, spec=spec))
    progress.update()
    progress.set_postfix_str(f"{m}: utility")
    scores, lacking = _utility(
        inputs, train=train, test=test, trtr=trtr, spec=spec, encoder=encoder, params=params, seed=seed
    )
    util = _utility_metrics(scores, rare=rare, params=params)
    util.update(augment_rows=len(inputs.augment), tstr_lacking_classes=len(lacking))
    progress.update()
    progress.set_postfix_str(f"{m}: privacy")
    risk = assess_privacy_risk(
        train=train, test=test, synthetic=synthetic, encoder=encoder, max_rows=params.privacy_rows, seed=seed
    )
    priv: dict[str, float | None] = {k: None if v is None else _r(v) for k, v in _privacy_budget(inputs).items()}
    priv.update(
        dcr_ratio=_r(risk.dcr_ratio), dcr_synthetic_median=_r(risk.dcr_synthetic_median),
        dcr_test_median=_r(risk.dcr_test_median), dcr_synthetic_p05=_r(risk.dcr_synthetic_p05),
        mia_auc=_r(risk.mia_auc), exact_match_rate=_r(risk.exact_match_rate),
    )  # fmt: skip
    progress.update()
    metrics: dict[str, Any] = {"fidelity": fid, "utility": util, "privacy": priv}
    if inputs.narratives is not None and inputs.narrative_id is not None:
        progress.set_postfix_str(f"{m}: narratives")
        narr = narrative_metrics(
            narratives=inputs.narratives, narrate_metrics=inputs.narrate_metrics, synthetic=synthetic,
            real_train=train, real_test=test, spec=spec, id_column=inputs.narrative_id, text_rows=params.text_rows,
            max_features=params.text_max_features, cv_folds=params.cv_folds, seed=seed,
            checker_metrics=inputs.checker_metrics,
        )  # fmt: skip
        metrics["narrative"] = {k: v if k == "rows" else _r(v) for k, v in narr.items()}
    progress.update()
    head = params.headline_classifier
    return ModelEvaluation(
        metrics=metrics,
        plots={
            "fidelity": per_column,
            "marginals": plots.marginals_frame(train, synthetic, spec=spec, bins=params.histogram_bins),
            "recall": plots.recall_frame({k: v[head] for k, v in scores.items()}, classes=spec.classes),
            "confusion": plots.confusion_frame(scores["tstr"][head].confusion, classes=spec.classes),
            "dcr": plots.dcr_frame(risk.dcr_synthetic, risk.dcr_test, points=params.histogram_bins),
        },
        utility_rows=_utility_rows(m, {k: v for k, v in scores.items() if k != "trtr"}),
    )


def run(
    *,
    spec: DatasetSpec,
    model: str,
    narrated: bool,
    seed: int,
    params: EvaluateParams,
    grid: GridSettings,
    judge_script: Path,
    inputs: InputPaths,
    outputs: ModelOutputs,
) -> dict[str, Any]:
    """Evaluate one model and write its metrics, its plot data and its summary for ``compare``.

    Args:
        model: a synthesizer of ``base.models`` or a peer of ``baselines.peers``.
        narrated: the model's narratives are evaluated (required unless
            ``params.require_narratives`` is false); false for peers, which have none.
        grid: the public grid of the joint TVD: ``n_bins`` and ``max_points`` of the
            ``baselines`` section (``BaselinesParams``), the grid AIM and MST fit.
        judge_script: ``peers/quality_report.py``, run by the peers' Python under ``params.sdmetrics``
            (``evaluate/sdmetrics_quality.py``).

    Returns:
        The metrics written to ``outputs.metrics``.

    Raises:
        DataError: an input is missing (the message names the stage to run) or unusable, or
            ``params.sdmetrics`` is true and the peers' environment is missing.
        SchemaError: a table does not match the dataset specification.
    """
    quality_judge = QualityJudge.locate(mode=params.sdmetrics, script=judge_script, threads=params.threads)
    needs_narratives = (model,) if narrated and params.require_narratives else ()
    check_inputs(models=(model,), paths=inputs, narrated=needs_narratives)
    train = read_split(layout.split("train", inputs.prepared_dir), spec=spec)
    test = read_split(layout.split("test", inputs.prepared_dir), spec=spec)
    encoder = TableEncoder(spec)
    workload = JointWorkload.from_spec(spec, grid=grid, max_triples=params.max_triples, seed=seed)
    rare = rare_classes(encoder.encode(train).y, classes=spec.classes, threshold=params.rare_class_share)
    log.info("evaluating %s on %d train / %d test rows; rare classes: %s", model, len(train), len(test),
             ", ".join(rare) or "none")  # fmt: skip
    loaded = load_model_inputs(model=model, paths=inputs, spec=spec, narrated=narrated)
    if needs_narratives and loaded.narratives is None:
        raise DataError(
            f"{inputs.narratives(model)} has no rows (narrate.n_rows is 0). Set narrate.n_rows above 0 and "
            "rerun narrate, or evaluate tables only with evaluate.require_narratives=false."
        )
    # One thread by default: OpenMP trees on a shared machine slow down many-fold when oversubscribed.
    with threadpool_limits(limits=params.threads), tqdm(total=5, desc=f"evaluate {model}", unit="step") as progress:
        progress.set_postfix_str("TRTR")
        trtr = train_and_score(
            train=train, test=test, encoder=encoder, classifiers=params.classifiers, hgb_max_iter=params.hgb_max_iter,
            n_bootstrap=params.bootstrap, seed=seed,
        )  # fmt: skip
        progress.update()
        result = evaluate_model(
            loaded, train=train, test=test, trtr=trtr, rare=rare, spec=spec, encoder=encoder, workload=workload,
            judge=quality_judge, params=params, seed=seed, progress=progress,
        )  # fmt: skip
    summary = ModelSummary(
        model=model,
        dataset=spec.name,
        rare_classes=rare,
        utility_rows=_utility_rows("real", {"trtr": trtr}) + result.utility_rows,
    )
    write_json_atomic(result.metrics, outputs.metrics)
    for kind, frame in result.plots.items():
        plots.write_plot(frame, path=layout.evaluate_plot(kind, model, outputs.plots_dir))
    write_json_atomic(summary.to_json(), outputs.summary)
    _log_headline(model, result.metrics)
    return result.metrics


def _log_headline(model: str, metrics: dict[str, Any]) -> None:
    """One line of the figures a reader looks at first."""
    u, f, p = metrics["utility"], metrics["fidelity"], metrics["privacy"]
    eps = "∞ (no DP)" if p["epsilon_total"] is None else f"{p['epsilon_total']:.2f}"
    judged = "" if f.get("sdmetrics_quality") is None else f", SDMetrics quality {f['sdmetrics_quality']:.3f}"
    log.info("%s: TSTR/TRTR macro-F1 %.3f, discriminator AUC %.3f%s, MIA AUC %.3f, ε %s", model,
             u["tstr_trtr_ratio"], f["discriminator_auc"], judged, p["mia_auc"], eps)  # fmt: skip
