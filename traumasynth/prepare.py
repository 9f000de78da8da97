"""The ``prepare`` stage: validate the raw table, drop excluded columns, split it.

``run`` is the stage's entry point (``stages/prepare.py``); ``prepare_dataset`` and
``write_prepared`` are its two halves, in memory and on disk.

The test split never touches generative training: only ``train`` is given to the
synthesizers; ``val`` is there for model selection and ``test`` for the evaluation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ConfigDict, Field, model_validator
from sklearn.model_selection import train_test_split

from traumasynth.core import layout
from traumasynth.core.errors import DataError
from traumasynth.core.io import atomic_dir, write_json_atomic
from traumasynth.datasets import load_raw
from traumasynth.spec import DatasetSpec
from traumasynth.spec.coded import at_code_share
from traumasynth.spec.constraints import ConstraintReport, check_constraints
from traumasynth.spec.merge import ClassMerge
from traumasynth.spec.schema import conform_clipped, validate

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")


class PrepareParams(ClassMerge):
    """Section ``prepare`` of params.yaml (the merge keys come from ``traumasynth.spec.merge.ClassMerge``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_rows: int = Field(default=20_000, ge=100, description="simulated cohort size (ed_trauma_sim only)")
    val_size: float = Field(default=0.15, gt=0, lt=1)
    test_size: float = Field(default=0.20, gt=0, lt=1)
    min_class_rows: int = Field(default=20, ge=3)

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
    clipped: dict[str, int] = field(default_factory=dict)
    rows_without_target: int = 0

    def splits(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "val": self.val, "test": self.test}


def handle_rare_classes(
    df: pd.DataFrame, *, spec: DatasetSpec, params: PrepareParams
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Fold ``merge_classes`` into ``merge_into`` (policy ``merge``); refuse any class still rare.

    Which classes merge is named in advance (public knowledge: "burns are too few in any ED"),
    never chosen from the counts: a merge decided on exact counts would relabel rows whenever
    one row more or less crosses the threshold, outside ε. Classes with no row at all are left
    alone: the spec lists every public category, and a class absent from one hospital's data is
    not an error. A class with a few rows is: a stratified split cannot place it in every split,
    and a generative model would memorise it.

    Raises:
        DataError: a rare class not named in ``merge_classes``.
        ParamsError: a merge that names classes the target does not have.
    """
    target = spec.target.name
    params.apply(spec)  # refuses a merge naming classes the target does not have
    merged = params.folded
    if merged:
        df = df.copy()
        df.loc[df[target].isin(merged), target] = params.merge_into
        log.info("Folded classes %s into '%s' (prepare.merge_classes)", ", ".join(merged), params.merge_into)
    counts = df[target].value_counts()
    rare = sorted(c for c, n in counts.items() if 0 < n < params.min_class_rows)
    if rare:
        # Names only, no counts: the custodian's choice of merges is already a decision on the private
        # rows (the privacy card says so); exact counts would invite finer ones.
        described = ", ".join(f"'{c}'" for c in rare)
        raise DataError(
            f"Target '{target}' has classes with fewer than {params.min_class_rows} rows: {described}. "
            "Collect more rows, lower `prepare.min_class_rows`, or set `prepare.rare_class_policy: merge` "
            f"with these classes in `prepare.merge_classes` to fold them into `prepare.merge_into` "
            f"('{params.merge_into}')."
        )
    return df, merged


def split_table(df: pd.DataFrame, *, spec: DatasetSpec, params: PrepareParams, seed: int) -> PreparedData:
    """Stratified train/validation/test split on the target."""
    target = spec.target.name
    rest, test = train_test_split(df, test_size=params.test_size, stratify=df[target], random_state=seed)
    val_share = params.val_size / (1 - params.test_size)
    train, val = train_test_split(rest, test_size=val_share, stratify=rest[target], random_state=seed + 1)
    return PreparedData(
        train=train.reset_index(drop=True), val=val.reset_index(drop=True), test=test.reset_index(drop=True)
    )


def warn_if_unseen_by_dvc(*, dataset_path: str | Path | None, raw_dir: Path) -> bool:
    """Log a warning when the raw file lies outside ``raw_dir``, the folder ``prepare`` depends on in dvc.yaml.

    ``base.dataset_path`` is a parameter: DVC sees a change of the path, not of the file behind it.
    A file inside ``raw_dir`` is part of the stage's dependency, so replacing it reruns ``prepare``.

    Returns:
        Whether a warning was logged (never for an empty path: the simulator, or NEISS's default sample).
    """
    if not dataset_path:
        return False
    if Path(dataset_path).resolve().is_relative_to(raw_dir.resolve()):
        return False
    log.warning(
        "%s is outside %s/: DVC cannot see changes to it, so `dvc status` and `dvc repro` will not rerun prepare "
        "when it is replaced. Move it into %s/ and point base.dataset_path there (or run `dvc repro --force prepare`).",
        dataset_path,
        raw_dir,
        raw_dir,
    )
    return True


def prepare_dataset(
    *, spec: DatasetSpec, params: PrepareParams, dataset_path: str | Path | None, seed: int
) -> PreparedData:
    """Read, validate, drop excluded columns, handle rare classes and split.

    Args:
        spec: the specification as written: the raw table may hold the classes ``params`` folds.

    Returns:
        The splits, in the form of ``params.apply(spec)`` (the specification without folded classes).

    Raises:
        SchemaError: every schema problem of the raw table, reported at once.
        DataError: the file cannot be read, or a class is too rare to split.
    """
    raw = load_raw(spec=spec, path=dataset_path, n_rows=params.n_rows, seed=seed)
    df, clipped = conform_clipped(raw, spec, what=f"dataset '{spec.name}'")
    for column, n in clipped.items():
        if n:
            log.warning("%d value(s) of '%s' lay outside the spec's bounds and were clipped to them.", n, column)
    kept = [c.name for c in spec.prepared_columns]
    df, without_target = drop_rows_without_target(df[kept], spec=spec)
    df, merged = handle_rare_classes(df, spec=spec, params=params)
    data = split_table(df, spec=spec, params=params, seed=seed)
    prepared_spec = params.apply(spec)  # the folded classes are gone from here on
    for name, split in data.splits().items():
        validate(split, prepared_spec, columns=kept, what=f"{name} split")
    report_rule_violations(df, spec=prepared_spec)
    return PreparedData(
        train=data.train,
        val=data.val,
        test=data.test,
        merged_classes=merged,
        clipped=clipped,
        rows_without_target=without_target,
    )


def drop_rows_without_target(df: pd.DataFrame, *, spec: DatasetSpec) -> tuple[pd.DataFrame, int]:
    """Leave out the rows whose target is missing (a ``nullable`` target): no class to learn or test them on.

    Returns:
        The rows with a target, and how many were left out (``metrics/prepare.json``, custodian's side).

    Raises:
        DataError: no row has a target value.
    """
    target = spec.target.name
    missing = df[target].isna()
    n = int(missing.sum())
    if n == len(df):
        raise DataError(f"No row has a value of the target '{target}'. Check the column the spec names as target.")
    if n:
        log.warning("%d row(s) have no value of the target '%s' and were left out (metrics/prepare.json).", n, target)
    return df[~missing].reset_index(drop=True), n


def report_rule_violations(df: pd.DataFrame, *, spec: DatasetSpec) -> ConstraintReport:
    """Check the specification's clinical rules on the real rows and log each broken rule (not fatal).

    Real data may break a rule (a coding error, or a rule that is too strict): the rows are kept
    as they are, and the counts go to ``metrics/prepare.json`` so that the rule or the data can be
    looked at. ``sample`` still enforces the rule on the synthetic rows.
    """
    report = check_constraints(df, spec.constraints)
    rules = {rule.name: rule for rule in spec.constraints}
    for name, n in report.counts.items():
        if n:
            log.warning(
                "%d real row(s) (%.2f %%) break clinical rule '%s' (%s: %s). Check the data, or the rule in the "
                "dataset specification.",
                n, 100 * n / max(report.rows, 1), name, rules[name].description, rules[name],
            )  # fmt: skip
    return report


def prepare_metrics(data: PreparedData, *, spec: DatasetSpec) -> dict:
    """Rows and class counts per split, missingness per column, rows breaking each clinical rule.

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
        "rows_without_target": data.rows_without_target,
        # share of each numeric column's values clipped to the spec's bounds (custodian's side only)
        "clipped_share": {c: round(n / max(len(full), 1), 6) for c, n in data.clipped.items()},
        # share of each top- or bottom-coded column's values at its code (read from its label or past it)
        "coded_share": {
            c.name: at_code_share(full[c.name], c) for c in spec.prepared_columns if c.top_code or c.bottom_code
        },
        "constraints": check_constraints(full, spec.constraints).to_metrics(),
    }


def write_prepared(data: PreparedData, *, spec: DatasetSpec, out_dir: Path, metrics_path: Path) -> dict:
    """Write the splits as Parquet (all or nothing) and the metrics JSON; return the metrics."""
    with atomic_dir(out_dir) as tmp:
        for name, df in data.splits().items():
            df.to_parquet(layout.split(name, tmp), index=False, engine="pyarrow", compression="zstd")
    metrics = prepare_metrics(data, spec=spec)
    write_json_atomic(metrics, metrics_path)
    return metrics


def run(
    *,
    spec: DatasetSpec,
    params: PrepareParams,
    seed: int,
    dataset_path: str | Path | None,
    raw_dir: Path,
    out_dir: Path,
    metrics_path: Path,
) -> dict:
    """The ``prepare`` stage: read, check and split the raw table, then write the splits and their metrics.

    Args:
        spec: the dataset specification as written (``Stage.written_spec``): the raw rows may hold the
            classes that ``params`` folds; the splits and metrics follow ``params.apply(spec)``.
        params: the ``prepare`` section.
        seed: ``base.seed``.
        dataset_path: ``base.dataset_path`` (empty or None: the reader's default, or the simulator).
        raw_dir: the folder ``prepare`` depends on in dvc.yaml; a raw file outside it is warned about.
        out_dir: folder for the train/val/test Parquet files (replaced all or nothing).
        metrics_path: the metrics JSON (``metrics/prepare.json``).

    Returns:
        The metrics written to ``metrics_path``.

    Raises:
        SchemaError: every schema problem of the raw table, reported at once.
        DataError: the file cannot be read, or a class is too rare to split.
        ParamsError: the merge names classes the target does not have.
    """
    if spec.reader != "ed_trauma_sim":
        warn_if_unseen_by_dvc(dataset_path=dataset_path, raw_dir=raw_dir)
    data = prepare_dataset(spec=spec, params=params, dataset_path=dataset_path or None, seed=seed)
    return write_prepared(data, spec=params.apply(spec), out_dir=out_dir, metrics_path=metrics_path)


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
