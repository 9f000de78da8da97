"""Collect a privacy-utility sweep from DVC experiments into one table and one plot file.

Not a dvc stage (it reads the experiments themselves): run it after the sweep's experiments,
`python stages/sweep_report.py`, then `dvc plots show` draws TSTR macro-F1 against ε.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from traumasynth.cli import PARAMS_FILE, ParamsOption, VerboseOption, open_stage
from traumasynth.peers.registry import PEERS
from traumasynth.sweep.experiments import read_exp_show
from traumasynth.sweep.stage import read_sweep_table, run
from traumasynth.sweep.views import markdown_summary

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.sweep_report")


@app.command()
def main(
    params: ParamsOption = PARAMS_FILE,
    dataset: Annotated[str | None, typer.Option(help="Dataset to collect; default base.dataset of --params.")] = None,
    exp_json: Annotated[Path | None, typer.Option(help="Saved `dvc exp show --json --all-commits`; else run.")] = None,
    experiments: Annotated[str | None, typer.Option(help="Glob on experiment names ('sim-*'); default all.")] = None,
    out: Annotated[Path | None, typer.Option(help="Sweep table (CSV); default metrics/sweep_<dataset>.csv.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="TSTR macro-F1 against ε (CSV); default metrics/plots/sweep_<dataset>_tstr.csv.")
    ] = None,
    carry_from: Annotated[
        Path | None, typer.Option(help="An earlier sweep table: its rows of models these experiments lack are kept.")
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Write the sweep table and its plot data from the experiments of `--dataset`."""
    with open_stage(params=params, verbose=verbose) as stage:
        name = dataset or stage.base.dataset
        table = run(
            exp_show=read_exp_show(path=exp_json),
            dataset=name,
            peers_dp={peer: info.dp for peer, info in PEERS.items()},
            table_path=out or Path(f"metrics/sweep_{name}.csv"),
            plot_path=plot or Path(f"metrics/plots/sweep_{name}_tstr.csv"),
            names=experiments,
            carry=read_sweep_table(carry_from) if carry_from is not None else None,
        )
    eps = ["none" if pd.isna(e) else f"{e:g}" for e in table["epsilon"]]
    log.info("%d cells: %s", len(table), ", ".join(f"{m}@{e}" for m, e in zip(table["model"], eps, strict=True)))
    typer.echo(f"TSTR macro-F1 (hgb) on the real test rows, {name}:\n{markdown_summary(table=table)}")


if __name__ == "__main__":
    app()
