"""What the sample stage reads, checked: the trained model, its budget plan and the training labels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from traumasynth.core.errors import DataError
from traumasynth.core.io import read_json_object
from traumasynth.models import Synthesizer, get_synthesizer
from traumasynth.privacy.plan import BudgetPlan
from traumasynth.spec import DatasetSpec


def load_trained(*, model: str, model_dir: Path, spec: DatasetSpec) -> Synthesizer:
    """Load the trained model folder.

    Raises:
        ParamsError: unknown model name.
        DataError: the folder is missing (train first).
        ModelMismatchError: the model was trained on another dataset specification.
    """
    cls = get_synthesizer(model)
    if not model_dir.is_dir():
        raise DataError(
            f"Model folder {model_dir} not found: the '{model}' model has not been trained. "
            f"Run `dvc repro train_dp_tabular` (or `dvc repro train_dp_tabular@{model}`) first."
        )
    return cls.load(model_dir, spec=spec)


def read_train_plan(*, path: Path, model: str) -> BudgetPlan | None:
    """The budget plan recorded in ``metrics/train_<model>.json`` (``None`` for a non-DP run).

    Raises:
        DataError: the file is missing, unreadable, written for another model, or lacks the plan.
    """
    if not path.is_file():
        raise DataError(
            f"Training metrics {path} not found. Run `dvc repro train_dp_tabular` (or "
            f"`dvc repro train_dp_tabular@{model}`) first."
        )
    metrics = read_json_object(path, label="training metrics ", fix="Rerun `dvc repro train_dp_tabular`.")
    if metrics.get("model", model) != model:
        raise DataError(
            f"Training metrics {path} are for model '{metrics.get('model')}', not '{model}'. "
            "Pass --train-metrics metrics/train_<model>.json of the same model."
        )
    if metrics.get("dp") is False or metrics.get("epsilon", "absent") is None:
        return None
    try:
        return BudgetPlan.from_metrics(metrics["budget"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"Training metrics {path} hold no valid budget plan ({exc!r}). "
            f"Retrain with this version: dvc repro train_dp_tabular@{model}"
        ) from exc


def read_train_labels(*, path: Path, spec: DatasetSpec) -> pd.Series:
    """Only the target column of the prepared training split (all the histogram needs).

    Raises:
        DataError: the file is missing or has no target column.
    """
    if not path.is_file():
        raise DataError(f"Training split {path} not found. Run the prepare stage first (dvc repro prepare).")
    try:
        return pd.read_parquet(path, columns=[spec.target.name])[spec.target.name]
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"Cannot read column '{spec.target.name}' of {path}: {exc}. Rerun the prepare stage (dvc repro prepare)."
        ) from exc
