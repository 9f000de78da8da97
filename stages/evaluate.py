"""Stage `evaluate`: fidelity, utility, privacy risk and narrative quality of one model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.evaluate.inputs import InputPaths
from traumasynth.evaluate.run import EvaluateParams, ModelOutputs, run_model_evaluation
from traumasynth.params import BaseParams, load_section
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.evaluate")


@app.command()
def main(
    model: Annotated[str, typer.Option(help="Model to evaluate: a name of base.models or baselines.peers.")],
    narratives: Annotated[
        bool, typer.Option(help="Evaluate its narratives too (--no-narratives for peers, which have none).")
    ] = True,
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `evaluate` from.")] = Path("params.yaml"),
    prepared_dir: Annotated[Path, typer.Option(help="Folder with the real train/test splits.")] = layout.PREPARED,
    synthetic_dir: Annotated[
        Path, typer.Option(help="Folder with <model>.parquet and <model>_augment.parquet.")
    ] = layout.SYNTHETIC,
    narratives_dir: Annotated[Path, typer.Option(help="Folder with <model>.parquet narratives.")] = layout.NARRATIVES,
    metrics_dir: Annotated[
        Path, typer.Option(help="Reads train_/sample_/narrate_<model>.json, writes evaluate_<model>.json.")
    ] = layout.METRICS,
    plots_dir: Annotated[Path, typer.Option(help="Folder for the model's plot data (CSV).")] = layout.PLOTS,
    summary_dir: Annotated[
        Path, typer.Option(help="Folder for <model>.json, read by the compare stage.")
    ] = layout.EVALUATION,
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Evaluate `--model` against the real splits and write its metrics, plot data and summary."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        evaluate = load_section(params, "evaluate", EvaluateParams)
        spec = load_spec(base.spec_path(datasets_dir))
        metrics = run_model_evaluation(
            spec=spec,
            model=model,
            narrated=narratives,
            seed=base.seed,
            params=evaluate,
            inputs=InputPaths(
                prepared_dir=prepared_dir,
                synthetic_dir=synthetic_dir,
                narratives_dir=narratives_dir,
                metrics_dir=metrics_dir,
            ),
            outputs=ModelOutputs(
                metrics=layout.stage_metrics("evaluate", model, metrics_dir),
                plots_dir=plots_dir,
                summary=layout.evaluation_summary(model, summary_dir),
            ),
        )
    u, p = metrics["utility"], metrics["privacy"]
    log.info(
        "%s: TSTR/TRTR macro-F1 %.3f, discriminator AUC %.3f, MIA AUC %.3f, ε %s",
        model,
        u["tstr_trtr_ratio"],
        metrics["fidelity"]["discriminator_auc"],
        p["mia_auc"],
        "∞ (no DP)" if p["epsilon_total"] is None else f"{p['epsilon_total']:.2f}",
    )


if __name__ == "__main__":
    app()
