"""Stage `train_dp_tabular`: train one synthesizer with DP-SGD on the prepared training split."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ModelOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.privacy.checkpoint import LoopControl
from traumasynth.training import TrainParams, run

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.train_dp_tabular")


@app.command()
def main(
    model: ModelOption,
    params: ParamsOption = PARAMS_FILE,
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
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    checkpoint_dir: Annotated[
        Path,
        typer.Option(help="Folder of the resumable state of a training in progress (an interrupted run continues)."),
    ] = layout.TRAIN_CHECKPOINTS,
    max_steps: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Benchmarks only: stop DP-SGD after this many steps (the model is then not the planned release).",
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Train `--model` on `--train` under the (ε, δ) of `train_dp_tabular` and save it."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="train_dp_tabular", params_type=TrainParams
    ) as stage:
        result = run(
            model=model,
            train_path=train,
            spec=stage.spec,
            params=stage.params,
            seed=stage.base.seed,
            out_dir=out_dir or layout.model_dir(model),
            metrics_path=metrics or layout.stage_metrics("train", model),
            loss_curve_path=loss_curve or layout.loss_curve(model),
            control=LoopControl(max_steps=max_steps, checkpoint=layout.train_checkpoint(model, checkpoint_dir)),
        )
    # A closed-form fit (marginals) takes no gradient steps and has no loss.
    fit = f"{result.steps} steps, final loss {result.final_loss:.4f}" if result.steps is not None else "closed form"
    eps = f"{result.epsilon:.3f}" if result.epsilon is not None else "∞ (no DP)"
    log.info("trained %s: ε=%s δ=%s, %s, %.0f rows/s", model, eps, result.delta, fit, result.rows_per_second)


if __name__ == "__main__":
    app()
