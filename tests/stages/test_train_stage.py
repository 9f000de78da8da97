"""The `train_dp_tabular` stage through its command line, as `dvc repro` runs it."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import DATASETS, load_stage
from traumasynth.core.io import write_parquet_atomic
from traumasynth.models.vae import VAESynthesizer

runner = CliRunner()
app = load_stage("train_dp_tabular")


@pytest.fixture()
def workdir(tmp_path, sim_spec, sim_rows):
    shutil.copytree(DATASETS, tmp_path / "datasets")
    prepared = sim_rows[[c.name for c in sim_spec.prepared_columns]]
    write_parquet_atomic(prepared, tmp_path / "prepared" / "train.parquet")
    return tmp_path


def write_params(tmp_path, **train):
    section = {
        "epsilon": 8.0,
        "delta": 1e-4,
        "max_grad_norm": 1.0,
        "epochs": 2,
        "batch_size": 64,
        "lr": 0.005,
        "device": "cpu",
        "grad_sample_mode": "ghost",
        "secure_mode": False,
        "vae": {"hidden": [32, 32], "latent_dim": 4},
        "ddpm": {},
    }
    params = {
        "base": {"seed": 3, "dataset": "ed_trauma_sim", "models": ["vae"]},
        "train_dp_tabular": {**section, **train},
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def cli(tmp_path, params, model="vae"):
    return runner.invoke(
        app,
        [
            "--model",
            model,
            "--params",
            str(params),
            "--train",
            str(tmp_path / "prepared" / "train.parquet"),
            "--out-dir",
            str(tmp_path / "models" / model),
            "--metrics",
            str(tmp_path / "metrics" / f"train_{model}.json"),
            "--loss-curve",
            str(tmp_path / "metrics" / "plots" / f"loss_{model}.csv"),
            "--datasets-dir",
            str(tmp_path / "datasets"),
        ],
    )


def test_marginals_summary_line_has_no_steps(workdir):
    """A closed-form fit has no steps or loss: the stage's summary says so (it raised a logging error)."""
    result = cli(workdir, write_params(workdir), model="marginals")
    assert result.exit_code == 0, result.output
    assert "trained marginals: ε=8.000" in result.output and "closed form" in result.output
    assert "Logging error" not in result.output


def test_trains_and_writes_model_metrics_and_curve(workdir, sim_spec):
    result = cli(workdir, write_params(workdir))
    assert result.exit_code == 0, result.output
    metrics = json.loads((workdir / "metrics" / "train_vae.json").read_text())
    for key in (
        "epsilon",
        "delta",
        "noise_multiplier",
        "sample_rate",
        "steps",
        "epochs",
        "max_grad_norm",
        "accountant",
        "final_loss",
        "train_seconds",
        "rows_per_second",
        "grad_sample_mode",
        "dp",
    ):
        assert key in metrics, key
    assert metrics["dp"] is True and 0 < metrics["epsilon"] <= 8.0 + 1e-6 and metrics["delta"] == 1e-4
    assert metrics["epochs"] == 2 and metrics["steps"] > 0
    with open(workdir / "metrics" / "plots" / "loss_vae.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[-1]["loss"]) == pytest.approx(
        metrics["final_loss"], rel=1e-5
    )
    model = VAESynthesizer.load(workdir / "models" / "vae", spec=sim_spec)
    assert len(model.sample(0, conditions={"self_harm": 20}, seed=0)) == 20


@pytest.mark.parametrize(
    ("train", "model", "message"),
    [
        ({"epsilon": 0.0}, "vae", "epsilon: Value error, must be a positive number"),
        ({"delta": 0.01}, "vae", "whole record"),
        ({"batch_size": 100000}, "vae", "batch_size = 100000 is larger than"),
        ({"vae": {"latent": 3}}, "vae", "train_dp_tabular.vae.latent"),
        ({}, "gan", "Unknown model 'gan'. Valid models:"),
        ({"lr": 1e30, "epsilon": None, "epochs": 30}, "vae", "loss became"),
    ],
)
def test_bad_input_exits_1_with_a_message_and_writes_nothing(workdir, train, model, message):
    result = cli(workdir, write_params(workdir, **train), model=model)
    assert result.exit_code == 1
    assert message in result.output
    assert not (workdir / "models").exists()
    assert not (workdir / "metrics").exists()


def test_missing_training_split(workdir):
    (workdir / "prepared" / "train.parquet").unlink()
    result = cli(workdir, write_params(workdir))
    assert result.exit_code == 1 and "Run the prepare stage first" in result.output


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is visible")
def test_cuda_without_gpu(workdir):
    result = cli(workdir, write_params(workdir, device="cuda"))
    assert result.exit_code == 1 and "no GPU" in result.output
