"""The privacy-utility sweep: one table of every model at every ε, collected from DVC experiments.

A sweep is a set of ``dvc exp run -S train_dp_tabular.epsilon=<ε>`` experiments (see
docs/peers-and-sweeps.md). ``dvc exp show --json`` returns, for each experiment,
its ``params.yaml`` and the metrics files declared in ``dvc.yaml``; this module turns that
into:

- ``metrics/sweep_<dataset>.csv``: one row per (model, ε) with TSTR macro-F1, fidelity,
  membership-inference AUC and wall time (see :data:`SWEEP_COLUMNS`);
- ``metrics/plots/sweep_<dataset>_tstr.csv``: TSTR macro-F1 against ε, one column (a line in
  ``dvc plots show``) per model. Non-private runs (ε = none) are in the table, not on this plot.

Metric directions: ``tstr_macro_f1`` and ``tstr_trtr_ratio`` in 0..1, higher is better;
``discriminator_auc`` 0.5..1 (0.5 = synthetic rows indistinguishable from real), lower is
better; ``tvd_mean`` and ``wasserstein_mean`` 0..1, lower is better; ``mia_auc`` 0..1
(0.5 = the attack does no better than chance), lower is better.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.errors import DataError
from traumasynth.io import atomic_path

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
    "mia_auc": ("privacy", "mia_auc"),
    "epsilon_spent": ("privacy", "epsilon_total"),
    "delta_spent": ("privacy", "delta_total"),
}


@dataclass(frozen=True)
class Experiment:
    """One revision of ``dvc exp show --json``: its parameters and its metrics files.

    Attributes:
        name: the experiment's name (``workspace``, a branch, or a generated name like ``nubby-hard``).
        rev: the git revision (``workspace`` for the working tree).
        timestamp: ISO time of the revision (empty for the workspace).
        params: ``params.yaml`` as a nested mapping.
        metrics: metrics file path -> its content; files that could not be read are left out.
    """

    name: str
    rev: str
    timestamp: str
    params: Mapping[str, Any]
    metrics: Mapping[str, Mapping[str, Any]]


def _experiment(entry: Mapping[str, Any], *, name: str | None) -> Experiment | None:
    data = entry.get("data")
    rev = str(entry.get("rev", "?"))
    label = name or entry.get("name") or (rev if rev == "workspace" else rev[:7])
    if entry.get("error") or not isinstance(data, Mapping):
        logger.warning("Skipping experiment %s: %s", label, (entry.get("error") or {}).get("msg", "no data"))
        return None
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
    metrics = {
        path: content["data"]
        for path, content in (data.get("metrics") or {}).items()
        if isinstance(content, Mapping) and isinstance(content.get("data"), Mapping)
    }
    return Experiment(
        name=str(label), rev=rev, timestamp=str(data.get("timestamp") or ""), params=params, metrics=metrics
    )


#: Executor states of ``dvc exp show`` whose metrics are not the experiment's own (yet).
_UNFINISHED = frozenset({"queued", "running", "failed"})


def parse_exp_show(*, exp_show: Any) -> list[Experiment]:
    """The revisions of a ``dvc exp show --json`` document: the workspace, baselines and their experiments.

    Entries that DVC reports with an error (a failed or unreadable experiment) are skipped with a
    warning; queued, running and failed experiments of the queue are skipped (their metrics files
    are still the baseline's).

    Raises:
        DataError: the document is not the list ``dvc exp show --json`` prints.
    """
    if not isinstance(exp_show, list):
        raise DataError(
            "The experiments document is not a JSON list as printed by `dvc exp show --json`. "
            "Regenerate it with `dvc exp show --json --all-commits > exps.json`."
        )
    out: list[Experiment] = []
    for entry in exp_show:
        if not isinstance(entry, Mapping):
            raise DataError("An entry of the `dvc exp show --json` document is not an object. Regenerate the file.")
        if (exp := _experiment(entry, name=None)) is not None:
            out.append(exp)
        for group in entry.get("experiments") or ():
            state = (group.get("executor") or {}).get("state")
            if state in _UNFINISHED:
                # A queued or running experiment shows its baseline's metrics under its own params.
                logger.info("Skipping experiment %s: %s", group.get("name") or "?", state)
                continue
            for run in group.get("revs") or ():
                if (exp := _experiment(run, name=run.get("name") or group.get("name"))) is not None:
                    out.append(exp)
    return out


def read_exp_show(*, path: Path | None, repo: Path = Path(".")) -> Any:
    """The parsed JSON of ``dvc exp show --json``: read from ``path``, or run in ``repo`` when it is None.

    Raises:
        DataError: the file is missing or not JSON, or ``dvc exp show`` failed.
    """
    if path is not None:
        if not path.is_file():
            raise DataError(
                f"Experiments file {path} not found. Write it with `dvc exp show --json --all-commits > {path}`."
            )
        text = path.read_text()
    else:
        # Every commit's experiments: a sweep queued before a later commit stays visible.
        cmd = [sys.executable, "-m", "dvc", "exp", "show", "--json", "--all-commits"]
        proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise DataError(
                f"`dvc exp show --json` failed in {repo} (exit {proc.returncode}): {proc.stderr.strip()[-500:]} "
                "Run it from the project root, inside the project's virtual environment."
            )
        text = proc.stdout
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"The output of `dvc exp show --json` is not JSON ({exc}).") from exc


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
#: only decides whether narratives are written. Any other difference makes cells incomparable.
SWEEP_VARIES: tuple[str, ...] = (
    "train_dp_tabular.epsilon",
    "base.models",
    "baselines.peers",
    "narrate",
    "evaluate.require_narratives",
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
    return _sorted_cells(table[~dupes.to_numpy()])


def _sorted_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Cells in report order: our models then peers, each by ε ascending, no-DP last."""
    table = table.assign(_inf=table["epsilon"].isna(), _order=table["model"].map(_model_order))
    table = table.sort_values(["_order", "model", "_inf", "epsilon"], kind="stable")
    return table.drop(columns=["_inf", "_order"]).reset_index(drop=True)


def _model_order(model: str) -> int:
    return PLOT_MODELS.index(model) if model in PLOT_MODELS else len(PLOT_MODELS)


def plot_frame(*, table: pd.DataFrame) -> pd.DataFrame:
    """TSTR macro-F1 against ε, wide: column ``epsilon`` then one column per model of :data:`PLOT_MODELS`.

    Every model of :data:`PLOT_MODELS` has a column (empty where it was not run), so the
    ``plots:`` entry of ``dvc.yaml`` can name them all; rows without a finite ε are left out.
    """
    finite = table[table["epsilon"].notna()]
    wide = finite.pivot_table(index="epsilon", columns="model", values="tstr_macro_f1", aggfunc="first")
    extra = [m for m in wide.columns if m not in PLOT_MODELS]
    wide = wide.reindex(columns=list(PLOT_MODELS) + sorted(extra))
    wide = wide.sort_index().reset_index()
    wide.columns.name = None
    return wide


def markdown_summary(*, table: pd.DataFrame, value: str = "tstr_macro_f1") -> str:
    """A Markdown table of ``value``: one row per model, one column per ε (``none`` = no DP last).

    Empty cells are models not run at that ε (a non-private peer has only ``none``).
    """
    eps = table["epsilon"].map(lambda e: "none" if pd.isna(e) else f"{e:g}")
    wide = table.assign(_eps=eps).pivot_table(index="model", columns="_eps", values=value, aggfunc="first")
    order = sorted((c for c in wide.columns if c != "none"), key=float) + (["none"] if "none" in wide.columns else [])
    models = sorted(wide.index, key=lambda m: (_model_order(m), m))
    lines = [
        "| model | " + " | ".join(f"ε = {c}" if c != "none" else "no DP" for c in order) + " |",
        "|---|" + "---|" * len(order),
    ]
    for model in models:
        cells = ["" if pd.isna(wide.at[model, c]) else f"{wide.at[model, c]:.3f}" for c in order]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv_atomic(frame: pd.DataFrame, target: Path) -> None:
    """Write ``frame`` as CSV (no index, floats to 6 digits) without ever leaving half a file."""
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def read_sweep_table(path: Path) -> pd.DataFrame:
    """An earlier ``metrics/sweep_<dataset>.csv``.

    Raises:
        DataError: the file is missing, unreadable or lacks the sweep's columns.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read sweep table {path}: {exc}. Pass a metrics/sweep_<dataset>.csv file.") from exc
    missing = [c for c in ("dataset", "model", "epsilon", "experiment") if c not in frame.columns]
    if missing:
        raise DataError(f"{path} is not a sweep table (no column {', '.join(missing)}).")
    return frame


def run_sweep_report(
    *,
    exp_show: Any,
    dataset: str,
    peers_dp: Mapping[str, bool],
    table_path: Path,
    plot_path: Path,
    names: str | None = None,
    carry: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Collect the sweep of ``dataset`` from a ``dvc exp show --json`` document and write both files.

    ``names`` selects experiments by a glob on their names (see :func:`sweep_table`). ``carry``
    holds rows of an earlier sweep table to keep for models this sweep did not run (a peer whose
    inputs did not change need not be refitted): they keep their own ``experiment`` and ``rev``.

    Returns:
        The sweep table written to ``table_path``.

    Raises:
        DataError: the document is malformed or holds no evaluated model of ``dataset``.
    """
    experiments = parse_exp_show(exp_show=exp_show)
    table = sweep_table(experiments=experiments, dataset=dataset, peers_dp=peers_dp, names=names)
    if carry is not None:
        kept = carry[(carry["dataset"] == dataset) & ~carry["model"].isin(set(table["model"]))]
        if kept.empty:
            raise DataError(f"The carried table holds no row of {dataset} for a model this sweep did not run.")
        logger.info("Carried %d rows (%s) from an earlier sweep", len(kept), ", ".join(sorted(set(kept["model"]))))
        table = _sorted_cells(pd.concat([table, kept[list(table.columns)]], ignore_index=True))
    plot = plot_frame(table=table)
    write_csv_atomic(table, table_path)
    write_csv_atomic(plot, plot_path)
    logger.info(
        "Sweep of %s: %d cells from %d experiments -> %s, %s", dataset, len(table), len(experiments), table_path,
        plot_path,
    )  # fmt: skip
    return table
