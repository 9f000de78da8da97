"""Stage `sample`: draw class-conditional synthetic rows from a trained model, with a DP class plan."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.params import BaseParams, load_section
from traumasynth.sampling import SampleParams, run_sample_stage
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.sample")


@app.command()
def main(
    model: Annotated[str, typer.Option(help="Synthesizer to sample from (a name of base.models: vae, ddpm).")],
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `sample` from.")] = Path("params.yaml"),
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
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Draw `sample.strategy` rows from `--model` and the augment top-up, and report the total (ε, δ)."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        sample_params = load_section(params, "sample", SampleParams)
        spec = load_spec(base.spec_path(datasets_dir))
        result = run_sample_stage(
            model=model,
            spec=spec,
            params=sample_params,
            seed=base.seed,
            model_dir=model_dir or layout.model_dir(model),
            train_path=train,
            train_metrics_path=train_metrics or layout.stage_metrics("train", model),
            out_path=out or layout.synthetic(model),
            augment_out_path=augment_out or layout.augment(model),
            metrics_path=metrics or layout.stage_metrics("sample", model),
        )
    log.info(
        "sampled %s: %d rows + %d augment rows, %s rows/s, ε total %s",
        model,
        result["rows"],
        result["augment_rows"],
        result["rows_per_second"],
        result["epsilon_total"] if result["epsilon_total"] is not None else "∞ (training not DP)",
    )


if __name__ == "__main__":
    app()
