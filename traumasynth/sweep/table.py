"""The sweep table: one row per (model, ε), from comparable experiments.

Columns are :data:`SWEEP_COLUMNS`; cells are ordered by :data:`PLOT_MODELS` then ε.
"""

from __future__ import annotations

import fnmatch
import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.sweep.experiments import Experiment

logger = logging.getLogger(__name__)

#: Columns of ``metrics/sweep_<dataset>.csv``, in order.
SWEEP_COLUMNS: tuple[str, ...] = (
    "dataset",
    "model",
    "kind",
    "epsilon",
    "epsilon_spent",
    "delta_spent",
    "tstr_macro_f1",
    "tstr_macro_f1_low",
    "tstr_macro_f1_high",
    "trtr_macro_f1",
    "tstr_trtr_ratio",
    "discriminator_auc",
    "tvd_mean",
    "wasserstein_mean",
    "tvd_2way",
    "tvd_3way",
    "sdmetrics_quality",
    "constraint_violation_rate",
    "mia_auc",
    "train_seconds",
    "wall_seconds",
    "experiment",
    "rev",
)

#: Lines of the plot file, in this order (models of a run that are not here are appended).
PLOT_MODELS: tuple[str, ...] = ("vae", "ddpm", "marginals", "aim", "mst", "gaussian_copula", "ctgan", "tvae")

#: Where a metric is read: (file stem, key path inside the JSON).
_EVALUATE_KEYS: dict[str, tuple[str, ...]] = {
    "tstr_macro_f1": ("utility", "tstr_macro_f1"),
    "tstr_macro_f1_low": ("utility", "tstr_macro_f1_low"),
    "tstr_macro_f1_high": ("utility", "tstr_macro_f1_high"),
    "trtr_macro_f1": ("utility", "trtr_macro_f1"),
    "tstr_trtr_ratio": ("utility", "tstr_trtr_ratio"),
    "discriminator_auc": ("fidelity", "discriminator_auc"),
    "tvd_mean": ("fidelity", "tvd_mean"),
    "wasserstein_mean": ("fidelity", "wasserstein_mean"),
    "tvd_2way": ("fidelity", "tvd_2way"),
    "tvd_3way": ("fidelity", "tvd_3way"),
    "sdmetrics_quality": ("fidelity", "sdmetrics_quality"),
    "constraint_violation_rate": ("fidelity", "constraint_violation_rate"),
    "mia_auc": ("privacy", "mia_auc"),
    "epsilon_spent": ("privacy", "epsilon_total"),
    "delta_spent": ("privacy", "delta_total"),
}


def _dig(obj: Any, keys: Iterable[str]) -> Any:
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _find_metrics(exp: Experiment, stem: str) -> Mapping[str, Any] | None:
    """The metrics file ``<stem>.json`` wherever ``dvc.yaml`` keeps it (``metrics/<stem>.json`` as a rule)."""
    for path, data in exp.metrics.items():
        if Path(path).name == f"{stem}.json":
            return data
    return None


def _models_of(exp: Experiment) -> tuple[list[str], list[str]]:
    """The experiment's own models (``base.models``) and its peers (``baselines.peers``)."""
    ours = [str(m) for m in (exp.params.get("base") or {}).get("models") or ()]
    peers = [str(p) for p in (exp.params.get("baselines") or {}).get("peers") or ()]
    return ours, peers


def _has_evaluation(exp: Experiment) -> bool:
    ours, peers = _models_of(exp)
    return any(_find_metrics(exp, f"evaluate_{m}") is not None for m in ours + peers)


def experiment_rows(*, exp: Experiment, peers_dp: Mapping[str, bool]) -> list[dict[str, Any]]:
    """One row per model evaluated in ``exp`` (models without ``evaluate_<model>.json`` are skipped).

    Args:
        exp: one revision.
        peers_dp: peer name -> whether it is differentially private (its ε is the training ε);
            a non-private peer's row has ``epsilon`` None whatever the training ε was.
    """
    base = exp.params.get("base") or {}
    train = exp.params.get("train_dp_tabular") or {}
    ours, peers = _models_of(exp)
    epsilon = _number(train.get("epsilon"))
    rows: list[dict[str, Any]] = []
    for model in dict.fromkeys(ours + peers):
        evaluation = _find_metrics(exp, f"evaluate_{model}")
        if evaluation is None:
            logger.debug("%s: no evaluate_%s.json in experiment %s", model, model, exp.name)
            continue
        is_peer = model in peers and model not in ours
        private = peers_dp.get(model, True) if is_peer else True
        row: dict[str, Any] = {
            "dataset": base.get("dataset"),
            "model": model,
            "kind": "peer" if is_peer else "ours",
            "epsilon": epsilon if private else None,
            "experiment": exp.name,
            "rev": exp.rev,
        }
        row.update({key: _number(_dig(evaluation, path)) for key, path in _EVALUATE_KEYS.items()})
        trained = _find_metrics(exp, f"train_{model}") or {}
        sampled = _find_metrics(exp, f"sample_{model}") or {}
        row["train_seconds"] = _number(trained.get("train_seconds"))
        row["wall_seconds"] = _wall_seconds(trained, sampled)
        rows.append(row)
    return rows


