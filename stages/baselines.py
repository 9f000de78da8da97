"""Stage `baselines`: fit one peer synthesizer (SDV or smartnoise-synth) on the same split as our models.

The peer runs in the separate environment `.venv-peers` (see
docs/peers-and-sweeps.md); this stage writes the same files as `sample@<model>`, so `evaluate`
scores a peer with the same code, splits and metrics as our models.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth import layout
from traumasynth.cli import setup_logging, stage_errors
from traumasynth.params import BaseParams, load_section
from traumasynth.peers import BaselinesParams, find_peers_python, run_baseline_stage
from traumasynth.spec import load_spec
from traumasynth.training import TrainParams

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.baselines")


@app.command()
def main(
    peer: Annotated[str, typer.Option(help="Peer to fit: gaussian_copula, ctgan, tvae (SDV, no DP), aim, mst (DP).")],
    params: Annotated[
        Path, typer.Option(help="params.yaml: `base`, `baselines`, and ε/δ of `train_dp_tabular`.")
    ] = Path("params.yaml"),
    train: Annotated[Path, typer.Option(help="Prepared training split (Parquet).")] = layout.TRAIN_SPLIT,
    out: Annotated[
        Path | None, typer.Option(help="Synthetic table, as `sample` writes it; default data/synthetic/<peer>.parquet.")
    ] = None,
    augment_out: Annotated[
        Path | None, typer.Option(help="Augment file (written empty: peers have no top-up); default like sample's.")
    ] = None,
    train_metrics: Annotated[
        Path | None, typer.Option(help="ε, δ, fit and sample seconds, library; default metrics/train_<peer>.json.")
    ] = None,
    sample_metrics: Annotated[
        Path | None, typer.Option(help="Rows and total (ε, δ) for evaluate; default metrics/sample_<peer>.json.")
    ] = None,
    peers_python: Annotated[
        Path | None,
        typer.Option(
            help="Python of the peers' environment; default $TRAUMASYNTH_PEERS_PYTHON, else "
            ".venv-peers/bin/python here or in a parent folder (queued experiments run in .dvc/tmp/exps/)."
        ),
    ] = None,
    worker: Annotated[Path, typer.Option(help="The worker script run with --peers-python.")] = Path(
        "peers/run_peer.py"
    ),
    datasets_dir: Annotated[Path, typer.Option(help="Folder of dataset specifications.")] = layout.DATASETS,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Fit `--peer` on `--train` in the peers' environment and write its synthetic table and metrics."""
    setup_logging(verbose)
    with stage_errors():
        base = load_section(params, "base", BaseParams)
        baselines = load_section(params, "baselines", BaselinesParams)
        train_params = load_section(params, "train_dp_tabular", TrainParams)
        spec = load_spec(base.spec_path(datasets_dir))
        metrics = run_baseline_stage(
            peer=peer,
            spec=spec,
            params=baselines,
            epsilon=train_params.epsilon,
            delta=train_params.delta,
            seed=base.seed,
            train_path=train,
            python=peers_python or find_peers_python(Path.cwd()),
            script=worker,
            out_path=out or layout.synthetic(peer),
            augment_out_path=augment_out or layout.augment(peer),
            train_metrics_path=train_metrics or layout.stage_metrics("train", peer),
            sample_metrics_path=sample_metrics or layout.stage_metrics("sample", peer),
        )
    log.info(
        "%s (%s): ε=%s, fit %.1f s, %d rows at %s rows/s",
        peer,
        metrics["library_version"],
        metrics["epsilon"] if metrics["dp"] else "∞ (no DP)",
        metrics["train_seconds"],
        metrics["rows"],
        metrics["rows_per_second"],
    )


if __name__ == "__main__":
    app()
