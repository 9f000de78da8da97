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

from traumasynth.cli import setup_logging, stage_errors
from traumasynth.params import BaseParams, load_section
from traumasynth.peers import PEERS
from traumasynth.sweep import markdown_summary, read_exp_show, read_sweep_table, run_sweep_report

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("stages.sweep_report")


@app.command()
def main(
    params: Annotated[Path, typer.Option(help="params.yaml (its base.dataset is the default --dataset).")] = Path(
        "params.yaml"
    ),
    dataset: Annotated[str | None, typer.Option(help="Dataset whose experiments are collected.")] = None,
    exp_json: Annotated[
        Path | None,
        typer.Option(help="Saved `dvc exp show --json --all-commits` output; by default the command is run here."),
    ] = None,
    experiments: Annotated[
        str | None,
        typer.Option(help="Glob on experiment names, e.g. 'sim-*'; default every experiment of the dataset."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Sweep table (CSV); default metrics/sweep_<dataset>.csv.")] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="TSTR macro-F1 against ε (CSV, in dvc.yaml plots:); default metrics/plots/sweep_<dataset>_tstr.csv."
        ),
    ] = None,
    carry_from: Annotated[
        Path | None,
        typer.Option(
            help="An earlier sweep table: its rows of models absent from these experiments are kept "
            "(e.g. peers that were not refitted)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Write the sweep table and its plot data from the experiments of `--dataset`."""
    setup_logging(verbose)
    with stage_errors():
        name = dataset or load_section(params, "base", BaseParams).dataset
        table = run_sweep_report(
            exp_show=read_exp_show(path=exp_json),
            dataset=name,
            peers_dp={peer: info.dp for peer, info in PEERS.items()},
            table_path=out or Path(f"metrics/sweep_{name}.csv"),
            plot_path=plot or Path(f"metrics/plots/sweep_{name}_tstr.csv"),
            names=experiments,
            carry=read_sweep_table(carry_from) if carry_from is not None else None,
        )
    eps = ["none" if pd.isna(e) else f"{e:g}" for e in table["epsilon"]]
    cells = ", ".join(f"{m}@{e}" for m, e in zip(table["model"], eps, strict=True))
    log.info("%d cells: %s", len(table), cells)
    typer.echo(f"TSTR macro-F1 (hgb) on the real test rows, {name}:\n{markdown_summary(table=table)}")


if __name__ == "__main__":
    app()