def _wall_seconds(trained: Mapping[str, Any], sampled: Mapping[str, Any]) -> float | None:
    """Training plus sampling seconds (sampling from its own seconds, or rows / rows_per_second)."""
    train_s = _number(trained.get("train_seconds"))
    sample_s = _number(trained.get("sample_seconds")) or _number(sampled.get("seconds"))
    if sample_s is None:
        rows, speed = _number(sampled.get("rows")), _number(sampled.get("rows_per_second"))
        if rows is not None and speed:
            sample_s = rows / speed
    if train_s is None:
        return None
    return round(train_s + (sample_s or 0.0), 3)


#: Parameters a sweep may vary between its experiments: the budget, which models run, and what
#: only decides whether narratives (or SDMetrics' keys) are written. Any other difference makes
#: cells incomparable.
SWEEP_VARIES: tuple[str, ...] = (
    "train_dp_tabular.epsilon",
    "base.models",
    "baselines.peers",
    "narrate",
    "evaluate.require_narratives",
    "evaluate.sdmetrics",
)


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def setting(exp: Experiment) -> dict[str, Any]:
    """The experiment's parameters, flattened (``section.key``), without those listed in :data:`SWEEP_VARIES`."""
    return {
        key: value
        for key, value in _flatten(exp.params).items()
        if not any(key == v or key.startswith(f"{v}.") for v in SWEEP_VARIES)
    }


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def sweep_table(
    *, experiments: list[Experiment], dataset: str, peers_dp: Mapping[str, bool], names: str | None = None
) -> pd.DataFrame:
    """The sweep of ``dataset``: one row per (model, ε), newest experiment first when a cell repeats.

    Only comparable experiments are combined: the newest experiment of ``dataset`` sets the
    reference, and an experiment whose parameters differ from it in anything but
    :data:`SWEEP_VARIES` (another cohort size, epochs, split...) is left out with a warning that
    names the differences. The workspace only fills cells that no committed experiment has
    (after ``dvc exp run`` it holds a copy of the last one).

    Args:
        names: a glob on experiment names (``sim-*``); None keeps every experiment.

    Raises:
        DataError: no selected experiment of ``dataset`` has an evaluated model.
    """
    ordered = sorted(experiments, key=lambda e: (e.rev != "workspace", e.timestamp), reverse=True)
    candidates = [
        exp
        for exp in ordered
        if (exp.params.get("base") or {}).get("dataset") == dataset
        and (names is None or fnmatch.fnmatchcase(exp.name, names))
        and _has_evaluation(exp)
    ]
    if not candidates:
        raise DataError(
            f"No experiment of dataset '{dataset}'"
            + (f" named like '{names}'" if names else "")
            + " has evaluate_<model>.json metrics. Run the sweep first "
            "(`dvc exp run --queue -S train_dp_tabular.epsilon=1 ...` then `dvc exp run --run-all`), and check that "
            "dvc.yaml declares the evaluate_<model>.json files as metrics."
        )
    reference = setting(candidates[0])
    kept: list[Experiment] = []
    for exp in candidates:
        if diff := _differences(reference, setting(exp)):
            logger.warning(
                "Left out experiment %s: its settings differ from the newest one (%s): %s%s",
                exp.name, candidates[0].name, "; ".join(diff[:5]), " ..." if len(diff) > 5 else "",
            )  # fmt: skip
            continue
        kept.append(exp)
    rows = [row for exp in kept for row in experiment_rows(exp=exp, peers_dp=peers_dp)]
    table = pd.DataFrame(rows, columns=list(SWEEP_COLUMNS))
    key = table["epsilon"].fillna(-1.0)
    dupes = table.assign(_key=key).duplicated(subset=["model", "_key"], keep="first")
    if dupes.any():
        logger.info("Kept the newest of %d repeated (model, ε) cells", int(dupes.sum()))
    return sorted_cells(table[~dupes.to_numpy()])


def sorted_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Cells in report order: our models then peers, each by ε ascending, no-DP last."""
    table = table.assign(_inf=table["epsilon"].isna(), _order=table["model"].map(model_order))
    table = table.sort_values(["_order", "model", "_inf", "epsilon"], kind="stable")
    return table.drop(columns=["_inf", "_order"]).reset_index(drop=True)


def model_order(model: str) -> int:
    """A model's place in reports: its index in :data:`PLOT_MODELS`, models not listed there last."""
    return PLOT_MODELS.index(model) if model in PLOT_MODELS else len(PLOT_MODELS)
