"""Stage ``sample``: how many synthetic rows of each class to draw, and drawing them.

Strategies (``sample.strategy``):

- ``match``: the class mix of the training split, read from a DP noisy histogram of its
  labels (its noise is set by the budget plan of the training stage, so the release as a
  whole spends at most the training ε);
- ``balanced``: the same number of rows for every class;
- ``counts``: the rows per class written in ``sample.counts`` (others get none);
- ``augment``: only the top-up rows that bring every class whose DP count is below
  ``sample.augment_target`` up to it.

Whatever the strategy, the stage also writes the augment file (the ``augment`` top-up
rows, used by the evaluation's train-on-real-plus-synthetic task). It reuses the same DP
histogram: post-processing of a released histogram costs no further privacy.

The synthetic table holds the modelled columns plus the spec's identifier column,
filled with ``<model>-000001``, ``<model>-000002``...; the augment file continues the
numbering, so ids are unique across both files.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from tqdm.auto import tqdm

from traumasynth.enforce import EnforcedDraw, draw_valid
from traumasynth.errors import DataError, ParamsError, SchemaError
from traumasynth.io import read_json_object, write_json_atomic, write_parquet_atomic
from traumasynth.models import Synthesizer, get_synthesizer
from traumasynth.params import FrozenParams
from traumasynth.privacy.histogram import HistogramRelease, gaussian_histogram
from traumasynth.privacy.keys import keyed_rng
from traumasynth.privacy.plan import BudgetPlan
from traumasynth.schema import empty_frame, validate
from traumasynth.spec import DatasetSpec

logger = logging.getLogger(__name__)

Strategy = Literal["match", "balanced", "counts", "augment"]


class SampleParams(FrozenParams):
    """Section ``sample`` of ``params.yaml``.

    Attributes:
        strategy: ``match``, ``balanced``, ``counts`` or ``augment`` (see module docstring).
        n_rows: rows of the main file for ``match`` and ``balanced``; ``None`` = the DP
            estimate of the training size (the sum of the noisy class histogram).
        counts: rows per class for ``counts``, e.g. ``{"self_harm": 1000}``.
        augment_target: a class whose DP count is below this is topped up to it in the
            augment file (and, for ``augment``, in the main file).
        secure_noise: draw the histogram noise from the operating system's CSPRNG instead
            of the generator keyed by the custodian's noise key (``traumasynth.privacy.keys``);
            runs are then no longer byte-for-byte reproducible.
        batch_size: rows asked of the model per call (the progress bar's step).
        enforce_constraints: drop the rows that break a clinical rule of the dataset
            specification and draw more of the same class until the counts are met
            (``traumasynth.enforce``); ``false`` releases the rows as drawn and only reports
            how many break a rule.
    """

    strategy: Strategy = "match"
    n_rows: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    augment_target: int = Field(default=1000, ge=1)
    secure_noise: bool = False
    batch_size: int = Field(default=5000, ge=1)
    enforce_constraints: bool = True


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


# -- the class plan -----------------------------------------------------------------------
def dp_class_histogram(
    *, labels: pd.Series, spec: DatasetSpec, noise_multiplier: float | None, rng: np.random.Generator
) -> HistogramRelease:
    """DP noisy counts of the training labels, one per class in spec order.

    ``noise_multiplier`` is the budget plan's (``None``: exact counts, for a non-DP reference run).

    Raises:
        SchemaError: a label is not a class of the spec.
        PrivacyBudgetError: invalid ε/δ for the chosen mechanism.
    """
    lookup = {c: i for i, c in enumerate(spec.classes)}
    codes = labels.astype(object).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    unknown = sorted({str(v) for v in labels[codes < 0]})
    if unknown:
        raise SchemaError(
            f"The training labels of '{spec.target.name}' hold values that are not classes of '{spec.name}':",
            [f"{', '.join(unknown[:5])}. Valid classes: {', '.join(spec.classes)}. Rerun `dvc repro prepare`."],
        )
    return gaussian_histogram(codes=codes, n_bins=len(spec.classes), noise_multiplier=noise_multiplier, rng=rng)


def check_counts(*, counts: dict[str, int], spec: DatasetSpec) -> None:
    """Reject unknown classes and negative or non-integer counts, all at once.

    Raises:
        ParamsError: listing every bad entry and the valid classes.
    """
    problems = [
        f"'{name}' is not a class of '{spec.target.name}'. Valid classes: {', '.join(spec.classes)}."
        for name in counts
        if name not in spec.classes
    ]
    problems += [
        f"sample.counts.{name} = {value}: a count must be a whole number >= 0."
        for name, value in counts.items()
        if not isinstance(value, int) or isinstance(value, bool) or value < 0
    ]
    if problems:
        raise ParamsError("Invalid sample.counts:\n  - " + "\n  - ".join(problems))


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``weights`` into integers that sum to ``total`` exactly."""
    shares = total * weights / weights.sum()
    base = np.floor(shares).astype(np.int64)
    order = np.argsort(-(shares - base), kind="stable")  # ties: spec order
    base[order[: total - int(base.sum())]] += 1
    return base


def augment_counts(*, dp_counts: np.ndarray, target: int, spec: DatasetSpec) -> dict[str, int]:
    """Top-up rows per rare class: ``target - dp_count`` for every class whose DP count is below ``target``."""
    return {c: int(target - n) for c, n in zip(spec.classes, dp_counts, strict=True) if n < target}


def plan_class_counts(*, params: SampleParams, spec: DatasetSpec, dp_counts: np.ndarray) -> dict[str, int]:
    """Rows per class of the main file for ``params.strategy`` (classes in spec order).

    Args:
        params: section ``sample``.
        spec: the dataset specification (its classes).
        dp_counts: the DP class histogram of the training labels (post-processing only).

    Raises:
        ParamsError: a size of 0 or less, bad ``counts``, or nothing to draw.
        DataError: the DP histogram is all zero where the strategy needs it.
    """
    classes = spec.classes
    if params.n_rows is not None and params.n_rows <= 0:
        raise ParamsError(
            f"sample.n_rows = {params.n_rows}: the synthetic table needs at least one row. "
            "Set a positive number, or null for the DP estimate of the training size."
        )
    if params.strategy == "counts" or params.counts:
        check_counts(counts=params.counts, spec=spec)
    dp_total = int(dp_counts.sum())
    if params.strategy in ("counts", "augment") and params.n_rows is not None:
        logger.info("sample.n_rows is not used by strategy `%s` (its counts set the size)", params.strategy)
    if params.strategy == "counts":
        plan = {c: int(params.counts.get(c, 0)) for c in classes}
        if sum(plan.values()) == 0:
            raise ParamsError(
                "sample.strategy is `counts` but sample.counts asks for 0 rows in total. "
                "Give at least one class a positive count, e.g. {self_harm: 1000}."
            )
        return plan
    if params.strategy == "augment":
        plan = {c: 0 for c in classes} | augment_counts(dp_counts=dp_counts, target=params.augment_target, spec=spec)
        if sum(plan.values()) == 0:
            raise ParamsError(
                f"sample.strategy is `augment` but every class already has at least sample.augment_target = "
                f"{params.augment_target} rows (DP counts), so there is nothing to top up: 0 rows. "
                "Raise sample.augment_target or choose another strategy."
            )
        return plan
    n_rows = params.n_rows if params.n_rows is not None else dp_total
    if n_rows <= 0:
        raise DataError(
            "The DP class histogram of the training labels sums to 0, so it gives no training size to match. "
            "Set sample.n_rows, raise train_dp_tabular.histogram_share, "
            "or check that data/prepared/train.parquet has rows."
        )
    if params.strategy == "balanced":
        sizes = _largest_remainder(n_rows, np.ones(len(classes)))
    else:  # match
        if dp_total <= 0:
            raise DataError(
                "The DP class histogram of the training labels is all zero: there is no class mix to match. "
                "Raise train_dp_tabular.histogram_share or use strategy `balanced` or `counts`."
            )
        sizes = _largest_remainder(n_rows, dp_counts.astype(np.float64))
    return {c: int(k) for c, k in zip(classes, sizes, strict=True)}


# -- drawing ------------------------------------------------------------------------------
def sample_rows(
    *,
    synthesizer: Synthesizer,
    counts: dict[str, int],
    seed: int,
    batch_size: int = 5000,
    desc: str = "sampling",
) -> pd.DataFrame:
    """Draw exactly ``counts[c]`` rows of each class, shuffled, in the spec's form.

    Rows are drawn in batches of ``batch_size`` (in class order), each with its own seed
    derived from ``seed``, then shuffled with ``seed``: the same inputs give the same frame.

    Raises:
        ParamsError: a negative count, or a class the model does not know.
    """
    spec = synthesizer.spec
    check_counts(counts=counts, spec=spec)
    labels = np.concatenate([np.full(int(k), c, dtype=object) for c, k in counts.items()] + [np.array([], object)])
    pieces: list[pd.DataFrame] = []
    batches = range(0, len(labels), batch_size)
    for i, start in enumerate(tqdm(batches, desc=desc, unit="batch", leave=False, disable=len(batches) <= 1)):
        chunk = labels[start : start + batch_size]
        names, sizes = np.unique(chunk, return_counts=True)
        conditions = {str(c): int(k) for c, k in zip(names, sizes, strict=True)}
        batch_seed = int(np.random.SeedSequence([seed, i]).generate_state(1, dtype=np.uint64)[0] >> 1)
        pieces.append(synthesizer.sample(len(chunk), conditions=conditions, seed=batch_seed))
    if not pieces:
        return empty_frame(spec, [c.name for c in spec.modelled_columns])
    frame = pd.concat(pieces, ignore_index=True)
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def synthetic_columns(spec: DatasetSpec) -> list[str]:
    """Columns of a synthetic table, in spec order: the identifier (if any) and the modelled columns."""
    keep = {c.name for c in spec.modelled_columns}
    if spec.id_column is not None:
        keep.add(spec.id_column.name)
    return [c.name for c in spec.columns if c.name in keep]


def with_ids(frame: pd.DataFrame, *, spec: DatasetSpec, model: str, start: int = 1) -> pd.DataFrame:
    """Add the spec's identifier column (``<model>-000001``...) and validate the synthetic table.

    Raises:
        SchemaError: the table breaks the spec (listing every problem).
    """
    out = frame.copy()
    if spec.id_column is not None:
        ids = [f"{model}-{i:06d}" for i in range(start, start + len(frame))]
        out[spec.id_column.name] = pd.Series(ids, index=out.index, dtype="str")
    columns = synthetic_columns(spec)
    out = out[columns]
    return validate(out, spec, columns=columns, what=f"{model} synthetic table")


# -- the stage ----------------------------------------------------------------------------
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


def histogram_rng(*, params: SampleParams, seed: int) -> np.random.Generator:
    """The generator of the histogram noise: keyed by the custodian's secret (``traumasynth.privacy.keys``;
    reproducible with the same key) or, with ``secure_noise``, the OS CSPRNG (not reproducible)."""
    if params.secure_noise:
        return np.random.default_rng(secrets.randbits(128))
    return keyed_rng("class histogram", seed)


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
        dp_counts=release.counts, target=params.augment_target, spec=spec
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


def run_sample_stage(
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
