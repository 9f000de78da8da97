"""Reading what the earlier stages wrote, checking all of it before any metric is computed.

``check_inputs`` lists every missing file at once, each with the ``dvc repro`` command that
writes it, so a run never stops half-way through the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.core.io import read_json_object
from traumasynth.spec import DatasetSpec
from traumasynth.spec.ids import NARRATIVE_ID
from traumasynth.spec.schema import validate

NARRATIVE_TEXT = "narrative"


@dataclass(frozen=True)
class InputPaths:
    """Where the stage reads: prepared splits, synthetic tables, narratives and earlier metrics."""

    prepared_dir: Path
    synthetic_dir: Path
    narratives_dir: Path
    metrics_dir: Path

    def synthetic(self, model: str) -> Path:
        return layout.synthetic(model, self.synthetic_dir)

    def augment(self, model: str) -> Path:
        return layout.augment(model, self.synthetic_dir)

    def narratives(self, model: str) -> Path:
        return layout.narratives(model, self.narratives_dir)

    def stage_metrics(self, stage: str, model: str) -> Path:
        return layout.stage_metrics(stage, model, self.metrics_dir)

    def checker_metrics(self, dataset: str) -> Path:
        """The fact checker's recall and precision on the dataset's labelled notes (written by its test)."""
        return layout.checker_metrics(dataset, self.metrics_dir / layout.CHECKER_METRICS.name)


@dataclass(frozen=True)
class ModelInputs:
    """Everything evaluated for one model.

    Attributes:
        synthetic: the sampled table (modelled columns, plus the id column when the spec has one).
        augment: rare-class synthetic rows (same columns; may be empty).
        sample_metrics: ``metrics/sample_<model>.json`` (holds ``epsilon_total``, ``delta_total``).
        train_metrics: ``metrics/train_<model>.json`` when present (``epsilon``, ``delta``).
        narratives: the narrate output, or None when narratives are optional and absent.
        narrate_metrics: ``metrics/narrate_<model>.json`` when present.
        narrative_id: the column of ``narratives`` holding the synthetic row id.
        synthetic_path: where ``synthetic`` was read (for messages).
        checker_metrics: ``metrics/checker/<dataset>.json`` when narratives are read and the
            dataset has a labelled set (the fact checker's measured recall and precision).
    """

    model: str
    synthetic_path: Path
    synthetic: pd.DataFrame
    augment: pd.DataFrame
    sample_metrics: dict[str, Any]
    train_metrics: dict[str, Any] | None
    narratives: pd.DataFrame | None
    narrate_metrics: dict[str, Any] | None
    narrative_id: str | None
    checker_metrics: dict[str, Any] | None = None


def check_inputs(*, models: tuple[str, ...], paths: InputPaths, narrated: tuple[str, ...]) -> None:
    """Raise one DataError naming every missing input file and the stage that writes it."""
    needed: list[tuple[Path, str]] = [
        (layout.split("train", paths.prepared_dir), "dvc repro prepare"),
        (layout.split("test", paths.prepared_dir), "dvc repro prepare"),
    ]
    for m in models:
        needed += [
            (paths.synthetic(m), f"dvc repro sample@{m}"),
            (paths.augment(m), f"dvc repro sample@{m}"),
            (paths.stage_metrics("sample", m), f"dvc repro sample@{m}"),
        ]
        if m in narrated:
            needed.append((paths.narratives(m), f"dvc repro narrate@{m}"))
    missing = [f"{path} (written by `{stage}`)" for path, stage in needed if not path.is_file()]
    if missing:
        raise DataError(
            "Cannot evaluate: input files are missing:\n  - "
            + "\n  - ".join(missing)
            + "\nRun the stages named above (or `dvc repro`) first."
        )


def read_json(path: Path) -> dict[str, Any]:
    """Read a metrics JSON file (a mapping)."""
    return read_json_object(path, fix="Re-run the stage that writes it.")


def read_synthetic(path: Path, *, spec: DatasetSpec, model: str) -> pd.DataFrame:
    """Read a synthetic table and check it against the spec (modelled columns, optional id)."""
    df = pd.read_parquet(path)
    columns = [c.name for c in spec.modelled_columns]
    if spec.id_column is not None and spec.id_column.name in df.columns:
        columns.append(spec.id_column.name)
    return validate(df, spec, columns=columns, what=f"synthetic table {path} (re-run `dvc repro sample@{model}`)")


def narrative_id_column(df: pd.DataFrame, *, spec: DatasetSpec, path: Path) -> str:
    """The column of the narratives file that holds the synthetic row id (``row_id`` as narrate writes it)."""
    candidates = [NARRATIVE_ID] + ([spec.id_column.name] if spec.id_column is not None else [])
    for name in candidates:
        if name in df.columns:
            return name
    raise DataError(
        f"{path} has no row-id column (looked for {', '.join(candidates)}); columns are {', '.join(df.columns)}. "
        "Re-run the narrate stage."
    )


def read_narratives(path: Path, *, model: str) -> pd.DataFrame:
    """Read a narrate output and check it has a ``narrative`` text column."""
    df = pd.read_parquet(path)
    if NARRATIVE_TEXT not in df.columns:
        raise DataError(
            f"{path} has no '{NARRATIVE_TEXT}' column (columns: {', '.join(df.columns)}). "
            f"Re-run `dvc repro narrate@{model}`."
        )
    return df


def load_model_inputs(*, model: str, paths: InputPaths, spec: DatasetSpec, narrated: bool = True) -> ModelInputs:
    """Read one model's files (``check_inputs`` has run: required files exist).

    ``narrated`` false (a peer) leaves narratives out even when a file of that name exists.
    """
    train_path = paths.stage_metrics("train", model)
    narr_path = paths.narratives(model)
    narr_metrics = paths.stage_metrics("narrate", model)
    checker = paths.checker_metrics(spec.name)
    narratives = read_narratives(narr_path, model=model) if narrated and narr_path.is_file() else None
    if narratives is not None and narratives.empty:  # narrate.n_rows: 0, a table-only run
        narratives = None
    return ModelInputs(
        model=model,
        synthetic_path=paths.synthetic(model),
        synthetic=read_synthetic(paths.synthetic(model), spec=spec, model=model),
        augment=read_synthetic(paths.augment(model), spec=spec, model=model),
        sample_metrics=read_json(paths.stage_metrics("sample", model)),
        train_metrics=read_json(train_path) if train_path.is_file() else None,
        narratives=narratives,
        narrate_metrics=read_json(narr_metrics) if narratives is not None and narr_metrics.is_file() else None,
        narrative_id=narrative_id_column(narratives, spec=spec, path=narr_path) if narratives is not None else None,
        checker_metrics=read_json(checker) if narratives is not None and checker.is_file() else None,
    )
