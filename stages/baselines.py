"""Stage `baselines`: fit one peer synthesizer (SDV or smartnoise-synth) on the same split as our models.

The peer runs in the separate environment `.venv-peers` (see docs/peers-and-sweeps.md); this stage
writes the same files as `sample@<model>`, so `evaluate` scores a peer like one of our models.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import PARAMS_FILE, DatasetsDirOption, ParamsOption, VerboseOption, open_stage
from traumasynth.core import layout
from traumasynth.peers.stage import BaselinesParams, run
from traumasynth.peers.worker import find_peers_python
from traumasynth.training import TrainParams

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.baselines")


@app.command()
def main(
    peer: Annotated[str, typer.Option(help="Peer to fit: gaussian_copula, ctgan, tvae (SDV, no DP), aim, mst (DP).")],
    params: ParamsOption = PARAMS_FILE,
    train: Annotated[Path, typer.Option(help="Prepared training split (Parquet).")] = layout.TRAIN_SPLIT,
    out: Annotated[Path | None, typer.Option(help="Synthetic table; default data/synthetic/<peer>.parquet.")] = None,
    augment_out: Annotated[Path | None, typer.Option(help="Augment file (empty); default like sample's.")] = None,
    train_metrics: Annotated[Path | None, typer.Option(help="Fit metrics; default metrics/train_<peer>.json.")] = None,
    sample_metrics: Annotated[Path | None, typer.Option(help="Rows, ε, δ; default metrics/sample_<peer>.json.")] = None,
    peers_python: Annotated[
        Path | None, typer.Option(help="Peers' Python; default $TRAUMASYNTH_PEERS_PYTHON, else nearest .venv-peers.")
    ] = None,
    worker: Annotated[Path, typer.Option(help="Worker script run by --peers-python.")] = Path("peers/run_peer.py"),
    datasets_dir: DatasetsDirOption = layout.DATASETS,
    verbose: VerboseOption = False,
) -> None:
    """Fit `--peer` on `--train` in the peers' environment and write its synthetic table and metrics."""
    with open_stage(
        params=params, datasets_dir=datasets_dir, verbose=verbose, section="baselines", params_type=BaselinesParams
    ) as stage:
        budget = stage.load("train_dp_tabular", TrainParams)  # DP peers spend the (ε, δ) of our models
        metrics = run(
            peer=peer, spec=stage.spec, params=stage.params, epsilon=budget.epsilon, delta=budget.delta,
            seed=stage.base.seed, train_path=train, python=peers_python or find_peers_python(Path.cwd()), script=worker,
            out_path=out or layout.synthetic(peer), augment_out_path=augment_out or layout.augment(peer),
            train_metrics_path=train_metrics or layout.stage_metrics("train", peer),
            sample_metrics_path=sample_metrics or layout.stage_metrics("sample", peer),
        )  # fmt: skip
    eps = metrics["epsilon"] if metrics["dp"] else "∞ (no DP)"
    log.info("%s (%s): ε=%s, fit %.1f s, %d rows at %s rows/s", peer, metrics["library_version"], eps,
             metrics["train_seconds"], metrics["rows"], metrics["rows_per_second"])  # fmt: skip


if __name__ == "__main__":
    app()
