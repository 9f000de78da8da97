"""Stage `compare`: the utility plot and metrics/report.md across every evaluated model and peer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.evaluate.compare import CompareOutputs, run
from traumasynth.peers.stage import BaselinesParams

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.compare")


@app.command()
def main(
    params: ParamsOption = PARAMS_FILE,
    summary_dir: Annotated[Path, typer.Option(help="Folder of <model>.json written by evaluate.")] = layout.EVALUATION,
    metrics_dir: Annotated[Path, typer.Option(help="Folder of evaluate_<model>.json.")] = layout.METRICS,
    utility_plot: Annotated[
        Path, typer.Option(help="Plot data: macro-F1 of every model and setting.")
    ] = layout.UTILITY_PLOT,
    report: Annotated[Path, typer.Option(help="Markdown comparison of the models.")] = layout.REPORT,
    verbose: VerboseOption = False,
) -> None:
    """Compare the models of `base.models` and the peers of `baselines.peers`."""
    # Peers are compared only when the optional `baselines` section asks for them.
    with open_stage(
        params=params, verbose=verbose, section="baselines", params_type=BaselinesParams, optional=True
    ) as stage:
        metrics = run(
            dataset=stage.base.dataset,
            models=tuple(stage.base.models),
            peers=tuple(stage.params.peers),
            summaries_dir=summary_dir,
            metrics_dir=metrics_dir,
            outputs=CompareOutputs(utility_plot=utility_plot, report=report),
        )
    log.info("compared %s: %s", ", ".join(metrics), report)


if __name__ == "__main__":
    app()
