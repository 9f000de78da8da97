"""What an adversary who reads the code and params.yaml, reruns and differences releases cannot do.

Each test plays one attack with the project's own code:

- rebuild DP-SGD's Poisson batches from the public seed (the subsampling credit would be void);
- difference two releases on neighbouring tables (one row added): their class counts must not
  differ by exactly the added row's one-hot vector;
- solve two releases at different ε on the same rows for the true counts (``c + s1 z`` and
  ``c + s3 z`` with the same ``z`` give ``c``);
- compare two models of one run: their noise must be independent, not the same draw counted twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from opacus.data_loader import DPDataLoader
from torch import nn
from torch.utils.data import TensorDataset
from typer.testing import CliRunner

from tests.conftest import load_stage
from tests.privacy.test_dp import PerExampleMSE
from traumasynth.privacy.dp import train_dp
from traumasynth.privacy.task import DPTask
from traumasynth.spec import DatasetSpec
from traumasynth.training import TrainParams
from traumasynth.training import run as run_training

REPO = Path(__file__).resolve().parents[2]
SEED = 42
runner = CliRunner()


def _batches_seen(n: int = 200, batch_size: int = 20, epochs: int = 2) -> list[frozenset[int]]:
    """Train a small DP task and record which rows each Poisson batch held."""
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    seen: list[frozenset[int]] = []

    def make_batch(batch, generator):
        xb, idx = batch
        seen.append(frozenset(int(i) for i in idx))
        return (xb,), xb[:, :1]

    torch.manual_seed(0)
    task = DPTask(module=nn.Linear(3, 1), criterion=PerExampleMSE(), make_batch=make_batch)
    params = TrainParams(epsilon=3.0, delta=1e-4, epochs=epochs, batch_size=batch_size, device="cpu", accountant="rdp")
    dataset = TensorDataset(x, torch.arange(n))
    train_dp(task=task, dataset=dataset, params=params, device=torch.device("cpu"), seed=SEED, noise_multiplier=1.0)
    return seen


def _public_rebuild(n: int = 200, batch_size: int = 20, epochs: int = 2) -> list[frozenset[int]]:
    """The batches an adversary draws from the public seed with Opacus's own Poisson loader."""
    dataset = TensorDataset(torch.arange(n))
    loader = DPDataLoader(dataset, sample_rate=1 / (n // batch_size), generator=torch.Generator().manual_seed(SEED))
    return [frozenset(int(i) for i in idx) for _ in range(epochs) for (idx,) in loader if len(idx)]


def test_dp_sgd_batches_cannot_be_rebuilt_from_the_public_seed(monkeypatch, tmp_path: Path) -> None:
    seen = _batches_seen()
    assert len(seen) > 10
    rebuilt = _public_rebuild()
    assert sum(a == b for a, b in zip(seen, rebuilt, strict=False)) <= 1  # chance agreement only
    # another custodian's key draws other batches
    monkeypatch.setenv("TRAUMASYNTH_NOISE_KEY_FILE", str(tmp_path / "other.key"))
    assert _batches_seen() != seen


# -- releases: train a model, then draw its sample through the stage's command line ---------------


@pytest.fixture(scope="module")
def rows(sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> pd.DataFrame:
    return sim_rows[[c.name for c in sim_spec.prepared_columns]].reset_index(drop=True)


def _release(
    root: Path, rows: pd.DataFrame, spec: DatasetSpec, *, model: str, epsilon: float, accountant: str = "rdp"
) -> dict:
    """Train ``model`` on ``rows`` at ``epsilon``, sample it with strategy ``match``; its sample metrics."""
    root.mkdir(parents=True)
    train = root / "train.parquet"
    rows.to_parquet(train, index=False)
    run_training(
        model=model,
        train_path=train,
        spec=spec,
        params=TrainParams(epsilon=epsilon, delta=1e-5, epochs=1, device="cpu", accountant=accountant),
        seed=SEED,
        out_dir=root / "model",
        metrics_path=root / "train.json",
        loss_curve_path=root / "loss.csv",
    )
    params = root / "params.yaml"
    params.write_text(
        yaml.safe_dump({"base": {"seed": SEED, "dataset": spec.name, "models": [model]}, "sample": {"n_rows": None}})
    )
    args = [
        "--model", model, "--params", str(params), "--model-dir", str(root / "model"),
        "--train", str(train), "--train-metrics", str(root / "train.json"),
        "--out", str(root / "synthetic.parquet"), "--augment-out", str(root / "augment.parquet"),
        "--metrics", str(root / "sample.json"), "--datasets-dir", str(REPO / "datasets"),
    ]  # fmt: skip
    result = runner.invoke(load_stage("sample"), args)
    assert result.exit_code == 0, result.output
    return json.loads((root / "sample.json").read_text())


def _counts(metrics: dict, spec: DatasetSpec) -> np.ndarray:
    return np.array([metrics["rows_per_class"][c] for c in spec.classes])


def test_neighbouring_tables_do_not_reveal_the_added_rows_class(tmp_path, rows, sim_spec) -> None:
    added = rows.iloc[[int(np.flatnonzero(rows[sim_spec.target.name] == sim_spec.classes[0])[0])]]
    one = _release(tmp_path / "d", rows, sim_spec, model="marginals", epsilon=1.0)
    two = _release(tmp_path / "d_plus_one", pd.concat([rows, added]), sim_spec, model="marginals", epsilon=1.0)
    onehot = np.eye(len(sim_spec.classes), dtype=int)[0]
    assert not np.array_equal(_counts(two, sim_spec) - _counts(one, sim_spec), onehot)


def test_releases_at_two_epsilons_do_not_solve_for_the_true_counts(tmp_path, rows, sim_spec) -> None:
    low = _release(tmp_path / "eps1", rows, sim_spec, model="marginals", epsilon=1.0)
    high = _release(tmp_path / "eps3", rows, sim_spec, model="marginals", epsilon=3.0)
    s1, s3 = low["histogram_noise_multiplier"], high["histogram_noise_multiplier"]
    assert s1 > 1.5 * s3
    a, b = _counts(low, sim_spec), _counts(high, sim_spec)
    solved = (s3 * a - s1 * b) / (s3 - s1)  # exact if both releases carried the same noise draw
    true = rows[sim_spec.target.name].value_counts().reindex(sim_spec.classes, fill_value=0).to_numpy()
    kept = (a > 0) & (b > 0)  # a count clipped at 0 hides its noise
    assert kept.sum() >= 4
    # the same draw gives the counts back to within rounding (<= 1.2 rows); independent draws miss by ~20
    assert np.abs(solved - true)[kept].max() > 3


def test_models_of_one_run_draw_independent_noise(tmp_path, rows, sim_spec) -> None:
    floor = _release(tmp_path / "marginals", rows, sim_spec, model="marginals", epsilon=2.0, accountant="prv")
    vae = _release(tmp_path / "vae", rows, sim_spec, model="vae", epsilon=2.0, accountant="prv")
    assert floor["histogram_noise_multiplier"] == pytest.approx(vae["histogram_noise_multiplier"])
    assert not np.array_equal(_counts(floor, sim_spec), _counts(vae, sim_spec))
