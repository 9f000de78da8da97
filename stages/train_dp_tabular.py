"""Stage `train_dp_tabular`: train one synthesizer with DP-SGD on the prepared training split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.params import BaseParams, load_section
from traumasynth.spec import load_spec
from traumasynth.training import TrainParams, run_train_stage

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.train_dp_tabular")


@app.command()
def main(
    model: Annotated[str, typer.Option(help="Synthesizer to train (a name of base.models: vae, ddpm).")],
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `train_dp_tabular` from.")] = Path(
        "params.yaml"
    ),
    train: Annotated[Path, typer.Option(help="Prepared training split (Parquet).")] = layout.TRAIN_SPLIT,
    out_dir: Annotated[
        Path | None, typer.Option(help="Model folder (replaced atomically); default models/<model>.")
    ] = None,
    metrics: Annotated[
        Path | None, typer.Option(help="JSON: ε spent, noise, steps, speed; default metrics/train_<model>.json.")
    ] = None,
    loss_curve: Annotated[
        Path | None,
        typer.Option(help="CSV (epoch, loss) of the training curve; default metrics/plots/loss_<model>.csv."),
    ] = None,
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Train `--model` on `--train` under the (ε, δ) of `train_dp_tabular` and save it."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        train_params = load_section(params, "train_dp_tabular", TrainParams)
        spec = load_spec(base.spec_path(datasets_dir))
        result = run_train_stage(
            model=model,
            train_path=train,
            spec=spec,
            params=train_params,
            seed=base.seed,
            out_dir=out_dir or layout.model_dir(model),
            metrics_path=metrics or layout.stage_metrics("train", model),
            loss_curve_path=loss_curve or layout.loss_curve(model),
        )
    # A closed-form fit (marginals) takes no gradient steps and has no loss.
    fit = f"{result.steps} steps, final loss {result.final_loss:.4f}" if result.steps is not None else "closed form"
    log.info(
        "trained %s: ε=%s δ=%s, %s, %.0f rows/s",
        model,
        f"{result.epsilon:.3f}" if result.epsilon is not None else "∞ (no DP)",
        result.delta,
        fit,
        result.rows_per_second,
    )


if __name__ == "__main__":
    app()
