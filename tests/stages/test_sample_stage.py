"""Stage `sample` through its command line: outputs, metrics, determinism and every bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import load_stage
from traumasynth.sampling.draw import synthetic_columns
from traumasynth.spec import DatasetSpec
from traumasynth.spec.constraints import check_constraints
from traumasynth.spec.schema import validate
from traumasynth.training import TrainParams
from traumasynth.training import run as run_training

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
app = load_stage("sample")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, sim_spec: DatasetSpec, sim_rows: pd.DataFrame) -> Path:
    """A work folder with a prepared train split and a DP marginals model trained on it."""
    root = tmp_path_factory.mktemp("sample_stage")
    train = root / "data" / "prepared" / "train.parquet"
    train.parent.mkdir(parents=True)
    sim_rows[[c.name for c in sim_spec.prepared_columns]].to_parquet(train, index=False)
    for name, epsilon in (("marginals", 4.0), ("plain", None)):
        run_training(
            model="marginals",
            train_path=train,
            spec=sim_spec,
            params=TrainParams(epsilon=epsilon, delta=1e-5),
            seed=0,
            out_dir=root / "models" / name,
            metrics_path=root / "metrics" / f"train_{name}.json",
            loss_curve_path=root / "metrics" / "plots" / f"loss_{name}.csv",
        )
    return root


def _params(root: Path, **sample: object) -> Path:
    path = root / f"params_{abs(hash(json.dumps(sample, sort_keys=True)))}.yaml"
    base = {"seed": 42, "dataset": "ed_trauma_sim", "models": ["marginals"]}
    path.write_text(yaml.safe_dump({"base": base, "sample": {"augment_target": 150, **sample}}))
    return path


def _invoke(
    root: Path,
    params: Path,
    out: str = "out",
    *,
    model_dir: str = "models/marginals",
    metrics_name: str = "train_marginals.json",
    datasets: Path = REPO / "datasets",
) -> Result:
    args = [
        "--model", "marginals",
        "--params", str(params),
        "--model-dir", str(root / model_dir),
        "--train", str(root / "data" / "prepared" / "train.parquet"),
        "--train-metrics", str(root / "metrics" / metrics_name),
        "--out", str(root / out / "marginals.parquet"),
        "--augment-out", str(root / out / "marginals_augment.parquet"),
        "--metrics", str(root / out / "sample_marginals.json"),
        "--datasets-dir", str(datasets),
    ]  # fmt: skip
    return runner.invoke(app, args)


def test_match_writes_valid_tables_and_metrics(trained: Path, sim_spec: DatasetSpec) -> None:
    result = _invoke(trained, _params(trained), "match")
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(trained / "match" / "marginals.parquet")
    augment = pd.read_parquet(trained / "match" / "marginals_augment.parquet")
    metrics = json.loads((trained / "match" / "sample_marginals.json").read_text())
    columns = synthetic_columns(sim_spec)
    validate(table, sim_spec, columns=columns)
    validate(augment, sim_spec, columns=columns)
    assert list(table.columns) == columns and "patient_id" in columns
    assert table["patient_id"].iloc[0] == "marginals-000001"
    assert set(table["patient_id"]).isdisjoint(augment["patient_id"])
    assert abs(len(table) - 600) < 40  # the DP estimate of the 600 training rows
    assert metrics["rows"] == len(table) and metrics["augment_rows"] == len(augment)
    assert (
        metrics["rows_per_class"] == table["mechanism"].value_counts().reindex(sim_spec.classes, fill_value=0).to_dict()
    )
    assert set(augment["mechanism"]) <= {c for c, n in metrics["rows_per_class"].items() if n < 150}
    assert metrics["strategy"] == "match" and metrics["rows_per_second"] > 0
    # the marginals release and the class histogram share the training ε: exact Gaussian composition
    assert metrics["composition"].startswith("exact")
    assert metrics["epsilon_target"] == 4.0 and 3.999 <= metrics["epsilon_total"] <= 4.0
    assert metrics["delta_total"] == 1e-5
    # the clinical rules of the spec are enforced: reported before and after, no released row breaks one
    assert metrics["constraint_violation_rate"] > 0.0 and metrics["constraint_rejection_rate"] > 0.0
    assert metrics["constraints"]["table"]["enforced"] and metrics["constraints"]["augment"] is not None
    assert check_constraints(table, sim_spec.constraints).violation_rate == 0.0
    assert check_constraints(augment, sim_spec.constraints).violation_rate == 0.0


def test_same_params_same_bytes(trained: Path) -> None:
    params = _params(trained, strategy="balanced", n_rows=300)
    for out in ("run1", "run2"):
        assert _invoke(trained, params, out).exit_code == 0
    for name in ("marginals.parquet", "marginals_augment.parquet"):
        digests = {hashlib.sha256((trained / out / name).read_bytes()).hexdigest() for out in ("run1", "run2")}
        assert len(digests) == 1, name


def test_counts_gives_the_rare_class_on_request(trained: Path) -> None:
    params = _params(trained, strategy="counts", counts={"self_harm": 1000})
    result = _invoke(trained, params, "counts")
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(trained / "counts" / "marginals.parquet")
    assert len(table) == 1000 and (table["mechanism"] == "self_harm").all()
    # The class's own rows, not the mix: 6 of the 9 self-harm training rows are female (44 % of all
    # rows). Checked on the exact (non-DP) model: at ε = 4, 9 rows' shape is mostly noise.
    result = _invoke(trained, params, "counts_plain", model_dir="models/plain", metrics_name="train_plain.json")
    assert result.exit_code == 0, result.output
    plain = pd.read_parquet(trained / "counts_plain" / "marginals.parquet")
    assert (plain["sex"] == "female").mean() > 0.55


def test_augment_strategy_writes_the_top_up_in_both_files(trained: Path) -> None:
    result = _invoke(trained, _params(trained, strategy="augment"), "augment")
    assert result.exit_code == 0, result.output
    main = (trained / "augment" / "marginals.parquet").read_bytes()
    assert main == (trained / "augment" / "marginals_augment.parquet").read_bytes()
    metrics = json.loads((trained / "augment" / "sample_marginals.json").read_text())
    assert metrics["rows"] == metrics["augment_rows"] > 0


def test_non_dp_training_has_no_total_epsilon(trained: Path) -> None:
    result = _invoke(trained, _params(trained), "plain", model_dir="models/plain", metrics_name="train_plain.json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((trained / "plain" / "sample_marginals.json").read_text())
    assert metrics["epsilon_target"] is None and metrics["epsilon_total"] is None and metrics["delta_total"] is None
    assert "without differential privacy" in metrics["composition"]


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        ({"strategy": "counts", "counts": {"selfharm": 10}}, "'selfharm' is not a class"),
        ({"strategy": "counts", "counts": {"self_harm": -1}}, "sample.counts.self_harm = -1"),
        ({"n_rows": 0}, "sample.n_rows = 0"),
        ({"strategy": "sometimes"}, "sample.strategy"),
    ],
)
def test_bad_params_exit_1(trained: Path, sample: dict, message: str) -> None:
    result = _invoke(trained, _params(trained, **sample), "bad")
    assert result.exit_code == 1
    assert message in result.output
    assert not (trained / "bad").exists()  # nothing half-written


def test_unknown_class_lists_the_valid_ones(trained: Path) -> None:
    result = _invoke(trained, _params(trained, strategy="counts", counts={"bicycle": 1}), "bad")
    assert result.exit_code == 1
    assert "Valid classes: fall, sport, domestic_leisure, road_traffic, assault, work, self_harm" in result.output


def test_missing_model_folder(trained: Path) -> None:
    result = _invoke(trained, _params(trained), "bad", model_dir="models/nothing_here")
    assert result.exit_code == 1
    assert "not found" in result.output and "dvc repro train_dp_tabular" in result.output
    assert not (trained / "bad").exists()


def test_missing_training_metrics(trained: Path) -> None:
    result = _invoke(trained, _params(trained), "bad", metrics_name="train_nothing.json")
    assert result.exit_code == 1
    assert "Training metrics" in result.output and "dvc repro train_dp_tabular" in result.output


def test_model_of_another_spec_is_refused(trained: Path, tmp_path: Path) -> None:
    spec = yaml.safe_load((REPO / "datasets" / "ed_trauma_sim.yaml").read_text())
    spec["version"] = 2
    (tmp_path / "ed_trauma_sim.yaml").write_text(yaml.safe_dump(spec))
    result = _invoke(trained, _params(trained), "bad", datasets=tmp_path)
    assert result.exit_code == 1
    assert "was trained on dataset specification" in result.output
    assert not (trained / "bad").exists()


def test_a_failed_run_leaves_previous_outputs_untouched(trained: Path) -> None:
    assert _invoke(trained, _params(trained), "keep").exit_code == 0
    before = (trained / "keep" / "marginals.parquet").read_bytes()
    assert _invoke(trained, _params(trained, n_rows=0), "keep").exit_code == 1
    assert (trained / "keep" / "marginals.parquet").read_bytes() == before
    shutil.rmtree(trained / "keep")
