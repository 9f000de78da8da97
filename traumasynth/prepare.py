"""The ``prepare`` step: validate the raw table, drop excluded columns, split it.

The test split never touches generative training: only ``train`` is given to the
synthesizers; ``val`` is there for model selection and ``test`` for the evaluation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator
from sklearn.model_selection import train_test_split

from traumasynth.datasets import load_raw
from traumasynth.errors import DataError
from traumasynth.io import atomic_dir, write_json_atomic
from traumasynth.params import FrozenParams
from traumasynth.schema import conform, validate
from traumasynth.spec import DatasetSpec

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")


class PrepareParams(FrozenParams):
    """Section ``prepare`` of params.yaml."""

    n_rows: int = Field(default=20_000, ge=100, description="simulated cohort size (ed_trauma_sim only)")
    val_size: float = Field(default=0.15, gt=0, lt=1)
    test_size: float = Field(default=0.20, gt=0, lt=1)
    min_class_rows: int = Field(default=20, ge=3)
    rare_class_policy: Literal["error", "merge"] = "error"
    merge_into: str = "other"

    @model_validator(mode="after")
    def _check_sizes(self) -> PrepareParams:
        if self.val_size + self.test_size >= 0.9:
            raise ValueError("val_size + test_size must leave at least 10 % of rows for training")
        return self


@dataclass(frozen=True)
class PreparedData:
    """The three splits, in the spec's canonical form (prepared columns only)."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    merged_classes: tuple[str, ...] = ()

    def splits(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "val": self.val, "test": self.test}


def handle_rare_classes(
    df: pd.DataFrame, *, spec: DatasetSpec, params: PrepareParams
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Apply ``rare_class_policy`` to the classes with fewer than ``min_class_rows`` rows.

    Classes with no row at all are left alone: the spec lists every public category,
    and a class absent from one hospital's data is not an error. A class with a few
    rows is: a stratified split cannot place it in every split, and a generative model
    would memorise it.

    Raises:
        DataError: a rare class under policy ``error``, or a ``merge_into`` class that is
            not a category of the target.
    """
    target = spec.target.name
    counts = df[target].value_counts()
    rare = sorted(c for c, n in counts.items() if 0 < n < params.min_class_rows)
    if not rare:
        return df, ()
    described = ", ".join(f"'{c}' ({counts[c]} rows)" for c in rare)
    if params.rare_class_policy == "error":
        raise DataError(
            f"Target '{target}' has classes with fewer than {params.min_class_rows} rows: {described}. "
            "Collect more rows, lower `prepare.min_class_rows`, or set `prepare.rare_class_policy: merge` "
            f"to fold them into `prepare.merge_into` ('{params.merge_into}')."
        )
    if params.merge_into not in spec.classes:
        raise DataError(
            f"`prepare.merge_into` is '{params.merge_into}', which is not a class of '{target}'. "
            f"Choose one of: {', '.join(spec.classes)}."
        )
    if params.merge_into in rare:
        raise DataError(f"Cannot merge {described} into '{params.merge_into}': that class is rare too.")
    out = df.copy()
    out.loc[out[target].isin(rare), target] = params.merge_into
    log.warning("Merged rare classes %s into '%s'", described, params.merge_into)
    return out, tuple(rare)


def split_table(df: pd.DataFrame, *, spec: DatasetSpec, params: PrepareParams, seed: int) -> PreparedData:
    """Stratified train/validation/test split on the target."""
    target = spec.target.name
    rest, test = train_test_split(df, test_size=params.test_size, stratify=df[target], random_state=seed)
    val_share = params.val_size / (1 - params.test_size)
    train, val = train_test_split(rest, test_size=val_share, stratify=rest[target], random_state=seed + 1)
    return PreparedData(
        train=train.reset_index(drop=True), val=val.reset_index(drop=True), test=test.reset_index(drop=True)
    )


def prepare_dataset(
    *, spec: DatasetSpec, params: PrepareParams, dataset_path: str | Path | None, seed: int
) -> PreparedData:
    """Read, validate, drop excluded columns, handle rare classes and split.

    Raises:
        SchemaError: every schema problem of the raw table, reported at once.
        DataError: the file cannot be read, or a class is too rare to split.
    """
    raw = load_raw(spec=spec, path=dataset_path, n_rows=params.n_rows, seed=seed)
    df = conform(raw, spec, what=f"dataset '{spec.name}'")
    kept = [c.name for c in spec.prepared_columns]
    df, merged = handle_rare_classes(df[kept], spec=spec, params=params)
    data = split_table(df, spec=spec, params=params, seed=seed)
    for name, split in data.splits().items():
        validate(split, spec, columns=kept, what=f"{name} split")
    return PreparedData(train=data.train, val=data.val, test=data.test, merged_classes=merged)


def prepare_metrics(data: PreparedData, *, spec: DatasetSpec) -> dict:
    """Rows and class counts per split, missingness per column.

    These figures describe the private table and carry no DP guarantee: they are for
    the data owner, not for publication.
    """
    target = spec.target.name
    splits = data.splits()
    full = pd.concat(splits.values(), ignore_index=True)
    return {
        "dataset": spec.name,
        "spec_hash": spec.spec_hash,
        "rows": {name: len(df) for name, df in splits.items()},
        "class_counts": {name: {c: int((df[target] == c).sum()) for c in spec.classes} for name, df in splits.items()},
        "missingness": {c: round(float(full[c].isna().mean()), 4) for c in full.columns},
        "merged_classes": list(data.merged_classes),
    }


def write_prepared(data: PreparedData, *, spec: DatasetSpec, out_dir: Path, metrics_path: Path) -> dict:
    """Write the splits as Parquet (all or nothing) and the metrics JSON; return the metrics."""
    with atomic_dir(out_dir) as tmp:
        for name, df in data.splits().items():
            df.to_parquet(tmp / f"{name}.parquet", index=False, engine="pyarrow", compression="zstd")
    metrics = prepare_metrics(data, spec=spec)
    write_json_atomic(metrics, metrics_path)
    return metrics


def read_split(path: Path, *, spec: DatasetSpec) -> pd.DataFrame:
    """Read a prepared split and check it still matches the spec (a spec edited since prepare is caught).

    Raises:
        DataError: the file is missing (run ``dvc repro prepare``).
        SchemaError: the split no longer matches the spec.
    """
    if not path.is_file():
        raise DataError(f"Prepared split {path} not found. Run `dvc repro prepare` first.")
    df = pd.read_parquet(path)
    return validate(df, spec, columns=list(df.columns), what=f"split {path}")
