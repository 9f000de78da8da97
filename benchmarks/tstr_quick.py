"""Quick TSTR of one model setting on a public table, for choosing defaults (docs/privacy.md).

Trains ``--model`` on the train split of the simulator or the public NEISS sample, draws as many
synthetic rows per class as the train split has, and prints one JSON line per noise seed with
the TSTR macro-F1 of HistGradientBoosting on the real test split, the mean recall of the rare
classes (under 5 % of the train split), the joint fidelity against the train split (mean 2-way and
3-way TVD on the public grid, as ``evaluate``'s ``fidelity.tvd_2way``/``tvd_3way``), the share
of these first draws that break a clinical rule of the spec, and the real-vs-synthetic
discriminator's AUC against the train split (``evaluate``'s ``fidelity.discriminator_auc``, its
default settings, here on first draws). The split is fixed (``prepare``
defaults, seed 42); ``--seeds`` changes only the model's noise and sampling. The model's settings
are ``params.yaml``'s ``train_dp_tabular`` section, ``--epsilon`` and ``--set`` changed.

    python benchmarks/tstr_quick.py neiss vae --epsilon 1 --set vae.prior_share=0.8 --seeds 1 --seeds 2 --seeds 3

Use it on public data only: tuning on private rows is not covered by ε.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import yaml

from traumasynth.cli import PARAMS_FILE
from traumasynth.encoding.table import TableEncoder
from traumasynth.evaluate.fidelity import discriminator_auc
from traumasynth.evaluate.joint import JointWorkload
from traumasynth.evaluate.run import EvaluateParams
from traumasynth.evaluate.utility import rare_classes, train_and_score
from traumasynth.peers.stage import BaselinesParams
from traumasynth.prepare import PrepareParams, prepare_dataset
from traumasynth.spec import load_spec
from traumasynth.spec.constraints import check_constraints
from traumasynth.training import TrainParams, train_synthesizer

ROOT = Path(__file__).resolve().parent.parent
NEISS = ROOT.parent / "shared" / "data" / "neiss" / "NEISS_17-21_sample.csv"

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    dataset: Annotated[str, typer.Argument(help="ed_trauma_sim or neiss")],
    model: Annotated[str, typer.Argument(help="vae, ddpm or marginals")],
    epsilon: Annotated[float | None, typer.Option(help="Total ε; omit for no DP.")] = 1.0,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="train_dp_tabular key=value, e.g. vae.prior_share=0.8")
    ] = None,
    seeds: Annotated[list[int] | None, typer.Option(help="Noise seeds (one line each).")] = None,
    dataset_path: Annotated[Path | None, typer.Option(help="Raw file (NEISS: ../shared/data/neiss/...).")] = None,
) -> None:
    spec = load_spec(ROOT / "datasets" / f"{dataset}.yaml")
    path = dataset_path or (NEISS if dataset == "neiss" else None)
    data = prepare_dataset(spec=spec, params=PrepareParams(), dataset_path=path, seed=42)
    # the project's settings (params.yaml), not the classes' own defaults, which predate the joint prior
    section: dict = yaml.safe_load((ROOT / PARAMS_FILE).read_text(encoding="utf-8"))["train_dp_tabular"]
    section["epsilon"] = epsilon
    for item in set_ or []:
        key, _, value = item.partition("=")
        target = section
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = yaml.safe_load(value)
    params = TrainParams.model_validate(section)
    counts = {str(c): int(n) for c, n in data.train[spec.target.name].value_counts().items()}
    encoder = TableEncoder(spec)
    rare = rare_classes(encoder.encode(data.train).y, classes=spec.classes, threshold=0.05)
    workload = JointWorkload.from_spec(spec, grid=BaselinesParams(), max_triples=5000, seed=42)
    train_codes = workload.codes(data.train)
    judge = EvaluateParams()  # the discriminator's settings, as evaluate's defaults
    for seed in seeds or [1]:
        start = time.perf_counter()
        synth, result = train_synthesizer(model=model, data=data.train, spec=spec, params=params, seed=seed)
        seconds = time.perf_counter() - start
        rows = synth.sample(0, conditions=counts, seed=seed + 7)
        scores = train_and_score(
            train=rows, test=data.test, encoder=encoder, classifiers=("hgb",), hgb_max_iter=100,
            n_bootstrap=0, seed=42,
        )  # fmt: skip
        recall = scores["hgb"].recall
        joint = workload.tvd(train_codes, workload.codes(rows))
        auc = discriminator_auc(
            data.train, rows, encoder=encoder, max_rows=judge.discriminator_rows, cv_folds=judge.cv_folds,
            max_iter=judge.hgb_max_iter, seed=42,
        )  # fmt: skip
        typer.echo(
            json.dumps(
                {
                    "dataset": dataset,
                    "model": model,
                    "epsilon": epsilon,
                    "set": set_ or [],
                    "seed": seed,
                    "tstr_macro_f1": round(scores["hgb"].macro_f1.value, 4),
                    "rare_recall": round(float(np.mean([recall[c].value for c in rare if c in recall])), 4)
                    if rare
                    else None,
                    "tvd_2way": round(joint["tvd_2way"], 4) if joint["tvd_2way"] is not None else None,
                    "tvd_3way": round(joint["tvd_3way"], 4) if joint["tvd_3way"] is not None else None,
                    "constraint_violation_rate": round(check_constraints(rows, spec.constraints).violation_rate, 4),
                    "discriminator_auc": round(auc, 4),
                    "epsilon_total": result.epsilon,
                    "train_seconds": round(seconds, 1),
                }  # fmt: skip
            )
        )


if __name__ == "__main__":
    app()
