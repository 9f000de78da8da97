"""Stage `sample`: draw class-conditional synthetic rows from a trained model, with a DP class plan."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ModelOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.sampling.params import SampleParams
from traumasynth.sampling.stage import run

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.sample")


@app.command()
def main(
    model: ModelOption,
    params: ParamsOption = PARAMS_FILE,
    model_dir: Annotated[Path | None, typer.Option(help="Trained model folder; default models/<model>.")] = None,
    train: Annotated[
        Path, typer.Option(help="Prepared training split: only its labels are read, under DP.")
    ] = layout.TRAIN_SPLIT,
    train_metrics: Annotated[
        Path | None, typer.Option(help="Training metrics (its budget plan); default metrics/train_<model>.json.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Synthetic table; default data/synthetic/<model>.parquet.")] = None,
    augment_out: Annotated[
        Path | None, typer.Option(help="Rare-class top-up rows; default data/synthetic/<model>_augment.parquet.")
    ] = None,
    metrics: Annotated[
        Path | None, typer.Option(help="Rows, speed and the composed ε; default metrics/sample_<model>.json.")
    ] = None,
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    verbose: VerboseOption = False,
) -> None:
    """Draw `sample.strategy` rows from `--model` and the augment top-up, and report the total (ε, δ)."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="sample", params_type=SampleParams
    ) as stage:
        result = run(
            model=model, spec=stage.spec, params=stage.params, seed=stage.base.seed, train_path=train,
            model_dir=model_dir or layout.model_dir(model),
            train_metrics_path=train_metrics or layout.stage_metrics("train", model),
            out_path=out or layout.synthetic(model), augment_out_path=augment_out or layout.augment(model),
            metrics_path=metrics or layout.stage_metrics("sample", model),
        )  # fmt: skip
    eps = result["epsilon_total"] if result["epsilon_total"] is not None else "∞ (training not DP)"
    log.info("sampled %s: %d rows + %d augment rows, %s rows/s, ε total %s", model, result["rows"],
             result["augment_rows"], result["rows_per_second"], eps)  # fmt: skip


if __name__ == "__main__":
    app()
