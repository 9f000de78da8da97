"""Stage `evaluate`: fidelity, utility, privacy risk and narrative quality of every model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import setup_logging, stage_errors
from traumasynth.evaluate.inputs import InputPaths
from traumasynth.evaluate.run import EvaluateParams, OutputPaths, run_evaluation
from traumasynth.params import BaseParams, load_section, read_params
from traumasynth.peers import BaselinesParams
from traumasynth.spec import load_spec

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.evaluate")


@app.command()
def main(
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `evaluate` from.")] = Path("params.yaml"),
    prepared_dir: Annotated[Path, typer.Option(help="Folder with the real train/test splits.")] = Path("data/prepared"),
    synthetic_dir: Annotated[
        Path, typer.Option(help="Folder with <model>.parquet and <model>_augment.parquet.")
    ] = Path("data/synthetic"),
    narratives_dir: Annotated[Path, typer.Option(help="Folder with <model>.parquet narratives.")] = Path(
        "data/narratives"
    ),
    metrics_dir: Annotated[
        Path, typer.Option(help="Reads train_/sample_/narrate_<model>.json, writes evaluate_<model>.json.")
    ] = Path("metrics"),
    plots_dir: Annotated[Path, typer.Option(help="Folder for plot data (CSV).")] = Path("metrics/plots"),
    report: Annotated[Path, typer.Option(help="Markdown comparison of the models.")] = Path("metrics/report.md"),
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = Path("datasets"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Evaluate every model of `base.models` against the real splits and write metrics, plots and a report."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        evaluate = load_section(params, "evaluate", EvaluateParams)
        # Peers are scored only when the optional `baselines` section asks for them.
        has_baselines = "baselines" in read_params(params)
        peers = load_section(params, "baselines", BaselinesParams).peers if has_baselines else ()
        spec = load_spec(base.spec_path(datasets_dir))
        results = run_evaluation(
            spec=spec,
            models=base.models,
            peers=tuple(peers),
            seed=base.seed,
            params=evaluate,
            inputs=InputPaths(
                prepared_dir=prepared_dir,
                synthetic_dir=synthetic_dir,
                narratives_dir=narratives_dir,
                metrics_dir=metrics_dir,
            ),
            outputs=OutputPaths(metrics_dir=metrics_dir, plots_dir=plots_dir, report=report),
        )
    for model, metrics in results.items():
        u, p = metrics["utility"], metrics["privacy"]
        log.info(
            "%s: TSTR/TRTR macro-F1 %.3f, discriminator AUC %.3f, MIA AUC %.3f, ε %.2f",
            model,
            u["tstr_trtr_ratio"],
            metrics["fidelity"]["discriminator_auc"],
            p["mia_auc"],
            float("inf") if p["epsilon_total"] is None else p["epsilon_total"],
        )


if __name__ == "__main__":
    app()
