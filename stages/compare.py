"""Stage `compare`: the utility plot and metrics/report.md across every evaluated model and peer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.evaluate.compare import CompareOutputs, compare_models
from traumasynth.params import BaseParams, load_section, read_params
from traumasynth.peers import BaselinesParams

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.compare")


@app.command()
def main(
    params: Annotated[Path, typer.Option(help="params.yaml to read `base` and `baselines` from.")] = Path(
        "params.yaml"
    ),
    summary_dir: Annotated[Path, typer.Option(help="Folder of <model>.json written by evaluate.")] = layout.EVALUATION,
    metrics_dir: Annotated[Path, typer.Option(help="Folder of evaluate_<model>.json.")] = layout.METRICS,
    utility_plot: Annotated[
        Path, typer.Option(help="Plot data: macro-F1 of every model and setting.")
    ] = layout.UTILITY_PLOT,
    report: Annotated[Path, typer.Option(help="Markdown comparison of the models.")] = layout.REPORT,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Compare the models of `base.models` and the peers of `baselines.peers`."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        # Peers are compared only when the optional `baselines` section asks for them.
        has_baselines = "baselines" in read_params(params)
        peers = load_section(params, "baselines", BaselinesParams).peers if has_baselines else ()
        metrics = compare_models(
            dataset=base.dataset,
            models=tuple(base.models),
            peers=tuple(peers),
            summaries_dir=summary_dir,
            metrics_dir=metrics_dir,
            outputs=CompareOutputs(utility_plot=utility_plot, report=report),
        )
    log.info("compared %s: %s", ", ".join(metrics), report)


if __name__ == "__main__":
    app()
