"""Empirical privacy audit of one training run: a lower bound on ε that can catch a broken mechanism.

Inserts ``--canaries`` random rows from the spec's public grid into the training split (each with
probability 1/2), trains ``model`` once through the pipeline's own code at the ``train_dp_tabular``
settings of ``--params`` (``--epsilon`` overrides ε), scores each canary by its training loss and
turns the right in/out guesses into a 95 % lower bound on ε (Steinke, Nasr & Jagielski 2023;
``traumasynth.experiments.privacy_audit``). Writes ``--out`` (JSON: ``epsilon_lower``, ``epsilon_reported``,
``m``, the attack, seconds) and prints it.

    python benchmarks/privacy_audit.py ed_trauma_sim vae --epsilon 1 --canaries 1000 --out metrics/audit_vae.json

The split is the pipeline's (``prepare`` section and ``base.seed``). Not a dvc stage (``make audit``
runs it for vae and ddpm); use it on public or simulated data: the canaries are trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from traumasynth.cli import setup_logging, stage_errors
from traumasynth.core.io import write_json_atomic
from traumasynth.core.params import BaseParams, load_section
from traumasynth.experiments.privacy_audit import check_auditable, run_audit
from traumasynth.prepare import PrepareParams, prepare_dataset
from traumasynth.spec import load_spec
from traumasynth.training import TrainParams

ROOT = Path(__file__).resolve().parent.parent
NEISS = ROOT.parent / "shared" / "data" / "neiss" / "NEISS_17-21_sample.csv"

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    dataset: Annotated[str, typer.Argument(help="ed_trauma_sim or neiss (a spec in datasets/)")],
    model: Annotated[str, typer.Argument(help="vae or ddpm")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="JSON written here, e.g. metrics/audit_vae.json")],
    epsilon: Annotated[float | None, typer.Option(help="Total ε; default: train_dp_tabular.epsilon")] = None,
    canaries: Annotated[int, typer.Option(min=2, help="Number of canaries m.")] = 1000,
    params_path: Annotated[
        Path, typer.Option("--params", exists=True, dir_okay=False, help="params.yaml to train with.")
    ] = ROOT / "params.yaml",
    audit_seed: Annotated[int, typer.Option(help="Seed of the canaries, inclusion bits and scoring draws.")] = 0,
    dataset_path: Annotated[Path | None, typer.Option(help="Raw file (NEISS: ../shared/data/neiss/...).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    setup_logging(verbose)
    with stage_errors():
        check_auditable(model)  # before the (slow) preparation of the split
        seed = load_section(params_path, "base", BaseParams).seed
        params = load_section(params_path, "train_dp_tabular", TrainParams)
        if epsilon is not None:
            params = params.model_copy(update={"epsilon": epsilon})
        spec = load_spec(ROOT / "datasets" / f"{dataset}.yaml")
        path = dataset_path or (NEISS if dataset == "neiss" else None)
        prepare = load_section(params_path, "prepare", PrepareParams)
        data = prepare_dataset(spec=spec, params=prepare, dataset_path=path, seed=seed)
        result = run_audit(model=model, data=data.train, spec=spec, params=params, m=canaries, seed=seed,
                           audit_seed=audit_seed)  # fmt: skip
    metrics = {"dataset": dataset, **result.to_metrics()}
    write_json_atomic(metrics, out)
    typer.echo(json.dumps(metrics))


if __name__ == "__main__":
    app()
