"""Stage `evaluate`: fidelity, utility, privacy risk and narrative quality of one model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ModelOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.evaluate.inputs import InputPaths
from traumasynth.evaluate.run import EvaluateParams, ModelOutputs, run
from traumasynth.peers.stage import BaselinesParams

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    model: ModelOption,
    narratives: Annotated[bool, typer.Option(help="Evaluate its narratives too (--no-narratives: peers).")] = True,
    params: ParamsOption = PARAMS_FILE,
    prepared_dir: Annotated[Path, typer.Option(help="Folder with the real train/test splits.")] = layout.PREPARED,
    synthetic_dir: Annotated[Path, typer.Option(help="Folder with <model>[_augment].parquet.")] = layout.SYNTHETIC,
    narratives_dir: Annotated[Path, typer.Option(help="Folder with <model>.parquet narratives.")] = layout.NARRATIVES,
    metrics_dir: Annotated[
        Path, typer.Option(help="Reads train_/sample_/narrate_<model>.json, writes evaluate_<model>.json.")
    ] = layout.METRICS,
    plots_dir: Annotated[Path, typer.Option(help="Folder for the model's plot data (CSV).")] = layout.PLOTS,
    summary_dir: Annotated[Path, typer.Option(help="Folder for <model>.json, read by compare.")] = layout.EVALUATION,
    judge: Annotated[Path, typer.Option(help="SDMetrics judge (peers' Python).")] = Path("peers/quality_report.py"),
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    verbose: VerboseOption = False,
) -> None:
    """Evaluate `--model` against the real splits and write its metrics, plot data and summary."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="evaluate", params_type=EvaluateParams
    ) as stage:
        run(
            spec=stage.spec,
            model=model,
            narrated=narratives,
            seed=stage.base.seed,
            params=stage.params,
            grid=stage.load("baselines", BaselinesParams, optional=True),
            judge_script=judge,
            inputs=InputPaths(prepared_dir, synthetic_dir, narratives_dir, metrics_dir),
            outputs=ModelOutputs(
                metrics=layout.stage_metrics("evaluate", model, metrics_dir),
                plots_dir=plots_dir,
                summary=layout.evaluation_summary(model, summary_dir),
            ),
        )


if __name__ == "__main__":
    app()
